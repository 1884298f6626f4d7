import NIOCore

// The messages with an empty body. A non-empty body is .trailingBytes (decode_error).

/// HelloRequest (RFC 5246 §7.4.1.1).
///
/// ```
/// struct { } HelloRequest;
/// ```
public struct HelloRequest: Sendable, Hashable {
    public init() {}

    public init(decoding body: ByteBuffer) throws(WireError) {
        try body.expectFullyConsumed("HelloRequest")
    }

    public func encode(into buffer: inout WireWriter) {}
}

/// ServerHelloDone (RFC 5246 §7.4.5).
///
/// ```
/// struct { } ServerHelloDone;
/// ```
public struct ServerHelloDone: Sendable, Hashable {
    public init() {}

    public init(decoding body: ByteBuffer) throws(WireError) {
        try body.expectFullyConsumed("ServerHelloDone")
    }

    public func encode(into buffer: inout WireWriter) {}
}

/// EndOfEarlyData (RFC 8446 §4.5).
///
/// ```
/// struct {} EndOfEarlyData;
/// ```
public struct EndOfEarlyData: Sendable, Hashable {
    public init() {}

    public init(decoding body: ByteBuffer) throws(WireError) {
        try body.expectFullyConsumed("EndOfEarlyData")
    }

    public func encode(into buffer: inout WireWriter) {}
}
