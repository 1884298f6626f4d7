import Foundation
import TesseraCore
import TesseraCrypto
import TesseraSessions
import TesseraWire
import X509

/// The connection report, laid out as `openssl s_client` prints it.
enum Report {
    static func client(_ summary: HandshakeSummary, bytesRead: Int, bytesWritten: Int, now: Date) -> String {
        var out = "---\n"
        let certificates = summary.peerCertificates.compactMap { try? Certificate(derEncoded: $0) }
        if !certificates.isEmpty {
            out += "Certificate chain\n"
            for (index, certificate) in certificates.enumerated() {
                out += " \(index) s:\(certificate.subject)\n   i:\(certificate.issuer)\n"
            }
            out += "---\nServer certificate\n"
            if let pem = try? certificates[0].serializeAsPEM().pemString {
                out += pem + "\n"
            }
            out += "subject=\(certificates[0].subject)\nissuer=\(certificates[0].issuer)\n---\n"
        } else {
            out += "no peer certificate available\n---\n"
        }
        if summary.clientCertificateAuthorities.isEmpty {
            out += "No client certificate CA names sent\n"
        } else {
            // openssl s_client's list of the CertificateRequest's certificate_authorities.
            out += "Acceptable client certificate CA names\n"
            for name in summary.clientCertificateAuthorities {
                out += (CertificateChain.oneLine(nameDER: name) ?? "(unreadable name)") + "\n"
            }
        }
        out += "Client certificate requested: \(summary.clientCertificateRequested ? "yes" : "no")\n"
        if summary.clientCertificateRequested {
            out += "Client certificate sent: \(summary.clientCertificateSent ? "yes" : "no (empty Certificate)")\n"
        }
        if let scheme = summary.peerSignatureScheme {
            let (digest, type) = describe(scheme)
            out += "Peer signing digest: \(digest)\nPeer signature type: \(type)\n"
        }
        if let group = summary.group {
            out += "Server Temp Key: \(groupDescription(group))\n"
        }
        out += "---\nSSL handshake has read \(bytesRead) bytes and written \(bytesWritten) bytes\n"
        if let verification = summary.verification {
            out += verification.isValid ? "Verification: OK\n" : "Verification error: \(verification.message)\n"
        }
        out += "---\n"
        out += "\(summary.resumed ? "Reused" : "New"), \(summary.version), Cipher is \(summary.cipherSuite.openSSLName)\n"
        if let leaf = summary.peerCertificates.first, let key = try? PeerPublicKey(certificateDER: leaf) {
            out += "Server public key is \(key.bits) bit\n"
        }
        out += "Secure Renegotiation IS\(summary.secureRenegotiation ? "" : " NOT") supported\n"
        out += "Compression: NONE\nExpansion: NONE\n"
        out += summary.alpn.map { "ALPN protocol: \($0)\n" } ?? "No ALPN negotiated\n"
        if let session = summary.session {
            out += Report.session(session)
        } else {
            out += "SSL-Session:\n    Protocol  : \(summary.version)\n    Cipher    : \(summary.cipherSuite.openSSLName)\n"
            out += "    Session-ID: \n    Master-Key: \(summary.masterSecret.upperHex)\n"
            out += "    Extended master secret: \(summary.extendedMasterSecret ? "yes" : "no")\n"
        }
        if summary.resumed {
            out += "Session ticket renewed: \(summary.ticketRenewed ? "yes" : "no")\n"
        }
        if let early = summary.earlyDataAccepted {
            out += "Early data was \(early ? "accepted" : "rejected")\n"
        }
        out += "---\n"
        return out
    }

    /// The `SSL-Session:` block, as `openssl s_client` and `openssl sess_id -text` print it.
    static func session(_ session: SessionState) -> String {
        var out = "SSL-Session:\n"
        out += "    Protocol  : \(session.version)\n"
        out += "    Cipher    : \(session.cipherSuite.openSSLName)\n"
        out += "    Session-ID: \(session.sessionID.upperHex)\n"
        out += "    Session-ID-ctx: \(session.sessionIDContext.upperHex)\n"
        out += "    Master-Key: \(session.masterSecret.upperHex)\n"
        out += "    PSK identity: None\n    PSK identity hint: None\n    SRP username: None\n"
        if let ticket = session.ticket, !ticket.isEmpty {
            if let hint = session.ticketLifetimeHint {
                out += "    TLS session ticket lifetime hint: \(hint) (seconds)\n"
            }
            out += "    TLS session ticket:\n" + bioDump(ticket, indent: 4) + "\n"
        }
        out += "    Start Time: \(Int(session.time.timeIntervalSince1970))\n"
        out += "    Timeout   : \(session.timeout) (sec)\n"
        let code = session.verifyResult ?? 0
        out += "    Verify return code: \(code) (\(VerificationResult.openSSLMessage(code)))\n"
        out += "    Extended master secret: \(session.extendedMasterSecret ? "yes" : "no")\n"
        return out
    }

    /// OpenSSL's `BIO_dump_indent` layout: `0000 - 8d 9c ...-61 31 ...   ......R\a1>.\I[.`
    static func bioDump(_ bytes: [UInt8], indent: Int) -> String {
        var out = ""
        var offset = 0
        let pad = String(repeating: " ", count: indent)
        while offset < bytes.count {
            let line = Array(bytes[offset..<min(offset + 16, bytes.count)])
            var hex = ""
            for column in 0..<16 {
                if column < line.count {
                    hex += String(line[column], radix: 16).leftPadded(to: 2)
                    hex += column == 7 && line.count > 8 ? "-" : " "
                } else {
                    hex += "   "
                }
            }
            let ascii = String(line.map { (0x20...0x7e).contains($0) ? Character(UnicodeScalar($0)) : "." })
            out += "\(pad)\(String(offset, radix: 16).leftPadded(to: 4)) - \(hex)  \(ascii)\n"
            offset += 16
        }
        return out
    }

    static func describe(_ scheme: SignatureScheme) -> (digest: String, type: String) {
        switch scheme {
        case .ecdsaSecp256r1SHA256: return ("SHA256", "ECDSA")
        case .ecdsaSecp384r1SHA384: return ("SHA384", "ECDSA")
        case .ecdsaSecp521r1SHA512: return ("SHA512", "ECDSA")
        case .rsaPSSRSAESHA256, .rsaPSSPSSSHA256: return ("SHA256", "RSA-PSS")
        case .rsaPSSRSAESHA384, .rsaPSSPSSSHA384: return ("SHA384", "RSA-PSS")
        case .rsaPSSRSAESHA512, .rsaPSSPSSSHA512: return ("SHA512", "RSA-PSS")
        case .rsaPKCS1SHA256: return ("SHA256", "RSA")
        case .rsaPKCS1SHA384: return ("SHA384", "RSA")
        case .rsaPKCS1SHA512: return ("SHA512", "RSA")
        case .ed25519: return ("None", "Ed25519")
        default: return ("\(scheme)", "\(scheme)")
        }
    }

    static func groupDescription(_ group: NamedGroup) -> String {
        switch group {
        case .x25519: return "X25519, 253 bits"
        case .secp256r1: return "ECDH, prime256v1, 256 bits"
        case .secp384r1: return "ECDH, secp384r1, 384 bits"
        default: return "\(group)"
        }
    }
}

extension Array where Element == UInt8 {
    var upperHex: String { map { String($0, radix: 16, uppercase: true).leftPadded(to: 2) }.joined() }
}
