import Crypto

/// A secret keyed once for HMAC (RFC 2104) over swift-crypto's SHA-256 / SHA-384.
///
/// HMAC(K, m) = H((K' ^ opad) | H((K' ^ ipad) | m)), K' = K zero-padded to the hash's block (or
/// H(K) padded, for a key longer than a block). The two padded-key states are hashed once here;
/// each MAC copies them (swift-crypto's hash types are values with independent copies).
///
/// Why not swift-crypto's `HMAC<H>`: in the TLS 1.3 key schedule (about 20 HMACs of short
/// messages per handshake side) its generic, unspecialized code cost about 1.8 µs per `init(key:)`
/// and 1 µs per update: 25% of a resumed handshake's CPU time, more than both X25519 operations.
/// Here the hash types are concrete, so the cost is the SHA-2 compressions and two small
/// allocations. `HMACKeyTests` checks this against swift-crypto's `HMAC` (RFC 4231 vectors,
/// random keys and messages of every length around the block size).
public struct HMACKey: Sendable {
    private enum Keyed: Sendable {
        case sha256(inner: SHA256, outer: SHA256)
        case sha384(inner: SHA384, outer: SHA384)
    }

    private let keyed: Keyed
    public let hash: HashAlgorithm

    public init(_ key: [UInt8], hash: HashAlgorithm) {
        self.hash = hash
        switch hash {
        case .sha256:
            let (inner, outer) = Self.pads(SHA256.self, key)
            keyed = .sha256(inner: inner, outer: outer)
        case .sha384:
            let (inner, outer) = Self.pads(SHA384.self, key)
            keyed = .sha384(inner: inner, outer: outer)
        }
    }

    /// The hash states after (K' ^ ipad) and after (K' ^ opad). The padded key lives on the stack
    /// and is zeroed before it goes.
    private static func pads<H: HashFunction>(_: H.Type, _ key: [UInt8]) -> (H, H) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: H.blockByteCount) { block in
            block.initialize(repeating: 0)
            if key.count > H.blockByteCount {
                H.hash(data: key).withUnsafeBytes { digest in
                    for index in digest.indices { block[index] = digest[index] }
                }
            } else {
                for index in key.indices { block[index] = key[index] }
            }
            for index in block.indices { block[index] ^= 0x36 }
            var inner = H()
            inner.update(bufferPointer: UnsafeRawBufferPointer(block))
            for index in block.indices { block[index] ^= 0x36 ^ 0x5C }
            var outer = H()
            outer.update(bufferPointer: UnsafeRawBufferPointer(block))
            block.update(repeating: 0)
            return (inner, outer)
        }
    }

    /// HMAC(key, message) for a key used once (a finished key, an HKDF-Extract salt). The two
    /// padded-key states are hashed and then updated in place: an `HMACKey` copies them for each
    /// MAC (swift-crypto allocates a hash context per copy that is updated), which pays only when
    /// the key is used again.
    public static func mac(key: [UInt8], hash: HashAlgorithm, _ message: [UInt8]) -> [UInt8] {
        message.withUnsafeBytes { message in
            switch hash {
            case .sha256:
                var (inner, outer) = pads(SHA256.self, key)
                inner.update(bufferPointer: message)
                return finish(&inner, &outer)
            case .sha384:
                var (inner, outer) = pads(SHA384.self, key)
                inner.update(bufferPointer: message)
                return finish(&inner, &outer)
            }
        }
    }

    /// `mac(key:hash:_:)` with the message written on the stack (`mac(count:writing:)`).
    public static func mac(
        key: [UInt8], hash: HashAlgorithm, count: Int, writing write: (UnsafeMutableRawBufferPointer) -> Void
    ) -> [UInt8] {
        var result: [UInt8] = []
        switch hash {
        case .sha256:
            var (inner, outer) = pads(SHA256.self, key)
            mac(&inner, &outer, count: count, writing: write) { result = Array($0) }
        case .sha384:
            var (inner, outer) = pads(SHA384.self, key)
            mac(&inner, &outer, count: count, writing: write) { result = Array($0) }
        }
        return result
    }

    /// HMAC(key, message).
    public func mac(_ message: [UInt8]) -> [UInt8] {
        message.withUnsafeBytes { mac($0) }
    }

    /// HMAC(key, message) over raw bytes.
    public func mac(_ message: UnsafeRawBufferPointer) -> [UInt8] {
        // `var` bindings: each pad state is copied once, and that copy is the one updated
        // (swift-crypto copies the hash context on the first update). Passing the states on
        // as `let`s and copying them again costs a retain and a release per state.
        switch keyed {
        case .sha256(var inner, var outer):
            inner.update(bufferPointer: message)
            return Self.finish(&inner, &outer)
        case .sha384(var inner, var outer):
            inner.update(bufferPointer: message)
            return Self.finish(&inner, &outer)
        }
    }

    /// HMAC(key, m) for an m of `count` bytes that `write` puts into a stack buffer: a message
    /// assembled for one MAC (an HkdfLabel) never goes to the heap.
    public func mac(count: Int, writing write: (UnsafeMutableRawBufferPointer) -> Void) -> [UInt8] {
        var result: [UInt8] = []
        withMAC(count: count, writing: write) { result = Array($0) }
        return result
    }

    /// `mac(count:writing:)` that hands the MAC to `body` instead of allocating it: the TLS 1.2 PRF
    /// copies each block straight into its output.
    public func withMAC(
        count: Int, writing write: (UnsafeMutableRawBufferPointer) -> Void, _ body: (UnsafeRawBufferPointer) -> Void
    ) {
        switch keyed {
        case .sha256(var inner, var outer): Self.mac(&inner, &outer, count: count, writing: write, body)
        case .sha384(var inner, var outer): Self.mac(&inner, &outer, count: count, writing: write, body)
        }
    }

    /// RFC 5869 §2.3 HKDF-Expand(PRK, info, L) with this key as the PRK:
    /// T(0) = empty, T(i) = HMAC(PRK, T(i-1) | info | i), output = the first L bytes of T(1) | T(2) | ...
    /// L is capped at 255 * HashLen, the most HKDF-Expand can produce.
    public func expand(info: [UInt8], length: Int) -> [UInt8] {
        let length = min(length, 255 * hash.outputLength)
        guard length > 0 else { return [] }
        if length <= hash.outputLength {
            // One block, T(1) = HMAC(PRK, info | 0x01): every TLS 1.3 secret, key and IV. The
            // message is built on the stack; the MAC is the only allocation.
            var block = mac(count: info.count + 1) { message in
                message.copyBytes(from: info)
                message[info.count] = 1
            }
            block.removeLast(block.count - length)
            return block
        }
        var output = [UInt8]()
        output.reserveCapacity(length + hash.outputLength)
        var message = info
        message.append(1)
        var block = mac(message)
        output.append(contentsOf: block)
        var counter: UInt8 = 1
        while output.count < length {
            counter &+= 1
            message.removeAll(keepingCapacity: true)
            message.append(contentsOf: block)
            message.append(contentsOf: info)
            message.append(counter)
            block = mac(message)
            output.append(contentsOf: block)
        }
        output.removeLast(output.count - length)
        return output
    }

    /// The message written on the stack into the inner hash, then `finish`.
    private static func mac<H: HashFunction>(
        _ inner: inout H, _ outer: inout H, count: Int, writing write: (UnsafeMutableRawBufferPointer) -> Void,
        _ body: (UnsafeRawBufferPointer) -> Void
    ) {
        withUnsafeTemporaryAllocation(byteCount: count, alignment: 1) { bytes in
            write(bytes)
            inner.update(bufferPointer: UnsafeRawBufferPointer(bytes))
        }
        finish(&inner, &outer, body)
    }

    /// The outer hash over the finished inner one: HMAC's result, handed to `body`.
    private static func finish<H: HashFunction>(_ inner: inout H, _ outer: inout H, _ body: (UnsafeRawBufferPointer) -> Void) {
        inner.finalize().withUnsafeBytes { outer.update(bufferPointer: $0) }
        outer.finalize().withUnsafeBytes(body)
    }

    /// The same, as a new array.
    private static func finish<H: HashFunction>(_ inner: inout H, _ outer: inout H) -> [UInt8] {
        var result: [UInt8] = []
        finish(&inner, &outer) { result = Array($0) }
        return result
    }
}
