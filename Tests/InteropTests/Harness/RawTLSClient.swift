import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

#if canImport(Glibc)
private let systemSend = Glibc.send
private let noSignal = Int32(MSG_NOSIGNAL)
#else
private let systemSend = Darwin.send
private let noSignal: Int32 = 0
#endif

/// A plain TCP client for feeding a TLS server bytes no TLS library would send (garbage, truncated
/// messages, wrong versions, oversized records) and reading what it answers before it closes.
enum RawTLSClient {
    struct Answer: CustomStringConvertible {
        /// Everything the server sent before closing (or before the timeout).
        let bytes: [UInt8]
        /// True when the server closed the connection (EOF or reset) within the timeout.
        let closed: Bool

        /// The first record, if it is an alert: (level, description).
        var alert: (level: UInt8, description: UInt8)? {
            guard bytes.count >= 7, bytes[0] == 0x15, bytes[3] == 0x00, bytes[4] == 0x02 else { return nil }
            return (bytes[5], bytes[6])
        }

        var hex: String { bytes.prefix(64).map { String(format: "%02x", $0) }.joined() + (bytes.count > 64 ? "…" : "") }

        var description: String {
            "\(bytes.count) B [\(hex)], \(closed ? "closed" : "still open")"
        }
    }

    /// Connects to 127.0.0.1:port, sends `bytes`, and reads until the server closes or `timeout`.
    static func send(_ bytes: [UInt8], port: Int, timeout: TimeInterval = 10) throws -> Answer {
        signal(SIGPIPE, SIG_IGN)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw HarnessError.launchFailed("socket: errno \(errno)") }
        defer { close(fd) }
        var address = PortAllocator.loopbackAddress(port: port)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { throw HarnessError.launchFailed("connect 127.0.0.1:\(port): errno \(errno)") }
        var tv = timeval(tv_sec: 1, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))

        // The server may answer and close before we finished sending (an oversized record is
        // refused on its header): a failed send is fine, what it answered is the point.
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { systemSend(fd, $0.baseAddress! + offset, bytes.count - offset, noSignal) }
            if n <= 0 { break }
            offset += n
        }

        var received: [UInt8] = []
        var closed = false
        let deadline = Date().addingTimeInterval(timeout)
        var buffer = [UInt8](repeating: 0, count: 4096)
        while Date() < deadline {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let remaining = Int32(max(1, deadline.timeIntervalSinceNow * 1000))
            guard poll(&pfd, 1, min(remaining, 100)) >= 0 else { break }
            if pfd.revents == 0 { continue }
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 {
                received += buffer[0..<n]
            } else {
                closed = true  // 0 = EOF; < 0 = ECONNRESET, also a close
                break
            }
        }
        return Answer(bytes: received, closed: closed)
    }

    // MARK: Hand-made records (RFC 5246 §6.2.1, §7.4.1.2)

    /// A TLS record: type, legacy version, 16-bit length, fragment. `length` overrides the real length.
    static func record(type: UInt8, version: UInt16 = 0x0303, fragment: [UInt8], length: Int? = nil) -> [UInt8] {
        let len = length ?? fragment.count
        return [type, UInt8(version >> 8), UInt8(version & 0xFF), UInt8(len >> 8 & 0xFF), UInt8(len & 0xFF)] + fragment
    }

    /// A minimal TLS 1.2 ClientHello body: version, random, empty session id, the given suites,
    /// null compression, and the extensions a TLS 1.2 ECDHE server needs.
    static func clientHelloBody(version: UInt16 = 0x0303, suites: [UInt16] = [0xC02B, 0xC02F]) -> [UInt8] {
        var body: [UInt8] = [UInt8(version >> 8), UInt8(version & 0xFF)]
        body += (0..<32).map { _ in UInt8.random(in: 0...255) }
        body += [0x00]  // session_id<0..32>
        body += u16(suites.count * 2) + suites.flatMap { u16(Int($0)) }
        body += [0x01, 0x00]  // compression_methods<1..2^8-1>: null
        var extensions: [UInt8] = []
        // supported_groups (RFC 8422 §5.1.1): x25519, secp256r1, secp384r1
        extensions += u16(0x000A) + u16(8) + u16(6) + u16(0x001D) + u16(0x0017) + u16(0x0018)
        // ec_point_formats: uncompressed
        extensions += u16(0x000B) + u16(2) + [0x01, 0x00]
        // signature_algorithms (RFC 5246 §7.4.1.4.1): ecdsa_secp256r1_sha256, rsa_pss_rsae_sha256, rsa_pkcs1_sha256
        extensions += u16(0x000D) + u16(8) + u16(6) + u16(0x0403) + u16(0x0804) + u16(0x0401)
        // renegotiation_info (RFC 5746): empty
        extensions += u16(0xFF01) + u16(1) + [0x00]
        body += u16(extensions.count) + extensions
        return body
    }

    /// A handshake message: type, 24-bit length, body.
    static func handshake(type: UInt8, body: [UInt8]) -> [UInt8] {
        [type, UInt8(body.count >> 16 & 0xFF), UInt8(body.count >> 8 & 0xFF), UInt8(body.count & 0xFF)] + body
    }

    /// A complete, well-formed ClientHello record (for checking the server is alive and sane).
    static func clientHelloRecord(version: UInt16 = 0x0303) -> [UInt8] {
        record(type: 0x16, version: 0x0301, fragment: handshake(type: 0x01, body: clientHelloBody(version: version)))
    }

    static func u16(_ value: Int) -> [UInt8] { [UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)] }

    /// The malformed inputs of the bad-input tests, with the alert RFC 5246 / RFC 8446 call for
    /// (nil: any fatal alert will do).
    struct BadInput {
        let name: String
        let bytes: [UInt8]
        let expectedAlert: UInt8?
    }

    static var badInputs: [BadInput] {
        let hello = clientHelloBody()
        // Cut inside the cipher suites: the handshake and record lengths match what is sent,
        // so the server has the whole (too short) message: decode_error (RFC 8446 §6.2).
        let cut = Array(hello.prefix(40))
        return [
            BadInput(name: "garbage", bytes: Array("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n".utf8), expectedAlert: nil),
            BadInput(name: "application data before the handshake",
                     bytes: record(type: 0x17, fragment: (0..<32).map { _ in UInt8.random(in: 0...255) }),
                     expectedAlert: 10),  // unexpected_message
            BadInput(name: "truncated ClientHello",
                     bytes: record(type: 0x16, version: 0x0301, fragment: handshake(type: 0x01, body: cut)),
                     expectedAlert: 50),  // decode_error
            BadInput(name: "SSL 3.0 ClientHello",
                     bytes: record(type: 0x16, version: 0x0300, fragment: handshake(type: 0x01, body: clientHelloBody(version: 0x0300))),
                     expectedAlert: 70),  // protocol_version (RFC 5246 Appendix E.1)
            BadInput(name: "oversized record",
                     bytes: record(type: 0x16, version: 0x0301, fragment: [UInt8](repeating: 0, count: 512), length: 0x4801),
                     expectedAlert: 22),  // record_overflow (RFC 5246 §6.2.1: length > 2^14)
        ]
    }
}
