/// Why a session (or a key file) could not be read. A code to switch on, a message for humans;
/// messages never contain secrets (DESIGN.md §9: public errors are structs so they can grow).
public struct SessionError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: Hashable, Sendable {
        /// No PEM block labelled `SSL SESSION PARAMETERS`, or its base64 is broken.
        case notPEM
        /// Not DER, or not a SEQUENCE: the bytes are not an SSL_SESSION at all.
        case notDER
        /// The SSL_SESSION ASN.1 version is not 1, or the protocol is neither TLS 1.2 nor TLS 1.3.
        case unsupportedVersion
        /// A mandatory field is absent (or, for key files, the file itself is missing or unreadable).
        case missingField
        /// A field is present but has the wrong type, size or value (or a key file has the wrong size).
        case invalidField
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}
