import Foundation

/// Application data for one direction of an interop run, kept in memory (to compare) and in a
/// file (for peers that read a file: curl's `--data-binary @file`, the Python peers' `--send`).
struct Payload: Sendable {
    /// DESIGN.md §7 / the interop requirement: "1 MiB of application data both ways".
    static let standardSize = 1 << 20

    let data: Data
    let file: URL

    var count: Int { data.count }

    /// Random bytes: every byte value, NULs and newlines included.
    static func random(_ size: Int = standardSize, in directory: URL, name: String) throws -> Payload {
        var generator = SystemRandomNumberGenerator()
        var bytes = [UInt8](repeating: 0, count: size)
        var i = 0
        while i < size {
            var word = generator.next()
            for _ in 0..<8 where i < size {
                bytes[i] = UInt8(truncatingIfNeeded: word)
                word >>= 8
                i += 1
            }
        }
        return try write(Data(bytes), in: directory, name: name)
    }

    /// Random printable lines (base64 alphabet, 63 characters and a newline), ending in a newline.
    /// For line-oriented peers: `gnutls-serv --echo` echoes line by line and treats data as C
    /// strings (a NUL cuts the line), so binary data would not come back whole.
    static func text(_ size: Int = standardSize, in directory: URL, name: String) throws -> Payload {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        var generator = SystemRandomNumberGenerator()
        var bytes = [UInt8](repeating: 0x0A, count: size)
        for i in 0..<size where (i + 1) % 64 != 0 && i != size - 1 {
            bytes[i] = alphabet[Int(generator.next() % UInt64(alphabet.count))]
        }
        return try write(Data(bytes), in: directory, name: name)
    }

    private static func write(_ data: Data, in directory: URL, name: String) throws -> Payload {
        let url = directory.appendingPathComponent(name)
        try data.write(to: url)
        return Payload(data: data, file: url)
    }
}

/// How a peer's stdout carries the data it received.
enum ReceivedStream: Sendable {
    /// stdout is exactly the payload (openssl `-brief`/`-quiet`, gnutls-cli with `--logfile`).
    case exact
    /// stdout holds the payload as one contiguous run, with report text before or after it
    /// (tessera's openssl-like report; we do not assume which stream its report goes to).
    case embedded

    /// True once `output` holds all of `payload`.
    func isComplete(_ output: Data, _ payload: Payload) -> Bool {
        switch self {
        case .exact: return output.count >= payload.count
        case .embedded: return output.count >= payload.count && output.range(of: payload.data) != nil
        }
    }

    /// The same for a peer's stdout, reading the file only once its size says it may be done
    /// (polled every 20 ms: re-reading a megabyte each time would slow the peers down).
    func isComplete(_ peer: PeerProcess, _ payload: Payload) -> Bool {
        guard peer.stdoutSize >= payload.count else { return false }
        switch self {
        case .exact: return true
        case .embedded: return isComplete(peer.stdout(), payload)
        }
    }

    /// Throws unless `output` carries exactly `payload` (once, unaltered).
    func verify(_ output: Data, _ payload: Payload, what: String) throws {
        switch self {
        case .exact:
            guard output == payload.data else {
                throw HarnessError.mismatch("\(what): received \(output.count) B, expected \(payload.count) B; \(Self.firstDifference(output, payload.data))")
            }
        case .embedded:
            guard let range = output.range(of: payload.data) else {
                throw HarnessError.mismatch("\(what): the \(payload.count) B payload is not in the \(output.count) B output")
            }
            if output.range(of: payload.data.prefix(64), in: range.upperBound..<output.endIndex) != nil {
                throw HarnessError.mismatch("\(what): the payload's start appears again after it (duplicated data)")
            }
        }
    }

    static func firstDifference(_ a: Data, _ b: Data) -> String {
        let limit = min(a.count, b.count)
        var index = 0
        a.withUnsafeBytes { (pa: UnsafeRawBufferPointer) in
            b.withUnsafeBytes { (pb: UnsafeRawBufferPointer) in
                while index < limit && pa[index] == pb[index] { index += 1 }
            }
        }
        return index == limit ? "first \(limit) B equal" : "first difference at byte \(index)"
    }
}
