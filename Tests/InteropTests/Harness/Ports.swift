import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Hands out TCP ports on 127.0.0.1 for interop peers (DESIGN.md §7: loopback, ports >= 61000).
///
/// Each test process starts at its own offset, `61000 + (pid % 500) * 8`, so two `swift test` runs
/// on one machine (another worktree, CI beside a developer) rarely probe the same ports; a counter
/// walks on from there, and every candidate is checked free by binding it before it is returned.
/// Ports are never reused within one process, so a server still in TIME_WAIT from an earlier test
/// cannot answer a later one.
enum PortAllocator {
    static let lowest = 61000
    static let highest = 64999  // below the kernel's usual ephemeral range's top, above 61000

    private static let lock = NSLock()
    nonisolated(unsafe) private static var counter = 0

    /// The next free port, or throws after trying every port of the range once.
    static func next() throws -> Int {
        lock.lock()
        defer { lock.unlock() }
        let span = highest - lowest + 1
        let base = Int(getpid() % 500) * 8
        for _ in 0..<span {
            let port = lowest + (base + counter) % span
            counter += 1
            if isFree(port) { return port }
        }
        throw HarnessError.portUnavailable("no free port in \(lowest)...\(highest)")
    }

    /// True when 127.0.0.1:port can be bound right now (no listener, no lingering connection).
    /// No SO_REUSEADDR on purpose: a port with sockets in TIME_WAIT counts as busy.
    static func isFree(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = loopbackAddress(port: port)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        return result == 0
    }

    /// True when some socket listens on `port` (any local address) according to /proc/net/tcp{,6}.
    /// Reading the kernel's table instead of connecting matters: a probe connection would use up
    /// `openssl s_server -naccept 1`'s only connection and leave an error in every server's log.
    static func isListening(_ port: Int) -> Bool {
        let hexPort = String(format: ":%04X", port)
        for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
            guard let text = try? String(contentsOfFile: table, encoding: .utf8) else { continue }
            for line in text.split(separator: "\n").dropFirst() {
                let fields = line.split(separator: " ", omittingEmptySubsequences: true)
                // sl local_address rem_address st ...; st 0A = LISTEN
                guard fields.count > 3, fields[3] == "0A" else { continue }
                if fields[1].hasSuffix(hexPort) { return true }
            }
        }
        return false
    }

    /// One short TCP connect to 127.0.0.1:port; true when it is accepted within `timeout`.
    /// Only for peers that tolerate an empty connection (see `isListening` for why it is not the default).
    static func acceptsConnections(_ port: Int, timeout: TimeInterval = 0.2) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        var address = loopbackAddress(port: port)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        if result == 0 { return true }
        guard errno == EINPROGRESS else { return false }
        var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        guard poll(&pfd, 1, Int32(timeout * 1000)) == 1 else { return false }
        var error: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
        return error == 0
    }

    static func loopbackAddress(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr = in_addr(s_addr: UInt32(0x7F00_0001).bigEndian)
        return address
    }
}
