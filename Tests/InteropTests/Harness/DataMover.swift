import Foundation

/// Moves application data through a TLS connection between two peers and checks it arrived whole:
/// the interop requirement "each interop moves 1 MiB of application data both ways and closes
/// with close_notify".
///
/// The client always closes, after it has received everything: openssl's `s_server` never starts a
/// close on its own (at stdin EOF it drops the socket without close_notify), so a server-initiated
/// close could not be checked the same way with every peer. Per peer kind:
///
/// | peer | sends | receives | closes / close_notify evidence |
/// |---|---|---|---|
/// | stdio (openssl, gnutls-cli, tessera) | its stdin pipe | its stdout file | client: `closeStdin()` -> close_notify; trace or exit status |
/// | Python | `--send` file | `--out` file | JSON `close_notify_received/sent` (strict: ragged EOF is an error) |
/// | gnutls-serv --echo | echoes | — | no "non-properly terminated" in its output |
/// | curl | `--data-binary @file` (POST) | `-o file` | HTTP exchange over a stdio server, see `httpExchange` |
enum DataMover {
    enum Side {
        /// A peer that sends its stdin and prints what it receives on stdout.
        case stdio(PeerProcess, ReceivedStream)
        /// A peer that moves data by itself (Python peers, gnutls-serv --echo); checked afterwards.
        case selfDriven(PeerProcess)

        var peer: PeerProcess {
            switch self {
            case .stdio(let p, _), .selfDriven(let p): return p
            }
        }
    }

    struct Outcome {
        /// The client's exit status (it closed first and has exited).
        let clientStatus: Int32
        /// The server's exit status, or nil when it keeps serving (gnutls-serv, tessera s_server).
        let serverStatus: Int32?
    }

    /// Runs one exchange: the client sends `toServer`; once a stdio server has received it, the server
    /// sends `toClient`; once each stdio side has received its payload, the client's stdin is closed so it sends close_notify; then
    /// both exits are awaited and the received data verified.
    ///
    /// - `serverExits`: the server ends after this connection (`s_server -naccept 1`, py_server.py)
    ///   and its exit status is returned; otherwise it is left running for the test's tearDown.
    @discardableResult
    static func exchange(
        server: Side, client: Side, toServer: Payload, toClient: Payload,
        serverExits: Bool, timeout: TimeInterval = 60
    ) throws -> Outcome {
        if case .stdio(let c, _) = client { c.write(toServer.data) }
        if case .stdio(let s, let mode) = server {
            // The server's payload goes in only once the client's has arrived, so the handshake is
            // over by then. openssl s_server drives a handshake from whichever side is readable
            // first; when stdin wins (SSL_write finishes the handshake), it skips the `-brief`
            // summary, and the report then lacks its Ciphersuite line (seen in CI under load).
            try s.waitUntil("server received \(toServer.count) B before it sends", timeout: timeout) {
                mode.isComplete(s, toServer)
            }
            s.write(toClient.data)
        }

        if case .stdio(let c, let mode) = client {
            // Wait for both directions before closing: the client's close must not cut the upload.
            try c.waitUntil("client received \(toClient.count) B", timeout: timeout) {
                mode.isComplete(c, toClient) && serverHasReceived(server, toServer)
            }
            c.closeStdin()
        }
        let clientStatus = try client.peer.waitForExit(timeout: timeout)
        if case .stdio(let s, let mode) = server {
            // A self-driven client (Python) may finish before the server flushed its stdout.
            try? s.waitUntil("server received \(toServer.count) B", timeout: 10, failOnExit: false) {
                mode.isComplete(s, toServer)
            }
        }
        var serverStatus: Int32?
        if serverExits {
            serverStatus = try server.peer.waitForExit(timeout: 20)
        }

        if case .stdio(let c, let mode) = client {
            try mode.verify(c.stdout(), toClient, what: "\(c.name) received from the server")
        }
        if case .stdio(let s, let mode) = server {
            try mode.verify(s.stdout(), toServer, what: "\(s.name) received from the client")
        }
        return Outcome(clientStatus: clientStatus, serverStatus: serverStatus)
    }

    private static func serverHasReceived(_ server: Side, _ payload: Payload) -> Bool {
        switch server {
        case .stdio(let s, let mode): return mode.isComplete(s, payload)
        case .selfDriven: return true  // checked from its own report afterwards
        }
    }

    // MARK: HTTP over a stdio server (curl)

    /// curl POSTs `upload` to a server whose stdin/stdout we drive (openssl or tessera `s_server`
    /// without `-www`): once the server's stdout holds the whole request, an HTTP response with
    /// `download` as its body goes into the server's stdin. curl saves the body to `curlOutput`.
    /// Verifies the request body, the response body and curl's exit status 0.
    static func httpExchange(
        server: PeerProcess, curl: PeerProcess, upload: Payload, download: Payload, curlOutput: URL,
        timeout: TimeInterval = 60
    ) throws {
        var body: Data?
        try server.waitUntil("HTTP request with a \(upload.count) B body", timeout: timeout) {
            body = requestBody(in: server.stdout(), contentLength: upload.count)
            return body != nil || !curl.isRunning
        }
        guard let body else {
            throw HarnessError.mismatch("curl ended before the server saw the whole request\n\(curl.diagnostics)")
        }
        guard body == upload.data else {
            throw HarnessError.mismatch("request body: \(body.count) B, \(ReceivedStream.firstDifference(body, upload.data))")
        }
        let head = "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: \(download.count)\r\nConnection: close\r\n\r\n"
        server.write(Data(head.utf8) + download.data)
        let status = try curl.waitForExit(timeout: timeout)
        guard status == 0 else { throw HarnessError.unexpectedExit("curl exited \(status)\n\(curl.diagnostics)") }
        let received = (try? Data(contentsOf: curlOutput)) ?? Data()
        try ReceivedStream.exact.verify(received, download, what: "curl's response body")
    }

    /// The body of the first HTTP request in `output` once all `contentLength` bytes are there.
    static func requestBody(in output: Data, contentLength: Int) -> Data? {
        guard let start = output.range(of: Data("POST ".utf8)),
              let headerEnd = output.range(of: Data("\r\n\r\n".utf8), in: start.lowerBound..<output.endIndex)
        else { return nil }
        let header = String(decoding: output[start.lowerBound..<headerEnd.lowerBound], as: UTF8.self).lowercased()
        guard header.contains("content-length: \(contentLength)") else { return nil }
        let bodyStart = headerEnd.upperBound
        guard output.count - bodyStart >= contentLength else { return nil }
        return output.subdata(in: bodyStart..<(bodyStart + contentLength))
    }
}
