import Foundation
import ArgumentParser
import TesseraCore
import TesseraCrypto
import TesseraWire

/// Flags shared by s_client and s_server, spelled as openssl spells them.
struct CommonOptions: ParsableArguments {
    @Flag(name: .customLong("tls1_2", withSingleDash: true), help: "Use TLS 1.2 only.")
    var tls12 = false

    @Flag(name: .customLong("tls1_3", withSingleDash: true), help: "Use TLS 1.3 only. Default: TLS 1.3 preferred, TLS 1.2 allowed.")
    var tls13 = false

    @Flag(name: .customLong("msg", withSingleDash: true), help: "Print every protocol message, as openssl -msg does.")
    var msg = false

    @Flag(name: .customLong("quiet", withSingleDash: true), help: "No report or trace; data only.")
    var quiet = false

    @Option(name: .customLong("cipher", withSingleDash: true), help: "TLS 1.2 cipher suites, OpenSSL names separated by ':'.")
    var cipher: String?

    @Option(name: .customLong("ciphersuites", withSingleDash: true), help: "TLS 1.3 cipher suites separated by ':' (TLS_AES_128_GCM_SHA256, ...).")
    var ciphersuites: String?

    @Option(name: [.customLong("groups", withSingleDash: true), .customLong("curves", withSingleDash: true)],
            help: "Key-exchange groups separated by ':' (X25519, P-256, P-384).")
    var groups: String?

    @Option(name: .customLong("alpn", withSingleDash: true), help: "ALPN protocols, comma separated.")
    var alpn: String?

    @Option(name: .customLong("keylogfile", withSingleDash: true), help: "Append TLS secrets in NSS key log format.")
    var keylogfile: String?

    func apply(to configuration: inout TLSConfiguration) throws {
        switch (tls12, tls13) {
        case (true, true): throw CommandError("-tls1_2 and -tls1_3 exclude each other")
        case (true, false): configuration.minimumVersion = .tls12; configuration.maximumVersion = .tls12
        case (false, true): configuration.minimumVersion = .tls13; configuration.maximumVersion = .tls13
        case (false, false): configuration.minimumVersion = .tls12; configuration.maximumVersion = .tls13
        }
        if let cipher {
            var suites: [CipherSuite] = []
            for name in cipher.split(separator: ":") {
                guard let suite = CipherSuite.byOpenSSLName[String(name)] else {
                    throw CommandError("unknown or unsupported cipher \(name)")
                }
                suites.append(suite)
            }
            // openssl: -cipher is the TLS 1.2 list; the TLS 1.3 suites stay.
            configuration.cipherSuites = configuration.cipherSuites.filter { $0.parameters?.version == .tls13 } + suites
        }
        if let ciphersuites {
            var suites: [CipherSuite] = []
            for name in ciphersuites.split(separator: ":") {
                guard let suite = CipherSuite.byOpenSSLName[String(name)], suite.parameters?.version == .tls13 else {
                    throw CommandError("unknown or unsupported TLS 1.3 cipher suite \(name)")
                }
                suites.append(suite)
            }
            configuration.cipherSuites = suites + configuration.cipherSuites.filter { $0.parameters?.version == .tls12 }
        }
        if let groups {
            var parsed: [NamedGroup] = []
            for name in groups.split(separator: ":") {
                switch name.lowercased() {
                case "x25519": parsed.append(.x25519)
                case "p-256", "prime256v1", "secp256r1": parsed.append(.secp256r1)
                case "p-384", "secp384r1": parsed.append(.secp384r1)
                default: throw CommandError("unknown or unsupported group \(name)")
                }
            }
            configuration.groups = parsed
        }
        if let alpn {
            configuration.alpnProtocols = alpn.split(separator: ",").map(String.init)
        }
        if let keylogfile {
            configuration.keyLog = KeyLogFile(path: keylogfile).append
        }
    }
}

extension CipherSuite {
    static let byOpenSSLName: [String: CipherSuite] = {
        var table: [String: CipherSuite] = [:]
        for suite in TLSConfiguration.defaultCipherSuites {
            table[suite.openSSLName] = suite
        }
        return table
    }()
}

/// `-keylogfile`: NSS key log lines, appended.
struct KeyLogFile: Sendable {
    let path: String

    @Sendable func append(_ line: String) {
        guard let data = (line + "\n").data(using: .utf8) else { return }
        if let handle = FileHandle(forWritingAtPath: path) {
            handle.seekToEndOfFile()
            handle.write(data)
            try? handle.close()
        } else {
            _ = FileManager.default.createFile(atPath: path, contents: data, attributes: [.posixPermissions: 0o600])
        }
    }
}

/// `-cert F [-key F]` into the configuration; the key defaults to the certificate's file, as in
/// openssl. `what` names it in the error ("certificate", "client certificate").
func loadIdentity(cert: String, key: String?, into configuration: inout TLSConfiguration, what: String) throws {
    do {
        configuration.certificateChain = try CertificateChain.load(pemFile: cert)
        configuration.privateKey = try SigningKey.load(pemFile: key ?? cert)
    } catch {
        throw CommandError("cannot load \(what) or key: \(error.message)")
    }
}

/// `HOST:PORT`, `[v6]:PORT` or `PORT`.
func parseHostPort(_ text: String, defaultHost: String) throws -> (host: String, port: Int) {
    if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
        let host = String(text[text.index(after: text.startIndex)..<close])
        let rest = text[text.index(after: close)...]
        guard rest.hasPrefix(":"), let port = Int(rest.dropFirst()), (0...65535).contains(port) else {
            throw CommandError("bad address \(text)")
        }
        return (host, port)
    }
    let parts = text.split(separator: ":", omittingEmptySubsequences: false)
    switch parts.count {
    case 1:
        guard let port = Int(parts[0]), (0...65535).contains(port) else { throw CommandError("bad port \(text)") }
        return (defaultHost, port)
    case 2:
        guard let port = Int(parts[1]), (0...65535).contains(port) else { throw CommandError("bad port \(text)") }
        return (parts[0].isEmpty ? defaultHost : String(parts[0]), port)
    default:
        throw CommandError("bad address \(text)")
    }
}
