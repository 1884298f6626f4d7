extension Array where Element == UInt8 {
    /// Parses hex digits (either case); whitespace is skipped so that RFC 8448-style dumps paste in
    /// directly. Nil on an odd number of digits or any other character.
    public init?(hexString: String) {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(hexString.utf8.count / 2)
        var high: UInt8? = nil
        for c in hexString.utf8 {
            let nibble: UInt8
            switch c {
            case 0x30...0x39: nibble = c &- 0x30
            case 0x61...0x66: nibble = c &- 0x61 &+ 10
            case 0x41...0x46: nibble = c &- 0x41 &+ 10
            case 0x20, 0x09, 0x0A, 0x0D: continue
            default: return nil
            }
            if let h = high {
                bytes.append(h << 4 | nibble)
                high = nil
            } else {
                high = nibble
            }
        }
        guard high == nil else { return nil }
        self = bytes
    }

    /// Lowercase hex, no separators.
    public var hexString: String {
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(count * 2)
        for byte in self {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
