import Crypto
import Foundation
import TesseraCrypto

/// The key-encryption key (KEK) that every server of a fleet holds: ticket-key secrets are stored in
/// PostgreSQL only sealed under it (AES-256-GCM, the key name as additional authenticated data), so a
/// database dump alone opens no ticket (DESIGN.md §6).
///
/// The file (`-ticket_kek_file F`) holds 32 random bytes, raw, or as 64 hex digits (an optional
/// trailing newline is ignored). Make one with `head -c 32 /dev/urandom > F; chmod 600 F`.
public struct KeyEncryptionKey: Sendable {
    public static let byteCount = 32

    let key: SymmetricKey

    /// A KEK from exactly 32 bytes.
    public init(bytes: [UInt8]) throws(FleetError) {
        guard bytes.count == Self.byteCount else {
            throw FleetError.invalidKEK("a key-encryption key is \(Self.byteCount) bytes, got \(bytes.count)")
        }
        key = SymmetricKey(data: bytes)
    }

    /// A fresh random KEK (tests, tooling).
    public static func generate() -> KeyEncryptionKey {
        KeyEncryptionKey(key: SymmetricKey(size: .bits256))
    }

    private init(key: SymmetricKey) {
        self.key = key
    }

    /// Reads a KEK file: 32 raw bytes, or 64 hex digits with optional surrounding whitespace.
    /// Every failure says which file and why, never what the file contains.
    public static func load(path: String) throws(FleetError) -> KeyEncryptionKey {
        // At most a little more than the longest valid file: a wrong path (a log, /dev/zero) must
        // neither be read whole nor hang us.
        let limit = byteCount * 2 + 64
        let data: Data
        do {
            let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
            defer { try? handle.close() }
            data = try handle.read(upToCount: limit + 1) ?? Data()
        } catch {
            throw FleetError.invalidKEK("cannot read key-encryption key file \(path): \(error.localizedDescription)")
        }
        guard data.count <= limit else {
            throw FleetError.invalidKEK(
                "key-encryption key file \(path) must hold \(byteCount) raw bytes or \(byteCount * 2) hex digits; it is longer")
        }
        let bytes = [UInt8](data)
        if bytes.count == byteCount {
            return try KeyEncryptionKey(bytes: bytes)
        }
        if let decoded = Self.hexDecoded(bytes), decoded.count == byteCount {
            return try KeyEncryptionKey(bytes: decoded)
        }
        throw FleetError.invalidKEK(
            "key-encryption key file \(path) must hold \(byteCount) raw bytes or \(byteCount * 2) hex digits, it has \(bytes.count) bytes")
    }

    /// The bytes as hex digits with whitespace trimmed at both ends; nil if anything else is there.
    private static func hexDecoded(_ bytes: [UInt8]) -> [UInt8]? {
        let isSpace: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x0a || $0 == 0x0d || $0 == 0x09 }
        var slice = bytes[...]
        while let first = slice.first, isSpace(first) { slice = slice.dropFirst() }
        while let last = slice.last, isSpace(last) { slice = slice.dropLast() }
        guard slice.count % 2 == 0 else { return nil }
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case 0x30...0x39: return c - 0x30
            case 0x61...0x66: return c - 0x61 + 10
            case 0x41...0x46: return c - 0x41 + 10
            default: return nil
            }
        }
        var out = [UInt8]()
        out.reserveCapacity(slice.count / 2)
        var index = slice.startIndex
        while index < slice.endIndex {
            guard let high = nibble(slice[index]), let low = nibble(slice[index + 1]) else { return nil }
            out.append(high << 4 | low)
            index += 2
        }
        return out
    }
}

/// How a ticket key's secrets are stored: `version(1) | nonce(12) | ciphertext | tag(16)`, AES-256-GCM
/// under the KEK with the 16-byte key name as AAD, so a sealed blob moved to another name's row does
/// not open. The plaintext is `aesKeyLength(1) | aesKey | hmacKey`.
public enum TicketKeySealing {
    static let version: UInt8 = 1
    static let nonceLength = 12
    static let tagLength = 16

    /// Seals the secrets of `key` (never its name: that is stored in the clear, it travels in every ticket).
    public static func seal(_ key: TicketKey, under kek: KeyEncryptionKey) throws(FleetError) -> [UInt8] {
        var plaintext = [UInt8]()
        plaintext.reserveCapacity(1 + key.aesKey.count + key.hmacKey.count)
        plaintext.append(UInt8(truncatingIfNeeded: key.aesKey.count))
        plaintext.append(contentsOf: key.aesKey)
        plaintext.append(contentsOf: key.hmacKey)
        defer { wipe(&plaintext) }
        do {
            let box = try AES.GCM.seal(plaintext, using: kek.key, authenticating: key.name)
            var sealed: [UInt8] = [version]
            sealed.append(contentsOf: box.nonce.withUnsafeBytes { Array($0) })
            sealed.append(contentsOf: box.ciphertext)
            sealed.append(contentsOf: box.tag)
            return sealed
        } catch {
            throw FleetError.sealing("cannot seal ticket key \(shortName(key.name)): \(error)")
        }
    }

    /// Opens what `seal` made for the key called `name`. Throws (never traps) on anything else:
    /// another KEK, another name, a truncated or altered blob, or secrets of the wrong size.
    public static func open(_ sealed: [UInt8], name: [UInt8], under kek: KeyEncryptionKey) throws(FleetError) -> TicketKey {
        guard name.count == TicketKey.nameLength else {
            throw FleetError.sealing("ticket key name of \(name.count) bytes, expected \(TicketKey.nameLength)")
        }
        guard sealed.count >= 1 + nonceLength + tagLength, sealed[0] == version else {
            throw FleetError.sealing("ticket key \(shortName(name)): sealed secrets are malformed (\(sealed.count) bytes)")
        }
        var plaintext: [UInt8]
        do {
            let nonceEnd = 1 + nonceLength
            let tagStart = sealed.count - tagLength
            let box = try AES.GCM.SealedBox(
                nonce: AES.GCM.Nonce(data: sealed[1..<nonceEnd]),
                ciphertext: sealed[nonceEnd..<tagStart],
                tag: sealed[tagStart...]
            )
            plaintext = try [UInt8](AES.GCM.open(box, using: kek.key, authenticating: name))
        } catch {
            throw FleetError.sealing(
                "ticket key \(shortName(name)) does not open under this key-encryption key (another -ticket_kek_file, or the row was altered)")
        }
        defer { wipe(&plaintext) }
        guard let aesCount = plaintext.first.map(Int.init), plaintext.count > 1 + aesCount else {
            throw FleetError.sealing("ticket key \(shortName(name)): opened secrets are malformed")
        }
        let aesKey = Array(plaintext[1..<(1 + aesCount)])
        let hmacKey = Array(plaintext[(1 + aesCount)...])
        do {
            return try TicketKey(name: name, aesKey: aesKey, hmacKey: hmacKey)
        } catch {
            throw FleetError.sealing("ticket key \(shortName(name)): \(error)")
        }
    }

    private static func wipe(_ bytes: inout [UInt8]) {
        for index in bytes.indices { bytes[index] = 0 }
    }
}

/// The first 8 hex digits of a key name: enough to tell keys apart in logs. Names are public (they
/// lead every ticket); secrets are never logged.
func shortName(_ name: [UInt8]) -> String {
    name.prefix(4).map { byte in
        let hex = String(byte, radix: 16)
        return byte < 16 ? "0" + hex : hex
    }.joined()
}
