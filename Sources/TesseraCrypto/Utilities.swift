import Crypto

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Compares two byte strings in time that depends only on their lengths (used for Finished
/// verify_data, PSK binders and ticket MACs). The length itself is not secret in TLS.
public func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    b.withUnsafeBytes { constantTimeEquals(a, $0) }
}

/// The same for a MAC computed here against bytes received in place.
public func constantTimeEquals(_ a: [UInt8], _ b: UnsafeRawBufferPointer) -> Bool {
    guard a.count == b.count else { return false }
    var difference: UInt8 = 0
    for index in a.indices {
        difference |= a[index] ^ b[index]
    }
    return difference == 0
}

/// Cryptographically secure random bytes for client/server randoms, session IDs, serial numbers.
public enum SecureRandom: Sendable {
    /// The kernel's generator, one getentropy(3) (getrandom(2)) call per 256 bytes. The standard
    /// library's `SystemRandomNumberGenerator`, and swift-crypto's `SymmetricKey(size:)` on Linux
    /// with it, make one system call per 8 bytes: about 2% of a resumed TLS 1.2 handshake.
    public static func bytes(_ count: Int) -> [UInt8] {
        guard count > 0 else { return [] }
        return [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            var filled = 0
            while filled < count, let base = buffer.baseAddress {
                let chunk = min(256, count - filled)  // getentropy's limit
                guard getentropy(base + filled, chunk) == 0 else { break }
                filled += chunk
            }
            if filled < count {
                // Not expected on a supported kernel; never hand out unfilled bytes.
                var generator = SystemRandomNumberGenerator()
                for index in filled..<count { buffer[index] = generator.next() }
            }
            initialized = count
        }
    }
}

/// NSS key log format (SSLKEYLOGFILE), as read by Wireshark and written by OpenSSL:
/// `<label> <client_random hex> <secret hex>`, e.g. `CLIENT_RANDOM ...` for TLS 1.2 or
/// `CLIENT_HANDSHAKE_TRAFFIC_SECRET ...` for TLS 1.3.
public struct NSSKeyLog: Sendable {
    public static func line(label: String, clientRandom: [UInt8], secret: [UInt8]) -> String {
        "\(label) \(hexEncode(clientRandom)) \(hexEncode(secret))"
    }
}

/// Lower-case hex without separators.
@usableFromInline
func hexEncode(_ bytes: [UInt8]) -> String {
    let digits: [UInt8] = Array("0123456789abcdef".utf8)
    var out = [UInt8]()
    out.reserveCapacity(bytes.count * 2)
    for byte in bytes {
        out.append(digits[Int(byte >> 4)])
        out.append(digits[Int(byte & 0x0F)])
    }
    return String(decoding: out, as: UTF8.self)
}

extension Digest {
    /// The digest as an array, in one allocation. `Array(digest)` goes through `Sequence`, whose
    /// unknown length grows the array several times (four allocations for 32 bytes).
    public var byteArray: [UInt8] {
        withUnsafeBytes { Array($0) }
    }
}

/// DER identifier-and-length headers written by hand where swift-asn1's serializer costs more than
/// the encoding: its constructed nodes start with a one-byte length and move their content when it
/// turns out longer, and every `DER.Serializer` allocates a kilobyte up front, a size glibc's
/// thread cache does not keep (a slow `malloc` and `free` per use). Used for a session's outer
/// SEQUENCE and an ECDSA signature; tests check the bytes against swift-asn1 and swift-crypto.
package enum DERHeader {
    /// An identifier octet and a DER length (X.690 §8.1.3, §10.1): the short form below 128,
    /// otherwise 0x80 | n followed by the length in the fewest (n) big-endian octets.
    package static func append(_ identifier: UInt8, length: Int, to bytes: inout [UInt8]) {
        bytes.append(identifier)
        if length < 0x80 {
            bytes.append(UInt8(length))
            return
        }
        let octets = (Int.bitWidth - length.leadingZeroBitCount + 7) / 8
        bytes.append(0x80 | UInt8(octets))
        for index in stride(from: octets - 1, through: 0, by: -1) {
            bytes.append(UInt8(truncatingIfNeeded: length >> (index * 8)))
        }
    }

    /// How many octets `append` writes for `length`, identifier included.
    package static func size(forLength length: Int) -> Int {
        length < 0x80 ? 2 : 2 + (Int.bitWidth - length.leadingZeroBitCount + 7) / 8
    }
}
