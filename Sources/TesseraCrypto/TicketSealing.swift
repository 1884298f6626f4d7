import Crypto
import Foundation
import _CryptoExtras

/// One session-ticket key: the name that travels in every ticket and the two secrets behind it.
///
/// RFC 5077 §4 recommends `key_name(16) | IV(16) | encrypted_state | MAC(32)` with AES-128-CBC and
/// HMAC-SHA256; OpenSSL and nginx use exactly that layout, with AES-256 and a 32-byte HMAC key when
/// the key comes from an 80-byte nginx file. Sharing the layout lets a fleet mix nginx and Tessera
/// servers on one key file (DESIGN.md §4).
public struct TicketKey: Sendable, Hashable, CustomStringConvertible {
    /// RFC 5077 §4 `key_name`: identifies the key, so a server can pick it without trial decryption.
    public var name: [UInt8]
    /// 16 bytes (AES-128, nginx 48-byte files) or 32 bytes (AES-256, nginx 80-byte files).
    public var aesKey: [UInt8] {
        didSet { cipherKey = SymmetricKey(data: aesKey) }
    }
    /// 16 or 32 bytes, for HMAC-SHA256.
    public var hmacKey: [UInt8] {
        didSet { macKey = HMACKey(hmacKey, hash: .sha256) }
    }

    /// The two secrets prepared once per key rather than once per ticket: every resumption opens a
    /// ticket, and keying HMAC and wrapping the AES key cost as much as the MAC over a ticket.
    fileprivate private(set) var cipherKey: SymmetricKey
    fileprivate private(set) var macKey: HMACKey

    public static let nameLength = 16

    public init(name: [UInt8], aesKey: [UInt8], hmacKey: [UInt8]) throws(CryptoError) {
        guard name.count == Self.nameLength else {
            throw CryptoError(.invalidKey, "ticket key name must be 16 bytes, got \(name.count)")
        }
        guard aesKey.count == 16 || aesKey.count == 32 else {
            throw CryptoError(.invalidKey, "ticket AES key must be 16 or 32 bytes, got \(aesKey.count)")
        }
        guard hmacKey.count == 16 || hmacKey.count == 32 else {
            throw CryptoError(.invalidKey, "ticket HMAC key must be 16 or 32 bytes, got \(hmacKey.count)")
        }
        self.init(validatedName: name, aesKey: aesKey, hmacKey: hmacKey)
    }

    /// A fresh AES-256 key with a 32-byte HMAC key and a random name (the strongest nginx layout).
    public static func generate() -> TicketKey {
        TicketKey(
            validatedName: SecureRandom.bytes(nameLength),
            aesKey: SecureRandom.bytes(32),
            hmacKey: SecureRandom.bytes(32)
        )
    }

    /// Sizes known to be right: skips the checks so `generate()` cannot fail.
    private init(validatedName: [UInt8], aesKey: [UInt8], hmacKey: [UInt8]) {
        self.name = validatedName
        self.aesKey = aesKey
        self.hmacKey = hmacKey
        self.cipherKey = SymmetricKey(data: aesKey)
        self.macKey = HMACKey(hmacKey, hash: .sha256)
    }

    /// Equal keys have equal names and secrets; the prepared forms follow from the secrets.
    public static func == (lhs: TicketKey, rhs: TicketKey) -> Bool {
        lhs.name == rhs.name && lhs.aesKey == rhs.aesKey && lhs.hmacKey == rhs.hmacKey
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(name)
        hasher.combine(aesKey)
        hasher.combine(hmacKey)
    }

    /// Only the public name, so that logging a key never leaks its secrets.
    public var description: String {
        "TicketKey(name: \(hexEncode(name)), AES-\(aesKey.count * 8))"
    }
}

/// RFC 5077 §4 ticket protection as OpenSSL and nginx lay it out:
///
/// ```
/// struct {
///     opaque key_name[16];
///     opaque iv[16];
///     opaque encrypted_state<0..2^16-1>;   // AES-CBC, PKCS#7 padding
///     opaque mac[32];                      // HMAC-SHA256 over key_name | iv | encrypted_state
/// } ticket;
/// ```
///
/// OpenSSL writes `encrypted_state` without the 2-byte length that RFC 5077's struct would imply; the
/// ticket's own length (from the NewSessionTicket / SessionTicket extension) delimits it. We do the same.
public enum TicketSealing {
    /// Tickets longer than this are rejected before any MAC or cipher work: a server state is a few
    /// hundred bytes (a client certificate adds about one kilobyte), so anything bigger is an attack
    /// or garbage. Also the ceiling for tickets we issue.
    public static let maximumTicketLength = 16 * 1024

    public static let ivLength = 16
    public static let macLength = 32
    /// key_name + IV + one AES block (PKCS#7 always pads, so an empty state is one block) + MAC.
    public static let minimumTicketLength = TicketKey.nameLength + ivLength + 16 + macLength

    /// Seals `plaintext` (an SSL_SESSION DER) under `key` with a random IV.
    ///
    /// Returns an empty ticket when the result would exceed `maximumTicketLength` or the cipher
    /// refuses the key: RFC 5077 §3.3 reads an empty ticket as "the server issued none", the safe
    /// outcome, and it keeps this non-throwing for the handshake code.
    public static func seal(_ plaintext: [UInt8], key: TicketKey) -> [UInt8] {
        let iv = SecureRandom.bytes(ivLength)
        return seal(plaintext, key: key, iv: iv)
    }

    /// `seal` with a caller-chosen IV, which must be fresh random bytes: a handshake that issues
    /// several tickets draws their IVs in one call (`SecureRandom`), and known-answer tests pass
    /// fixed ones. Reusing an IV under one key leaks whether two states share a prefix.
    public static func seal(_ plaintext: [UInt8], key: TicketKey, iv: [UInt8]) -> [UInt8] {
        guard let ticket = encrypt(plaintext, key: key, iv: iv[...]) else { return [] }
        return authenticate(ticket, key: key)
    }

    /// Several states under one key, the IVs (`ivLength` bytes each, in order, fresh random bytes as
    /// for `seal`) drawn together: a TLS 1.3 server's batch of tickets. All are encrypted first and
    /// then all authenticated, so AES-CBC and HMAC each run with their code still in the cache
    /// rather than taking turns evicting it. Element i equals `seal(plaintexts[i], key:, iv:)` with
    /// the i-th IV; an empty array where that would be empty.
    public static func seal(_ plaintexts: [[UInt8]], key: TicketKey, ivs: [UInt8]) -> [[UInt8]] {
        guard ivs.count == plaintexts.count * ivLength else { return plaintexts.map { _ in [] } }
        var tickets: [[UInt8]] = []
        tickets.reserveCapacity(plaintexts.count)
        for (index, plaintext) in plaintexts.enumerated() {
            let iv = ivs[(index * ivLength)..<((index + 1) * ivLength)]
            tickets.append(encrypt(plaintext, key: key, iv: iv) ?? [])
        }
        for index in tickets.indices where !tickets[index].isEmpty {
            var ticket: [UInt8] = []
            swap(&ticket, &tickets[index])  // the only reference, so the MAC is appended in place
            tickets[index] = authenticate(ticket, key: key)
        }
        return tickets
    }

    /// key_name | IV | AES-256-CBC(state), with room for the MAC; nil if the IV is not 16 bytes or
    /// encryption fails.
    private static func encrypt(_ plaintext: [UInt8], key: TicketKey, iv: ArraySlice<UInt8>) -> [UInt8]? {
        guard iv.count == ivLength else { return nil }
        // PKCS#7 (RFC 5652 §6.3): 1 to 16 bytes, each the pad length. Padded here, in one array
        // of the final size, because swift-crypto's padding path copies the plaintext into a Data
        // and appends the pad through generic code: a third of the cost of encrypting a ticket.
        let padLength = 16 - plaintext.count % 16
        let padded = [UInt8](unsafeUninitializedCapacity: plaintext.count + padLength) { buffer, initialized in
            let raw = UnsafeMutableRawBufferPointer(buffer)
            raw.copyBytes(from: plaintext)
            UnsafeMutableRawBufferPointer(rebasing: raw[plaintext.count...]).initializeMemory(as: UInt8.self, repeating: UInt8(padLength))
            initialized = plaintext.count + padLength
        }
        let ciphertext: Data
        do {
            ciphertext = try AES._CBC.encrypt(padded, using: key.cipherKey, iv: AES._CBC.IV(ivBytes: iv), noPadding: true)
        } catch {
            return nil
        }
        // Written with copies of raw bytes, the MAC's room reserved: appending a `Data` and the
        // slices went through generic collection code, about as much as the copies themselves.
        let nameLength = key.name.count
        let headerLength = nameLength + ivLength
        return [UInt8](unsafeUninitializedCapacity: headerLength + ciphertext.count + macLength) { buffer, initialized in
            let raw = UnsafeMutableRawBufferPointer(buffer)
            raw.copyBytes(from: key.name)
            iv.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: raw[nameLength...]).copyMemory(from: $0) }
            ciphertext.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: raw[headerLength...]).copyMemory(from: $0) }
            initialized = headerLength + ciphertext.count
        }
    }

    /// Appends HMAC-SHA256 over everything before it (RFC 5077 §4); empty if the result is longer
    /// than a ticket may be.
    private static func authenticate(_ ticket: consuming [UInt8], key: TicketKey) -> [UInt8] {
        var ticket = ticket
        ticket.append(contentsOf: key.macKey.mac(ticket))
        guard ticket.count <= maximumTicketLength else { return [] }
        return ticket
    }

    /// The key name a ticket claims, to pick the key (OpenSSL's ticket-key callback gets the same).
    /// nil when the ticket is too short to be one of ours or too long to be read.
    public static func keyName(of ticket: [UInt8]) -> [UInt8]? {
        guard ticket.count >= minimumTicketLength, ticket.count <= maximumTicketLength else { return nil }
        return Array(ticket.prefix(TicketKey.nameLength))
    }

    /// Opens a ticket sealed by `seal`, nginx or OpenSSL.
    ///
    /// Order matters: the size and key name are checked first (cheap, public), then the MAC in
    /// constant time, and only a ticket whose MAC verifies reaches AES-CBC, so padding errors can
    /// never be turned into an oracle (RFC 5077 §4: the MAC covers everything before it).
    ///
    /// Errors: `.badRecordMAC` for a ticket of impossible length, a wrong MAC or (after a good MAC)
    /// bad padding; `.invalidKey` when the ticket names another key.
    public static func open(_ ticket: [UInt8], key: TicketKey) throws(CryptoError) -> [UInt8] {
        guard ticket.count <= maximumTicketLength else {
            throw CryptoError(.badRecordMAC, "ticket of \(ticket.count) bytes exceeds the \(maximumTicketLength)-byte limit")
        }
        guard ticket.count >= minimumTicketLength else {
            throw CryptoError(.badRecordMAC, "ticket of \(ticket.count) bytes is shorter than the \(minimumTicketLength)-byte minimum")
        }
        let nameEnd = TicketKey.nameLength
        let ivEnd = nameEnd + ivLength
        let macStart = ticket.count - macLength
        guard ticket[0..<nameEnd].elementsEqual(key.name) else {
            throw CryptoError(.invalidKey, "ticket names a different key")
        }

        // RFC 5077 §4: verify the MAC over key_name | IV | encrypted_state before decrypting.
        let macMatches = ticket.withUnsafeBytes { bytes in
            let expected = key.macKey.mac(UnsafeRawBufferPointer(rebasing: bytes[0..<macStart]))
            return constantTimeEquals(expected, UnsafeRawBufferPointer(rebasing: bytes[macStart...]))
        }
        guard macMatches else {
            throw CryptoError(.badRecordMAC, "ticket MAC does not verify")
        }

        // Only a key holder can get here, so a malformed length or padding is a bug on their side,
        // not an oracle: the padding is checked here after AES-CBC without padding, rather than by
        // swift-crypto's generic constant-time removal over `Data` (a fifth of a ticket's opening).
        let ciphertextCount = macStart - ivEnd
        guard ciphertextCount % 16 == 0 else {
            throw CryptoError(.badRecordMAC, "ticket ciphertext of \(ciphertextCount) bytes is not whole AES blocks")
        }
        let padded: Data
        do {
            padded = try ticket.withUnsafeBytes { bytes in
                try AES._CBC.decrypt(
                    UnsafeRawBufferPointer(rebasing: bytes[ivEnd..<macStart]), using: key.cipherKey,
                    iv: AES._CBC.IV(ivBytes: UnsafeRawBufferPointer(rebasing: bytes[nameEnd..<ivEnd])), noPadding: true)
            }
        } catch {
            throw CryptoError(.badRecordMAC, "ticket cannot be decrypted")
        }
        guard let plaintext = padded.withUnsafeBytes({ Self.removingPadding($0) }) else {
            throw CryptoError(.badRecordMAC, "ticket padding is invalid")
        }
        return plaintext
    }

    /// The plaintext before its PKCS#7 padding (RFC 5652 §6.3: 1 to 16 bytes, each the pad's
    /// length), nil if the padding is not that. Every one of the last 16 bytes is looked at.
    static func removingPadding(_ padded: UnsafeRawBufferPointer) -> [UInt8]? {
        guard padded.count >= 16, padded.count % 16 == 0, let last = padded.last else { return nil }
        let padLength = Int(last)
        var invalid: UInt8 = padLength == 0 || padLength > 16 ? 1 : 0
        for offset in 1...16 where offset <= padLength {
            invalid |= padded[padded.count - offset] ^ last
        }
        guard invalid == 0 else { return nil }
        return Array(UnsafeRawBufferPointer(rebasing: padded[0..<(padded.count - padLength)]))
    }
}
