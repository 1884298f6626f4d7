import NIOCore

/// ClientKeyExchange for ECDHE (RFC 8422 §5.7).
///
/// ```
/// struct {
///     select (PublicValueEncoding) {
///         case implicit:  struct { };
///         case explicit:  ECPoint ecdh_Yc;
///     } ecdh_public;
/// } ClientECDiffieHellmanPublic;
///
/// struct {
///     select (KeyExchangeAlgorithm) {
///         case ec_diffie_hellman: ClientECDiffieHellmanPublic;
///     } exchange_keys;
/// } ClientKeyExchange;
///
/// struct {
///     opaque point <1..2^8-1>;
/// } ECPoint;
/// ```
///
/// The implicit form only exists for fixed-ECDH client certificates, which Tessera does not do.
public struct ClientKeyExchange: Sendable, Hashable {
    public var publicKey: [UInt8]

    public init(publicKey: [UInt8]) {
        self.publicKey = publicKey
    }

    public init(decoding body: ByteBuffer) throws(WireError) {
        var body = body
        self.publicKey = try body.readLengthPrefixed8("ecdh_Yc", min: 1).remainingBytes
        try body.expectFullyConsumed("ClientKeyExchange")
    }

    public func encode(into buffer: inout WireWriter) {
        buffer.writeLengthPrefixed8 { $0.writeBytes(publicKey) }
    }
}
