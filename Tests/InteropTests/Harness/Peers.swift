import Foundation
import XCTest

/// Launchers for the reference peers. Each returns a started `PeerProcess`; servers are returned
/// once they listen. All bind or connect to 127.0.0.1 on a port from `PortAllocator`
/// (gnutls-serv cannot be told an address: it listens on every interface at that port, and the
/// tests only ever connect to it through 127.0.0.1).
///
/// Output conventions the data mover relies on:
/// - openssl runs with `-brief`: stdout is exactly the application data received, stderr the
///   connection summary; `-msg -msgfile` writes the message trace (alerts decrypted) to a file.
///   `s_client` also gets `-nocommands`, so data starting with `Q`, `R`, `k` is sent, not obeyed.
/// - gnutls-cli runs with `--logfile`: stdout is exactly the data; the log has the `- Description:` line.
extension InteropTestCase {
    // MARK: OpenSSL

    struct OpenSSLOptions {
        var tls12 = true
        var cipher: String?
        var groups: String?
        var www = false
        /// s_client: `-CAfile F -verify_return_error`.
        var caFile: URL?
        var servername: String? = "localhost"
        var extra: [String] = []

        init(tls12: Bool = true, cipher: String? = nil, groups: String? = nil, www: Bool = false,
             caFile: URL? = nil, servername: String? = "localhost", extra: [String] = []) {
            self.tls12 = tls12
            self.cipher = cipher
            self.groups = groups
            self.www = www
            self.caFile = caFile
            self.servername = servername
            self.extra = extra
        }

        /// A server allowing exactly the cell's suite and group.
        static func server(_ tlsCase: TLSCase) -> OpenSSLOptions {
            OpenSSLOptions(cipher: tlsCase.suite.openssl, groups: tlsCase.group.openssl)
        }

        /// A client offering the cell's suite and groups (`certificateCurve`: the curve of an
        /// ECDSA certificate other than the cell's own, e.g. the P-256 CA-signed leaf).
        static func client(_ tlsCase: TLSCase, serverCertificateCurve: NamedGroup? = nil, caFile: URL? = nil) -> OpenSSLOptions {
            let groups = tlsCase.clientGroups(certificateCurve: serverCertificateCurve ?? tlsCase.certificateCurve)
            return OpenSSLOptions(cipher: tlsCase.suite.openssl, groups: groups.map(\.openssl).joined(separator: ":"), caFile: caFile)
        }
    }

    /// `openssl s_server -accept 127.0.0.1:PORT -cert C -key K -naccept 1 -brief -msg -msgfile F ...`:
    /// one connection, then exit. stdin (a pipe) is sent to the client.
    func startOpenSSLServer(
        port: Int, identity: CertificateFixtures.Identity, options: OpenSSLOptions = OpenSSLOptions(),
        name: String = "openssl-server"
    ) throws -> PeerProcess {
        let name = reserveName(name)
        let openssl = try Locations.requireTool("openssl", package: "openssl")
        var args = ["s_server", "-accept", "127.0.0.1:\(port)", "-cert", identity.certificate.path,
                    "-key", identity.key.path, "-naccept", "1", "-brief",
                    "-msg", "-msgfile", file("\(name).msg").path]
        if options.tls12 { args.append("-tls1_2") }
        if let cipher = options.cipher { args += ["-cipher", cipher] }
        if let groups = options.groups { args += ["-groups", groups] }
        if options.www { args.append("-www") }
        args += options.extra
        let server = try launch(name, openssl, args)
        try server.waitForListening(port: port)
        return server
    }

    /// `openssl s_client -connect 127.0.0.1:PORT -brief -nocommands -msg -msgfile F ...`. It sends
    /// its stdin and, at stdin EOF, close_notify (no `-ign_eof`): `closeStdin()` is how it closes.
    func startOpenSSLClient(
        port: Int, options: OpenSSLOptions = OpenSSLOptions(), name: String = "openssl-client"
    ) throws -> PeerProcess {
        let name = reserveName(name)
        let openssl = try Locations.requireTool("openssl", package: "openssl")
        var args = ["s_client", "-connect", "127.0.0.1:\(port)", "-brief", "-nocommands",
                    "-msg", "-msgfile", file("\(name).msg").path]
        if let servername = options.servername { args += ["-servername", servername] }
        if let ca = options.caFile { args += ["-CAfile", ca.path, "-verify_return_error"] }
        if options.tls12 { args.append("-tls1_2") }
        if let cipher = options.cipher { args += ["-cipher", cipher] }
        if let groups = options.groups { args += ["-groups", groups] }
        args += options.extra
        return try launch(name, openssl, args)
    }

    func messageTrace(_ peer: PeerProcess) -> OpenSSLMessageTrace {
        OpenSSLMessageTrace(contentsOf: file("\(peer.name).msg"))
    }

    // MARK: GnuTLS

    /// `gnutls-serv --echo -p PORT --x509certfile C --x509keyfile K --priority P`: echoes each line
    /// back (text payloads only, see `Payload.text`) and serves until terminated.
    func startGnuTLSServer(
        port: Int, identity: CertificateFixtures.Identity, priority: String? = nil, echo: Bool = true,
        name: String = "gnutls-server"
    ) throws -> PeerProcess {
        let name = reserveName(name)
        let serv = try Locations.requireTool("gnutls-serv", package: "gnutls-bin")
        var args = ["-p", "\(port)", "--x509certfile", identity.certificate.path,
                    "--x509keyfile", identity.key.path]
        if echo { args.append("--echo") }
        if let priority { args += ["--priority", priority] }
        let server = try launch(name, serv, args, input: .null)
        try server.waitForListening(port: port)
        return server
    }

    /// `gnutls-cli -p PORT 127.0.0.1 --sni-hostname localhost --logfile F ...`: stdin to the server,
    /// server data to stdout; at stdin EOF it sends close_notify and waits for the server's.
    func startGnuTLSClient(
        port: Int, caFile: URL? = nil, priority: String? = nil, name: String = "gnutls-client"
    ) throws -> PeerProcess {
        let name = reserveName(name)
        let cli = try Locations.requireTool("gnutls-cli", package: "gnutls-bin")
        var args = ["-p", "\(port)", "--sni-hostname", "localhost", "--verify-hostname", "localhost",
                    "--logfile", file("\(name).log").path]
        if let caFile { args += ["--x509cafile", caFile.path] } else { args.append("--insecure") }
        if let priority { args += ["--priority", priority] }
        args.append("127.0.0.1")
        return try launch(name, cli, args)
    }

    func gnutlsClientReport(_ peer: PeerProcess) -> GnuTLSReport {
        GnuTLSReport(String(decoding: (try? Data(contentsOf: file("\(peer.name).log"))) ?? Data(), as: UTF8.self))
    }

    // MARK: curl

    /// `curl https://localhost:PORT/PATH --resolve localhost:PORT:127.0.0.1 --cacert CA -o OUT`
    /// (`--data-binary @upload` makes it a POST). TLS 1.2 only when `tlsCase` is given, with that
    /// suite and group. Prints `http_code size_download size_upload ssl_verify_result` on stdout.
    func startCurl(
        port: Int, caFile: URL, path: String = "/", upload: Payload? = nil, output: URL,
        tlsCase: TLSCase? = nil, serverCertificateCurve: NamedGroup? = nil, name: String = "curl"
    ) throws -> PeerProcess {
        let name = reserveName(name)
        let curl = try Locations.requireTool("curl", package: "curl")
        var args = ["-sS", "--max-time", "60", "--resolve", "localhost:\(port):127.0.0.1",
                    "--cacert", caFile.path, "-o", output.path,
                    "-w", "%{http_code} %{size_download} %{size_upload} %{ssl_verify_result}\\n"]
        if let tlsCase {
            let groups = tlsCase.clientGroups(certificateCurve: serverCertificateCurve ?? tlsCase.certificateCurve)
            args += ["--tlsv1.2", "--tls-max", "1.2", "--ciphers", tlsCase.suite.openssl,
                     "--curves", groups.map(\.openssl).joined(separator: ":")]
        }
        if let upload {
            args += ["--data-binary", "@\(upload.file.path)", "-H", "Content-Type: application/octet-stream"]
        }
        args.append("https://localhost:\(port)\(path)")
        return try launch(name, curl, args, input: .null)
    }

    // MARK: Python ssl

    var python: URL { get throws { try Locations.requireTool("python3", package: "python3") } }

    // MARK: tlslite-ng

    /// Skips the test when tlslite-ng cannot be imported, except in CI (`.ci/run` installs it),
    /// where that is a failure.
    func requireTLSLite() throws {
        let probe = try PeerProcess.run(try python, ["-c", "import tlslite.api"], in: workDirectory, name: "tlslite-probe", timeout: 30)
        if probe.status != 0 && ProcessInfo.processInfo.environment["CI"] == nil {
            throw XCTSkip("tlslite-ng cannot be imported (pip install tlslite-ng): \(probe.stderr)")
        }
    }

    /// `scripts/interop-peers/tlslite_server.py`: `connections` connections one after another, each
    /// sending `send` and receiving `expectBytes` (the last into `<name>.received`); session
    /// tickets on. One JSON line per connection on stdout (`TLSLiteServerReport`).
    func startTLSLiteServer(
        port: Int, identity: CertificateFixtures.Identity, send: Payload, expectBytes: Int,
        connections: Int = 1, tls12: Bool = false, name: String = "tlslite-server"
    ) throws -> PeerProcess {
        let name = reserveName(name)
        var args = [Locations.peersDirectory.appendingPathComponent("tlslite_server.py").path,
                    "--port", "\(port)", "--cert", identity.certificate.path, "--key", identity.key.path,
                    "--send", send.file.path, "--expect-bytes", "\(expectBytes)",
                    "--out", file("\(name).received").path, "--connections", "\(connections)"]
        if tls12 { args.append("--tls12") }
        let server = try launch(name, try python, args, input: .null)
        try server.waitForListening(port: port)
        return server
    }

    /// What tlslite_server.py printed, one entry per connection.
    func tlsliteServerReports(_ server: PeerProcess) -> [TLSLiteServerReport] {
        server.stdoutText().split(separator: "\n").compactMap { line in
            try? JSONDecoder().decode(TLSLiteServerReport.self, from: Data(line.utf8))
        }
    }

    /// `scripts/interop-peers/py_server.py`: one connection; sends `send`, receives `expectBytes` into `<name>.received`.
    func startPythonServer(
        port: Int, identity: CertificateFixtures.Identity, send: Payload, expectBytes: Int,
        tlsCase: TLSCase? = nil, name: String = "python-server"
    ) throws -> PeerProcess {
        let name = reserveName(name)
        var args = [Locations.peersDirectory.appendingPathComponent("py_server.py").path,
                    "--port", "\(port)", "--cert", identity.certificate.path, "--key", identity.key.path,
                    "--send", send.file.path, "--expect-bytes", "\(expectBytes)",
                    "--out", file("\(name).received").path, "--tls12"]
        if let tlsCase { args += ["--ciphers", tlsCase.suite.openssl, "--curve", tlsCase.group.pythonCurve] }
        let server = try launch(name, try python, args, input: .null)
        try server.waitForListening(port: port)
        return server
    }

    /// `scripts/interop-peers/py_client.py`: sends `send`, receives `expectBytes` into `<name>.received`, then
    /// unwrap(): close_notify out and the server's close_notify back.
    func startPythonClient(
        port: Int, caFile: URL?, send: Payload, expectBytes: Int, ciphers: String? = nil,
        name: String = "python-client"
    ) throws -> PeerProcess {
        let name = reserveName(name)
        var args = [Locations.peersDirectory.appendingPathComponent("py_client.py").path,
                    "--port", "\(port)", "--send", send.file.path, "--expect-bytes", "\(expectBytes)",
                    "--out", file("\(name).received").path, "--tls12"]
        if let caFile { args += ["--cafile", caFile.path] } else { args.append("--insecure") }
        if let ciphers { args += ["--ciphers", ciphers] }
        return try launch(name, try python, args, input: .null)
    }

    func pythonReceived(_ peer: PeerProcess) -> Data {
        (try? Data(contentsOf: file("\(peer.name).received"))) ?? Data()
    }
}

/// One line of tlslite_server.py's output.
struct TLSLiteServerReport: Decodable {
    let connection: Int
    let version: String?
    let cipher: String?
    /// True when the server's flight had no Certificate (tlslite's own flag stays false in TLS 1.3).
    let resumed: Bool?
    let received: Int
    let closeNotifyReceived: Bool
    let error: String?
    let sentMessages: [String]?

    enum CodingKeys: String, CodingKey {
        case connection, version, cipher, resumed, received, error
        case closeNotifyReceived = "close_notify_received"
        case sentMessages = "sent_messages"
    }
}
