import NIOCore

/// KeyUpdate (RFC 8446 §4.6.3).
///
/// ```
/// enum {
///     update_not_requested(0), update_requested(1), (255)
/// } KeyUpdateRequest;
///
/// struct {
///     KeyUpdateRequest request_update;
/// } KeyUpdate;
/// ```
public struct KeyUpdate: Sendable, Hashable {
    public var request: KeyUpdateRequest

    public init(request: KeyUpdateRequest) {
        self.request = request
    }

    public init(decoding body: ByteBuffer) throws(WireError) {
        var body = body
        let value = KeyUpdateRequest(try body.readUInt8("request_update"))
        // RFC 8446 §4.6.3: "If an implementation receives any other value, it MUST terminate the
        // connection with an illegal_parameter alert."
        guard value == .updateNotRequested || value == .updateRequested else {
            throw WireError(.invalidValue, "request_update \(value)")
        }
        try body.expectFullyConsumed("KeyUpdate")
        self.request = value
    }

    public func encode(into buffer: inout WireWriter) {
        buffer.writeInteger(request.rawValue)
    }
}
