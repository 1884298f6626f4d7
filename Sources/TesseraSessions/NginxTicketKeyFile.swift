#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import TesseraCrypto

/// nginx's `ssl_session_ticket_key` files (ngx_ssl_session_ticket_keys), raw bytes with no header:
///
/// | size | layout | cipher |
/// |---|---|---|
/// | 48 | name(16) \| AES key(16) \| HMAC secret(16) | AES-128-CBC |
/// | 80 | name(16) \| HMAC secret(32) \| AES key(32) | AES-256-CBC |
///
/// Note the 80-byte layout puts the HMAC secret first; HAProxy's key files order bytes differently,
/// so this type names the format it reads and never guesses (DESIGN.md §5). Create one with
/// `openssl rand 80 > ticket.key` or `generate(size:)`.
public enum NginxTicketKeyFile {
    /// nginx refuses larger files; reading stops just past this to say so without slurping a device.
    static let largestSize = 80

    /// Reads and parses a key file. Errors say what is wrong: missing, unreadable, or the wrong size
    /// (with the size found).
    public static func load(path: String) throws(SessionError) -> TicketKey {
        let bytes: [UInt8]
        do {
            let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
            defer { try? handle.close() }
            let data = try handle.read(upToCount: largestSize + 1) ?? Data()
            bytes = [UInt8](data)
        } catch {
            let reason = FileManager.default.fileExists(atPath: path) ? "cannot be read" : "does not exist"
            throw SessionError(.missingField, "nginx ticket key file \(path) \(reason)")
        }
        do {
            return try parse(bytes)
        } catch {
            if bytes.count > largestSize {
                let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue
                let described = size.map { "\($0) bytes" } ?? "more than \(largestSize) bytes"
                throw SessionError(.invalidField, "nginx ticket key file \(path) is \(described); it must be 48 or 80 bytes")
            }
            throw SessionError(error.code, "nginx ticket key file \(path): \(error.message)")
        }
    }

    /// Parses the bytes of a key file.
    public static func parse(_ bytes: [UInt8]) throws(SessionError) -> TicketKey {
        let name = Array(bytes.prefix(16))
        let aesKey: [UInt8]
        let hmacKey: [UInt8]
        switch bytes.count {
        case 48:
            aesKey = Array(bytes[16..<32])
            hmacKey = Array(bytes[32..<48])
        case 80:
            hmacKey = Array(bytes[16..<48])
            aesKey = Array(bytes[48..<80])
        default:
            throw SessionError(.invalidField, "\(bytes.count) bytes; an nginx ticket key must be 48 or 80 bytes")
        }
        do {
            return try TicketKey(name: name, aesKey: aesKey, hmacKey: hmacKey)
        } catch {
            throw SessionError(.invalidField, error.message)
        }
    }

    /// Fresh random key-file bytes: 48 gives the AES-128 layout, any other size the 80-byte AES-256 one.
    public static func generate(size: Int = 80) -> [UInt8] {
        SecureRandom.bytes(size == 48 ? 48 : 80)
    }

    /// The key-file bytes for `key`: 48 bytes for AES-128 with a 16-byte HMAC key, 80 bytes for
    /// AES-256 with a 32-byte HMAC key. Other combinations have no nginx form.
    public static func encode(_ key: TicketKey) throws(SessionError) -> [UInt8] {
        switch (key.aesKey.count, key.hmacKey.count) {
        case (16, 16):
            return key.name + key.aesKey + key.hmacKey
        case (32, 32):
            return key.name + key.hmacKey + key.aesKey
        default:
            throw SessionError(
                .invalidField,
                "AES-\(key.aesKey.count * 8) with a \(key.hmacKey.count)-byte HMAC key has no nginx key-file layout"
            )
        }
    }

    /// Writes key-file bytes to `path` as `tessera ticket-key generate` does: the bytes must parse
    /// as a 48- or 80-byte key; the file is mode 0600 from the moment it exists (secrets never sit
    /// in a world-readable file), written in full and synced under a temporary name beside `path`,
    /// then renamed over it, so a server reloading at that moment reads the old key or the new
    /// one, never half of each.
    public static func write(_ bytes: [UInt8], to path: String) throws(SessionError) {
        _ = try parse(bytes)
        let temporary = path + ".tmp-" + SecureRandom.bytes(6).hexString
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw SessionError(.missingField, "cannot create \(temporary): \(String(cString: strerror(errno)))")
        }
        var failure: String?
        // umask may have cleared bits of 0600 at creation; set exactly 0600.
        if fchmod(fd, 0o600) != 0 { failure = "cannot set mode 0600" }
        var offset = 0
        while failure == nil, offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { systemWrite(fd, $0.baseAddress, $0.count) }
            if written < 0, errno == EINTR { continue }
            if written <= 0 { failure = "cannot write"; break }
            offset += written
        }
        if failure == nil, fsync(fd) != 0 { failure = "cannot sync" }
        let error = failure.map { "\($0) \(temporary): \(String(cString: strerror(errno)))" }
        close(fd)
        if error == nil, rename(temporary, path) == 0 { return }
        let message = error ?? "cannot rename \(temporary) to \(path): \(String(cString: strerror(errno)))"
        unlink(temporary)
        throw SessionError(.invalidField, message)
    }
}

/// write(2), named apart from `NginxTicketKeyFile.write(_:to:)`.
private func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer?, _ count: Int) -> Int {
    #if canImport(Glibc)
    Glibc.write(fd, buffer, count)
    #elseif canImport(Musl)
    Musl.write(fd, buffer, count)
    #else
    Darwin.write(fd, buffer, count)
    #endif
}
