import Foundation

/// A session file as `openssl s_client -sess_out` and `tessera s_client -sess_out` write it: PEM
/// `SSL SESSION PARAMETERS` around OpenSSL's `SSL_SESSION` DER (ssl/ssl_asn1.c):
///
///     SEQUENCE { version INTEGER(1), ssl_version INTEGER, cipher OCTET STRING(2),
///                session_id OCTET STRING, master_key OCTET STRING, ...,
///                [10] EXPLICIT OCTET STRING ticket, ... }
///
/// Read here with a small DER walker of our own, so the tests' oracle depends on neither tool.
struct SessionFile {
    static let pemLabel = "SSL SESSION PARAMETERS"

    let der: [UInt8]
    let sslVersion: Int
    let cipher: [UInt8]
    let sessionID: [UInt8]
    let masterKey: [UInt8]
    /// RFC 5077 ticket as the server sent it (OpenSSL/nginx layout: key_name(16) | IV(16) | ...).
    let ticket: [UInt8]?
    /// Byte offset of ssl_version's INTEGER content in `der` (for `withVersion`).
    private let versionContent: Range<Int>

    /// The first 16 bytes of the ticket: the key name under OpenSSL's and nginx's layout.
    var ticketKeyName: [UInt8]? { ticket.map { Array($0.prefix(16)) } }

    static func load(_ url: URL) throws -> SessionFile {
        let text: String
        do {
            text = try String(contentsOf: url, encoding: .utf8)
        } catch {
            throw HarnessError.mismatch("cannot read session file \(url.path): \(error)")
        }
        return try SessionFile(der: derFromPEM(text, what: url.lastPathComponent))
    }

    /// nil when the file does not exist.
    static func loadIfPresent(_ url: URL) throws -> SessionFile? {
        FileManager.default.fileExists(atPath: url.path) ? try load(url) : nil
    }

    init(der: [UInt8]) throws {
        self.der = der
        var outer = DERReader(der)
        let (tag, body) = try outer.next()
        guard tag == 0x30 else { throw HarnessError.mismatch("session DER: not a SEQUENCE (tag \(tag))") }
        var fields = DERReader(der, range: body)
        let version = try fields.next()
        guard version.tag == 0x02 else { throw HarnessError.mismatch("session DER: version is not an INTEGER") }
        let sslVersion = try fields.next()
        guard sslVersion.tag == 0x02 else { throw HarnessError.mismatch("session DER: ssl_version is not an INTEGER") }
        let cipher = try fields.next()
        let sessionID = try fields.next()
        let masterKey = try fields.next()
        guard cipher.tag == 0x04, sessionID.tag == 0x04, masterKey.tag == 0x04 else {
            throw HarnessError.mismatch("session DER: cipher/session_id/master_key are not OCTET STRINGs")
        }
        var ticket: [UInt8]?
        while !fields.atEnd {
            let (t, r) = try fields.next()
            if t == 0xAA {  // [10] EXPLICIT, constructed
                var inner = DERReader(der, range: r)
                let (innerTag, innerRange) = try inner.next()
                guard innerTag == 0x04 else { throw HarnessError.mismatch("session DER: [10] does not hold an OCTET STRING") }
                ticket = Array(der[innerRange])
            }
        }
        self.sslVersion = der[sslVersion.range].reduce(0) { $0 << 8 | Int($1) }
        self.cipher = Array(der[cipher.range])
        self.sessionID = Array(der[sessionID.range])
        self.masterKey = Array(der[masterKey.range])
        self.ticket = ticket
        self.versionContent = sslVersion.range
    }

    /// The same session with another ssl_version (same length: 0x0303 -> 0x0301 is TLS 1.0).
    func withVersion(_ version: UInt16) throws -> SessionFile {
        guard versionContent.count == 2 else { throw HarnessError.mismatch("ssl_version is not two bytes") }
        var bytes = der
        bytes[versionContent.lowerBound] = UInt8(version >> 8)
        bytes[versionContent.lowerBound + 1] = UInt8(version & 0xFF)
        return try SessionFile(der: bytes)
    }

    var pem: String { Self.pem(der) }

    static func pem(_ der: [UInt8]) -> String {
        let base64 = Data(der).base64EncodedString()
        var lines: [String] = []
        var index = base64.startIndex
        while index < base64.endIndex {
            let end = base64.index(index, offsetBy: 64, limitedBy: base64.endIndex) ?? base64.endIndex
            lines.append(String(base64[index..<end]))
            index = end
        }
        return "-----BEGIN \(pemLabel)-----\n" + lines.joined(separator: "\n") + "\n-----END \(pemLabel)-----\n"
    }

    static func derFromPEM(_ text: String, what: String) throws -> [UInt8] {
        let lines = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
        guard let begin = lines.firstIndex(of: "-----BEGIN \(pemLabel)-----"),
              let end = lines[begin...].firstIndex(of: "-----END \(pemLabel)-----")
        else { throw HarnessError.mismatch("\(what): no \(pemLabel) PEM block") }
        guard let data = Data(base64Encoded: lines[(begin + 1)..<end].joined()) else {
            throw HarnessError.mismatch("\(what): bad base64 in the PEM block")
        }
        return Array(data)
    }

    static func hex(_ bytes: [UInt8]?) -> String {
        guard let bytes else { return "none" }
        return bytes.map { String(format: "%02x", $0) }.joined()
    }
}

/// Definite-length DER, just enough for SSL_SESSION.
private struct DERReader {
    let bytes: [UInt8]
    var position: Int
    let end: Int

    init(_ bytes: [UInt8], range: Range<Int>? = nil) {
        self.bytes = bytes
        self.position = range?.lowerBound ?? 0
        self.end = range?.upperBound ?? bytes.count
    }

    var atEnd: Bool { position >= end }

    /// The next element's tag and its content's range.
    mutating func next() throws -> (tag: UInt8, range: Range<Int>) {
        guard position + 2 <= end else { throw HarnessError.mismatch("DER: truncated at \(position)") }
        let tag = bytes[position]
        var length = Int(bytes[position + 1])
        position += 2
        if length & 0x80 != 0 {
            let count = length & 0x7F
            guard count > 0, count <= 3, position + count <= end else { throw HarnessError.mismatch("DER: bad length at \(position)") }
            length = 0
            for _ in 0..<count {
                length = length << 8 | Int(bytes[position])
                position += 1
            }
        }
        guard position + length <= end else { throw HarnessError.mismatch("DER: element overruns at \(position)") }
        let range = position..<(position + length)
        position += length
        return (tag, range)
    }
}

/// The `SSL-Session:` text block printed by `openssl sess_id -text`, `openssl s_client`,
/// `tessera sess_id -text` and `tessera s_client`: `Protocol  : TLSv1.2`, `Master-Key: ...`, and the
/// `TLS session ticket:` hex dump (`0000 - 5a 14 30 ... 16 bytes-per-line   ascii`).
struct SessionText {
    /// `Protocol`, `Cipher`, `Session-ID`, `Master-Key`, ... of the first `SSL-Session:` block.
    let fields: [String: String]
    let ticket: [UInt8]

    init(_ text: String) {
        var fields: [String: String] = [:]
        var ticket: [UInt8] = []
        var inBlock = false
        var inTicket = false
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = String(raw)
            if line.hasPrefix("SSL-Session:") {
                if inBlock { break }  // only the first block
                inBlock = true
                continue
            }
            guard inBlock else { continue }
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if inTicket {
                // "0000 - 5a 14 30 30 06 02 73 16-d7 ae d0 72 ff 82 bf f6   Z.00..s....r...."
                if let dash = trimmed.range(of: " - "), trimmed.prefix(4).allSatisfy(\.isHexDigit) {
                    let hexPart = trimmed[dash.upperBound...].prefix(47)
                    ticket += hexPart.replacingOccurrences(of: "-", with: " ")
                        .split(separator: " ").compactMap { $0.count == 2 ? UInt8($0, radix: 16) : nil }
                    continue
                }
                inTicket = false
            }
            if trimmed == "TLS session ticket:" {
                inTicket = true
                continue
            }
            if trimmed == "---" { break }
            if let colon = trimmed.firstIndex(of: ":") {
                let key = trimmed[..<colon].trimmingCharacters(in: .whitespaces)
                let value = trimmed[trimmed.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                if fields[key] == nil { fields[key] = value }
            }
        }
        self.fields = fields
        self.ticket = ticket
    }
}
