import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// nginx (nginx-light) as a TLS 1.2 server with session tickets under `ssl_session_ticket_key`
/// files, everything (config, pid, logs, temp paths) in the test's folder:
/// `nginx -c CONF -p DIR -e ERRORLOG -g 'daemon off;'` runs as a `PeerProcess` (the master), and
/// `reload(ticketKeys:)` rewrites the key list, sends SIGHUP to the master and waits until every
/// worker has been replaced, so the next connection meets the new keys.
///
/// nginx's key files (ngx_event_openssl.c): 48 bytes = name(16) aes(16) hmac(16), 80 bytes =
/// name(16) hmac(32) aes(32). The first listed key encrypts, all decrypt, and a ticket decrypted
/// by any but the first is renewed in the abbreviated handshake (the callback returns 2).
struct NginxServer {
    let process: PeerProcess
    let directory: URL
    let configuration: URL
    let keysInclude: URL
    let errorLog: URL
    let port: Int

    var masterPID: Int32 { process.pid }

    /// The master's live children (its workers), from /proc.
    var workerPIDs: Set<Int32> { NginxServer.children(of: masterPID) }

    var errorLogTail: String {
        PeerProcess.printableTail((try? Data(contentsOf: errorLog)) ?? Data(), limit: 2000)
    }

    /// Writes `ssl_session_ticket_key` lines for `keys`, in order (the first encrypts).
    static func writeKeys(_ keys: [URL], to include: URL) throws {
        let text = keys.map { "ssl_session_ticket_key \($0.path);\n" }.joined()
        try text.write(to: include, atomically: true, encoding: .utf8)
    }

    /// New key list, SIGHUP, then wait until no worker from before is left and a new one runs.
    func reload(ticketKeys: [URL], timeout: TimeInterval = 15) throws {
        try NginxServer.writeKeys(ticketKeys, to: keysInclude)
        let before = workerPIDs
        guard !before.isEmpty else {
            throw HarnessError.mismatch("nginx has no worker before the reload\n\(process.diagnostics)\nerror.log: \(errorLogTail)")
        }
        guard kill(masterPID, SIGHUP) == 0 else {
            throw HarnessError.launchFailed("kill(\(masterPID), SIGHUP): errno \(errno)")
        }
        do {
            try process.waitUntil("reload (workers \(before.sorted()) replaced)", timeout: timeout) {
                let now = workerPIDs
                return !now.isEmpty && now.isDisjoint(with: before)
            }
        } catch {
            throw HarnessError.timeout("\(error)\nerror.log: \(errorLogTail)")
        }
        guard PortAllocator.isListening(port) else {
            throw HarnessError.mismatch("nginx stopped listening on \(port) after the reload\nerror.log: \(errorLogTail)")
        }
    }

    /// Processes whose parent is `pid` and that are not zombies (/proc/N/stat: `N (comm) S PPID ...`).
    static func children(of pid: Int32) -> Set<Int32> {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        var result: Set<Int32> = []
        for entry in entries {
            guard let child = Int32(entry),
                  let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")")
            else { continue }
            let rest = stat[stat.index(after: close)...].split(separator: " ")
            guard rest.count > 1, rest[0] != "Z", Int32(rest[1]) == pid else { continue }
            result.insert(child)
        }
        return result
    }
}

extension InteropTestCase {
    /// 80 random bytes: an nginx ticket key file (name(16) hmac(32) aes(32), AES-256).
    func makeNginxTicketKey(_ name: String) throws -> (file: URL, keyName: [UInt8]) {
        var bytes = [UInt8](repeating: 0, count: 80)
        for i in bytes.indices { bytes[i] = UInt8.random(in: 0...255) }
        let url = file(name)
        try Data(bytes).write(to: url)
        return (url, Array(bytes.prefix(16)))
    }

    /// Starts nginx on 127.0.0.1:port serving `location / { return 200 "ok\n"; }` over TLS 1.2
    /// (or `protocols`, nginx's `ssl_protocols` value) with tickets under `ticketKeys` (first
    /// encrypts) and no session cache, and waits until it listens.
    func startNginx(
        port: Int, identity: CertificateFixtures.Identity, ticketKeys: [URL], protocols: String = "TLSv1.2", name: String = "nginx"
    ) throws -> NginxServer {
        let nginx = try Locations.requireTool("nginx", package: "nginx-light")
        let name = reserveName(name)
        let dir = workDirectory.appendingPathComponent(name)
        let temp = dir.appendingPathComponent("temp")
        try FileManager.default.createDirectory(at: temp, withIntermediateDirectories: true)
        let conf = dir.appendingPathComponent("nginx.conf")
        let keys = dir.appendingPathComponent("ticket-keys.conf")
        let errorLog = dir.appendingPathComponent("error.log")
        try NginxServer.writeKeys(ticketKeys, to: keys)
        let config = """
            worker_processes 1;
            pid \(dir.appendingPathComponent("nginx.pid").path);
            error_log \(errorLog.path) notice;
            events { worker_connections 64; }
            http {
                access_log \(dir.appendingPathComponent("access.log").path);
                client_body_temp_path \(temp.path)/client_body;
                proxy_temp_path \(temp.path)/proxy;
                fastcgi_temp_path \(temp.path)/fastcgi;
                uwsgi_temp_path \(temp.path)/uwsgi;
                scgi_temp_path \(temp.path)/scgi;
                server {
                    listen 127.0.0.1:\(port) ssl;
                    server_name localhost;
                    ssl_certificate \(identity.certificate.path);
                    ssl_certificate_key \(identity.key.path);
                    ssl_protocols \(protocols);
                    ssl_session_tickets on;
                    ssl_session_cache off;
                    ssl_session_timeout 5m;
                    include \(keys.path);
                    location / { return 200 "ok\\n"; }
                }
            }

            """
        try config.write(to: conf, atomically: true, encoding: .utf8)
        let process = try launch(
            name, nginx, ["-c", conf.path, "-p", dir.path + "/", "-e", errorLog.path, "-g", "daemon off;"], input: .null)
        let server = NginxServer(process: process, directory: dir, configuration: conf, keysInclude: keys, errorLog: errorLog, port: port)
        do {
            try process.waitForListening(port: port)
            try process.waitUntil("a worker process", timeout: 10) { !server.workerPIDs.isEmpty }
        } catch {
            throw HarnessError.launchFailed("\(error)\nerror.log: \(server.errorLogTail)")
        }
        return server
    }
}
