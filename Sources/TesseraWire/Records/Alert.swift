import NIOCore

/// An alert record's body (RFC 5246 §7.2, RFC 8446 §6).
///
/// ```
/// struct {
///     AlertLevel level;
///     AlertDescription description;
/// } Alert;
/// ```
public struct Alert: Sendable, Hashable, CustomStringConvertible {
    public var level: AlertLevel
    /// Named `alertDescription` because `description` is `CustomStringConvertible`'s.
    public var alertDescription: AlertDescription

    public init(level: AlertLevel, alertDescription: AlertDescription) {
        self.level = level
        self.alertDescription = alertDescription
    }

    /// Exactly two bytes. RFC 8446 §5.1 forbids fragmenting alerts, so a short or long body is a
    /// decode error rather than something to buffer.
    public init(decoding body: ByteBuffer) throws(WireError) {
        var body = body
        guard let level = body.readInteger(as: UInt8.self),
            let description = body.readInteger(as: UInt8.self)
        else {
            throw WireError(.truncated, "alert body shorter than 2 bytes")
        }
        guard body.readableBytes == 0 else {
            throw WireError(.trailingBytes, "alert body longer than 2 bytes")
        }
        self.level = AlertLevel(level)
        self.alertDescription = AlertDescription(description)
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeInteger(level.rawValue)
        buffer.writeInteger(alertDescription.rawValue)
    }

    /// "fatal unexpected_message", the shape of OpenSSL's alert lines.
    public var description: String { "\(level) \(alertDescription)" }
}
