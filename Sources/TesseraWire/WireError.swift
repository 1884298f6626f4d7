/// Every decoding failure in TesseraWire.
///
/// A struct with a code rather than an enum (DESIGN.md §9), so that codes and context can grow without
/// breaking callers. TesseraCore maps `code` to an alert: most codes are `decode_error`,
/// `.invalidValue` is `illegal_parameter`, `.extensionNotAllowed` is `illegal_parameter` or
/// `unsupported_extension`, `.recordOverflow` is `record_overflow`.
public struct WireError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: Hashable, Sendable {
        /// The input ended inside a field.
        case truncated
        /// A structure was complete but bytes followed it.
        case trailingBytes
        /// A vector length broke its RFC bounds or did not divide into whole elements.
        case invalidLength
        /// A field held a value the RFC forbids.
        case invalidValue
        /// An extension appeared twice in one block (RFC 8446 §4.2, RFC 5246 §7.4.1.4).
        case duplicateExtension
        /// An extension appeared in a message where RFC 8446 §4.2 does not allow it.
        case extensionNotAllowed
        /// A record's length exceeded the limit (RFC 8446 §5.1, §5.2; RFC 5246 §6.2).
        case recordOverflow
        /// A handshake message's declared length exceeded the reassembler's limit.
        case messageTooLarge
        /// The record header's version is not SSL/TLS (major byte != 3).
        case unsupportedRecordVersion
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}
