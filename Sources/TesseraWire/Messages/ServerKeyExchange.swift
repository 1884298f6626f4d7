import NIOCore

/// ServerKeyExchange for ECDHE (RFC 8422 §5.4), signed with TLS 1.2's `digitally-signed`
/// (RFC 5246 §4.7, §7.4.1.4.1).
///
/// ```
/// enum { explicit_prime (1), explicit_char2 (2), named_curve (3), reserved(248..255) } ECCurveType;
///
/// struct {
///     ECCurveType    curve_type;
///     select (curve_type) {
///         case named_curve:
///             NamedCurve namedcurve;
///     };
/// } ECParameters;
///
/// struct {
///     opaque point <1..2^8-1>;
/// } ECPoint;
///
/// struct {
///     ECParameters    curve_params;
///     ECPoint         public;
/// } ServerECDHParams;
///
/// struct {
///     select (KeyExchangeAlgorithm) {
///         case ec_diffie_hellman:
///             ServerECDHParams    params;
///             Signature           signed_params;
///     };
/// } ServerKeyExchange;
///
/// struct {
///     SignatureAndHashAlgorithm algorithm;
///     opaque signature<0..2^16-1>;
/// } DigitallySigned;
/// ```
public struct ServerKeyExchange: Sendable, Hashable {
    /// Always 3 (named_curve): RFC 8422 §5.4 deprecated the explicit curve forms.
    public var curveType: UInt8
    public var group: NamedGroup
    public var publicKey: [UInt8]
    public var signatureScheme: SignatureScheme
    public var signature: [UInt8]

    public static let namedCurve: UInt8 = 0x03

    public init(
        curveType: UInt8 = ServerKeyExchange.namedCurve, group: NamedGroup, publicKey: [UInt8],
        signatureScheme: SignatureScheme, signature: [UInt8]
    ) {
        self.curveType = curveType
        self.group = group
        self.publicKey = publicKey
        self.signatureScheme = signatureScheme
        self.signature = signature
    }

    public init(decoding body: ByteBuffer) throws(WireError) {
        var body = body
        self.curveType = try body.readUInt8("curve_type")
        // RFC 8422 §5.4: explicit_prime and explicit_char2 "MUST NOT" be used; the params that follow
        // would not even parse as a NamedCurve.
        guard curveType == Self.namedCurve else {
            throw WireError(.invalidValue, "curve_type \(hex8(curveType)), expected named_curve (0x03)")
        }
        self.group = NamedGroup(try body.readUInt16("namedcurve"))
        self.publicKey = try body.readLengthPrefixed8("ECPoint point", min: 1).remainingBytes
        self.signatureScheme = SignatureScheme(try body.readUInt16("SignatureAndHashAlgorithm"))
        self.signature = try body.readLengthPrefixed16("signature").remainingBytes
        try body.expectFullyConsumed("ServerKeyExchange")
    }

    public func encode(into buffer: inout WireWriter) {
        buffer.writeBytes(signedParams)
        buffer.writeInteger(signatureScheme.rawValue)
        buffer.writeLengthPrefixed16 { $0.writeBytes(signature) }
    }

    /// The ServerECDHParams bytes (curve_type, named_curve, public): RFC 8422 §5.4 signs
    /// `client_random + server_random + ServerECDHParams`.
    /// Built as an array sized up front: a `ByteBuffer` started empty reallocated as it grew,
    /// and this is written twice per TLS 1.2 handshake (signed, then sent). A `public` longer
    /// than its 1-byte length allows is cut, as `writeLengthPrefixed8` cuts it.
    public var signedParams: [UInt8] {
        let point = publicKey.prefix(0xFF)
        var params = [UInt8]()
        params.reserveCapacity(4 + point.count)
        params.append(curveType)
        params.append(UInt8(truncatingIfNeeded: group.rawValue >> 8))
        params.append(UInt8(truncatingIfNeeded: group.rawValue))
        params.append(UInt8(point.count))
        params.append(contentsOf: point)
        return params
    }

    /// What the signature covers, RFC 8422 §5.4: `client_random + server_random +
    /// ServerECDHParams`, in one array sized up front.
    public func signedContent(clientRandom: [UInt8], serverRandom: [UInt8]) -> [UInt8] {
        let params = signedParams
        var content = [UInt8]()
        content.reserveCapacity(clientRandom.count + serverRandom.count + params.count)
        content.append(contentsOf: clientRandom)
        content.append(contentsOf: serverRandom)
        content.append(contentsOf: params)
        return content
    }
}
