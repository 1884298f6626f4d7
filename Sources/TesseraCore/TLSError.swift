import TesseraCrypto
import TesseraWire

/// A connection error. Public errors are structs with a code and a message (DESIGN.md §9) so that
/// they can grow without breaking users.
public struct TLSError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: Hashable, Sendable {
        /// A message or record arrived that the current state does not expect.
        case unexpectedMessage
        /// Bytes that do not parse.
        case decodeError
        case recordOverflow
        case badRecordMAC
        /// The peer offered or chose a protocol version we refuse (SSLv3, TLS 1.0, TLS 1.1, ...).
        case protocolVersion
        /// No common cipher suite, group or signature scheme.
        case handshakeFailure
        case illegalParameter
        /// Finished or signature verification failed.
        case decryptError
        case unsupportedExtension
        case missingExtension
        case noApplicationProtocol
        case unrecognizedName
        case insufficientSecurity
        /// The peer's certificate chain did not verify.
        case badCertificate
        case unknownCA
        case certificateExpired
        case unsupportedCertificate
        /// TLS 1.3: the server requires a client certificate and got none (RFC 8446 §4.4.2.4).
        case certificateRequired
        /// The peer sent us a fatal alert.
        case peerAlert(AlertDescription)
        /// A local problem (configuration, missing key).
        case internalError
        /// The connection is already closed.
        case closed
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }

    static func unexpectedMessage(expected: [HandshakeType], got: HandshakeType) -> TLSError {
        let names = expected.map(\.displayName).joined(separator: " or ")
        return TLSError(.unexpectedMessage, "unexpected message: expected \(names), got \(got.displayName)")
    }

    static func unexpected(_ what: String) -> TLSError {
        TLSError(.unexpectedMessage, "unexpected \(what)")
    }
}

extension TLSError {
    /// The one place that maps errors to alerts (DESIGN.md §3). `nil`: send nothing (the peer's own
    /// fatal alert, or a connection that is already closed).
    public var alert: AlertDescription? {
        switch code {
        case .unexpectedMessage: return .unexpectedMessage
        case .decodeError: return .decodeError
        case .recordOverflow: return .recordOverflow
        case .badRecordMAC: return .badRecordMAC
        case .protocolVersion: return .protocolVersion
        case .handshakeFailure: return .handshakeFailure
        case .illegalParameter: return .illegalParameter
        case .decryptError: return .decryptError
        case .unsupportedExtension: return .unsupportedExtension
        case .missingExtension: return .missingExtension
        case .noApplicationProtocol: return .noApplicationProtocol
        case .unrecognizedName: return .unrecognizedName
        case .insufficientSecurity: return .insufficientSecurity
        case .badCertificate: return .badCertificate
        case .unknownCA: return .unknownCA
        case .certificateExpired: return .certificateExpired
        case .unsupportedCertificate: return .unsupportedCertificate
        case .certificateRequired: return .certificateRequired
        case .internalError: return .internalError
        case .peerAlert, .closed: return nil
        }
    }

    init(_ error: WireError) {
        switch error.code {
        case .recordOverflow, .messageTooLarge:
            self.init(.recordOverflow, "record overflow: \(error.message)")
        case .unsupportedRecordVersion:
            self.init(.protocolVersion, "wrong version number: \(error.message)")
        case .invalidValue:
            self.init(.illegalParameter, "illegal parameter: \(error.message)")
        case .extensionNotAllowed:
            self.init(.unsupportedExtension, "extension not allowed here: \(error.message)")
        case .truncated, .trailingBytes, .invalidLength, .duplicateExtension:
            self.init(.decodeError, "decode error: \(error.message)")
        }
    }

    init(_ error: CryptoError) {
        switch error.code {
        case .badRecordMAC:
            self.init(.badRecordMAC, "bad record MAC: \(error.message)")
        case .recordOverflow:
            self.init(.recordOverflow, "record overflow: \(error.message)")
        case .invalidInnerPlaintext:
            self.init(.unexpectedMessage, "record with no content type: \(error.message)")
        case .invalidPublicKey, .invalidSharedSecret:
            self.init(.illegalParameter, "bad key share: \(error.message)")
        case .signatureFailed, .invalidKey, .unsupportedAlgorithm, .sequenceOverflow, .invalidCertificate, .io:
            self.init(.internalError, error.message)
        }
    }
}

/// Runs wire decoding and turns its error into a `TLSError`.
@inline(__always)
func decoding<T>(_ body: () throws(WireError) -> T) throws(TLSError) -> T {
    do { return try body() } catch { throw TLSError(error) }
}

/// Runs a crypto operation and turns its error into a `TLSError`.
@inline(__always)
func crypto<T>(_ body: () throws(CryptoError) -> T) throws(TLSError) -> T {
    do { return try body() } catch { throw TLSError(error) }
}
