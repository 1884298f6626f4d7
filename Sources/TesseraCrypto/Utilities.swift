/// Compares two byte strings in time that depends only on their lengths (used for Finished
/// verify_data, PSK binders and ticket MACs). The length itself is not secret in TLS.
public func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    guard a.count == b.count else { return false }
    var difference: UInt8 = 0
    for index in a.indices {
        difference |= a[index] ^ b[index]
    }
    return difference == 0
}

/// Cryptographically secure random bytes for client/server randoms, session IDs, serial numbers.
public enum SecureRandom: Sendable {
    /// `SystemRandomNumberGenerator` is getrandom(2) on Linux and arc4random on Darwin.
    public static func bytes(_ count: Int) -> [UInt8] {
        guard count > 0 else { return [] }
        var generator = SystemRandomNumberGenerator()
        return [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            var index = 0
            while index < count {
                var word = generator.next()
                let take = min(8, count - index)
                withUnsafeBytes(of: &word) { wordBytes in
                    for offset in 0..<take {
                        buffer[index + offset] = wordBytes[offset]
                    }
                }
                index += take
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
