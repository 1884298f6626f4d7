import Foundation

/// Parsers for what each peer prints about its connection: the negotiated version, suite and group,
/// verification, and whether close_notify went each way.

/// `openssl s_client -brief` / `s_server -brief` (on stderr):
/// `Protocol version: TLSv1.2`, `Ciphersuite: ECDHE-ECDSA-AES128-GCM-SHA256`,
/// `Server Temp Key: X25519, 253 bits` (client), `Verification: OK` (client).
struct OpenSSLBriefReport {
    let protocolVersion: String?
    let cipher: String?
    let serverTempKey: String?
    let verification: String?

    init(_ text: String) {
        func value(_ label: String) -> String? {
            for line in text.split(separator: "\n") where line.hasPrefix(label) {
                return line.dropFirst(label.count).trimmingCharacters(in: .whitespaces)
            }
            return nil
        }
        protocolVersion = value("Protocol version:")
        cipher = value("Ciphersuite:")
        serverTempKey = value("Server Temp Key:")
        verification = value("Verification:") ?? value("Verification error:").map { "error: \($0)" }
    }

    /// The group named on the client's `Server Temp Key:` line.
    var group: NamedGroup? {
        guard let key = serverTempKey else { return nil }
        // "X25519, 253 bits" or "ECDH, prime256v1, 256 bits"
        let parts = key.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        return NamedGroup.all.first { parts.contains($0.opensslTempKey) }
    }
}

/// The message trace written by openssl's `-msg -msgfile FILE`: one line per record header and
/// message, `>>>` sent and `<<<` received, followed by hex lines. Alerts show decrypted, so a TLS 1.2
/// close_notify appears as `<<< TLS 1.2, Alert [length 0002], warning close_notify`.
struct OpenSSLMessageTrace {
    struct Entry {
        let sent: Bool
        let summary: String
        let bytes: [UInt8]
    }

    let entries: [Entry]

    init(contentsOf url: URL) {
        self.init(String(decoding: (try? Data(contentsOf: url)) ?? Data(), as: UTF8.self))
    }

    init(_ text: String) {
        var entries: [Entry] = []
        var current: (sent: Bool, summary: String, bytes: [UInt8])?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix(">>> ") || line.hasPrefix("<<< ") {
                if let c = current { entries.append(Entry(sent: c.sent, summary: c.summary, bytes: c.bytes)) }
                current = (line.hasPrefix(">>> "), String(line.dropFirst(4)), [])
            } else if line.hasPrefix("    "), current != nil {
                current!.bytes += line.split(separator: " ").compactMap { UInt8($0, radix: 16) }
            }
        }
        if let c = current { entries.append(Entry(sent: c.sent, summary: c.summary, bytes: c.bytes)) }
        self.entries = entries
    }

    var sentCloseNotify: Bool { entries.contains { $0.sent && $0.summary.hasSuffix("close_notify") } }
    var receivedCloseNotify: Bool { entries.contains { !$0.sent && $0.summary.hasSuffix("close_notify") } }
    /// Fatal alerts either way, e.g. `>>> ... fatal decode_error`.
    var fatalAlerts: [String] { entries.filter { $0.summary.contains(", fatal ") }.map { ($0.sent ? ">>> " : "<<< ") + $0.summary } }

    /// The group from the ServerKeyExchange (RFC 8422 §5.4: curve_type 3 = named_curve, then the group).
    var serverKeyExchangeGroup: NamedGroup? {
        guard let ske = entries.first(where: { $0.summary.hasSuffix("ServerKeyExchange") }) else { return nil }
        let b = ske.bytes
        guard b.count >= 7, b[0] == 0x0C, b[4] == 0x03 else { return nil }
        return NamedGroup.withCode(UInt16(b[5]) << 8 | UInt16(b[6]))
    }

    /// Handshake message names in order, e.g. `>>> ServerHello`, for flight checks.
    var handshakeFlight: [String] {
        entries.compactMap { entry in
            guard entry.summary.contains("Handshake ["), let name = entry.summary.split(separator: ",").last else { return nil }
            return (entry.sent ? ">>> " : "<<< ") + name.trimmingCharacters(in: .whitespaces)
        }
    }
}

/// GnuTLS' `- Description: (TLS1.2-X.509)-(ECDHE-X25519)-(ECDSA-SHA256)-(AES-128-GCM)` line
/// (gnutls-cli's log file, gnutls-serv's stdout), plus its close and error messages.
struct GnuTLSReport {
    let version: String?
    let keyExchange: String?
    let signature: String?
    let cipher: String?
    let text: String

    init(_ text: String) {
        self.text = text
        let line = text.split(separator: "\n").first { $0.hasPrefix("- Description:") }
        let parts = line.map { l -> [String] in
            l.dropFirst("- Description:".count).split(separator: ")").map {
                $0.trimmingCharacters(in: CharacterSet(charactersIn: " -("))
            }
        } ?? []
        version = parts.count > 0 ? parts[0] : nil  // "TLS1.2-X.509"
        keyExchange = parts.count > 1 ? parts[1] : nil  // "ECDHE-X25519"
        signature = parts.count > 2 ? parts[2] : nil
        cipher = parts.count > 3 ? parts[3] : nil  // "AES-128-GCM"
    }

    var isTLS12: Bool { version?.hasPrefix("TLS1.2") ?? false }

    var group: NamedGroup? {
        guard let kx = keyExchange else { return nil }
        return NamedGroup.all.first { kx == "ECDHE-\($0.gnutlsGroup)" }
    }

    /// gnutls-cli, when the server's close_notify arrived.
    var peerClosedCleanly: Bool { text.contains("- Peer has closed the GnuTLS connection") }
    /// gnutls-serv / gnutls-cli, when the connection ended without close_notify.
    var sawUncleanClose: Bool { text.contains("non-properly terminated") }
}

/// `tessera s_client` / `s_server`'s openssl-like report. openssl's client prints
/// `New, TLSv1.2, Cipher is ECDHE-...` and `Verify return code: 0 (ok)`; its server prints
/// `CIPHER is ECDHE-...`; both are accepted. Parsed from stdout and stderr together: we do not
/// assume which stream the report goes to.
struct TesseraReport {
    let protocolVersion: String?
    let cipher: String?
    let verifyReturnCode: Int?
    let text: String

    init(_ text: String) {
        self.text = text
        let lines = text.split(separator: "\n").map(String.init)
        var cipher: String?
        var version: String?
        for line in lines {
            if cipher == nil, let range = line.range(of: "cipher is ", options: .caseInsensitive) {
                cipher = line[range.upperBound...].split(separator: " ").first.map(String.init)
            }
            if version == nil, line.hasPrefix("New, ") {
                // "New, TLSv1.2, Cipher is ..."
                version = line.split(separator: ",").dropFirst().first?.trimmingCharacters(in: .whitespaces)
            }
            if version == nil, line.contains("Protocol"), let v = line.split(separator: ":").last?.trimmingCharacters(in: .whitespaces), v.hasPrefix("TLSv") {
                version = v
            }
        }
        self.cipher = cipher
        self.protocolVersion = version
        if let verify = lines.first(where: { $0.contains("Verify return code:") }) {
            let rest = verify.components(separatedBy: "Verify return code:").last ?? ""
            verifyReturnCode = Int(rest.trimmingCharacters(in: .whitespaces).prefix { $0.isNumber })
        } else {
            verifyReturnCode = nil
        }
    }

    /// Reads only the text around the payload (the report), not the megabyte of data itself.
    init(_ peer: PeerProcess) {
        func head(_ data: Data) -> String {
            String(decoding: data.prefix(64 * 1024) + Data("\n".utf8) + data.suffix(16 * 1024), as: UTF8.self)
        }
        self.init(head(peer.stdout()) + "\n" + head(peer.stderr()))
    }
}

/// The JSON line printed by `scripts/interop-peers/py_server.py` and `scripts/interop-peers/py_client.py`.
struct PythonPeerReport: Decodable {
    let role: String
    let version: String?
    let cipher: String?
    let sent: Int
    let received: Int
    let closeNotifyReceived: Bool
    let closeNotifySent: Bool
    let error: String?

    enum CodingKeys: String, CodingKey {
        case role, version, cipher, sent, received, error
        case closeNotifyReceived = "close_notify_received"
        case closeNotifySent = "close_notify_sent"
    }

    static func parse(_ peer: PeerProcess) throws -> PythonPeerReport {
        let text = peer.stdoutText()
        guard let line = text.split(separator: "\n").last(where: { $0.hasPrefix("{") }) else {
            throw HarnessError.mismatch("\(peer.name) printed no JSON report\n\(peer.diagnostics)")
        }
        do {
            return try JSONDecoder().decode(PythonPeerReport.self, from: Data(line.utf8))
        } catch {
            throw HarnessError.mismatch("\(peer.name): bad JSON report \(line): \(error)")
        }
    }
}
