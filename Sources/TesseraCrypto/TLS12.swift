import Foundation
import Crypto

/// TLS 1.2 key derivation: the PRF (RFC 5246 §5), master secret (§8.1), extended master secret
/// (RFC 7627 §4), key block (§6.3) and Finished verify_data (§7.4.9).
public enum TLS12: Sendable {
    /// "client finished" / "server finished" (RFC 5246 §7.4.9).
    public enum Sender: Sendable {
        case client, server
    }

    /// RFC 5246 §5: PRF(secret, label, seed) = P_<hash>(secret, label + seed).
    public static func prf(secret: [UInt8], label: String, seed: [UInt8], length: Int, hash: HashAlgorithm) -> [UInt8] {
        prf(secret: HMACKey(secret, hash: hash), label: label, seed: seed, length: length)
    }

    /// The PRF with its secret keyed once (`HMACKey`), for secrets used more than once.
    public static func prf(secret: HMACKey, label: String, seed: [UInt8], length: Int) -> [UInt8] {
        pHash(secret, label: label, seed: seed, length: length)
    }

    /// RFC 5246 §8.1: master_secret = PRF(pre_master_secret, "master secret",
    /// ClientHello.random + ServerHello.random)[0..47].
    public static func masterSecret(
        preMasterSecret: [UInt8], clientRandom: [UInt8], serverRandom: [UInt8], hash: HashAlgorithm
    ) -> [UInt8] {
        prf(secret: preMasterSecret, label: "master secret", seed: clientRandom + serverRandom, length: 48, hash: hash)
    }

    /// RFC 7627 §4: master_secret = PRF(pre_master_secret, "extended master secret", session_hash)[0..47],
    /// where session_hash is the transcript hash up to and including ClientKeyExchange.
    public static func extendedMasterSecret(preMasterSecret: [UInt8], sessionHash: [UInt8], hash: HashAlgorithm) -> [UInt8] {
        prf(secret: preMasterSecret, label: "extended master secret", seed: sessionHash, length: 48, hash: hash)
    }

    /// RFC 5246 §7.4.9: verify_data = PRF(master_secret, finished_label, Hash(handshake_messages))
    /// [0..verify_data_length-1], verify_data_length = 12 for every suite we implement.
    public static func verifyData(masterSecret: [UInt8], sender: Sender, handshakeHash: [UInt8], hash: HashAlgorithm) -> [UInt8] {
        verifyData(masterSecret: HMACKey(masterSecret, hash: hash), sender: sender, handshakeHash: handshakeHash)
    }

    /// `verifyData` with the master secret already keyed for the suite's PRF hash: a connection keys
    /// it once for its key block and both Finished messages.
    public static func verifyData(masterSecret: HMACKey, sender: Sender, handshakeHash: [UInt8]) -> [UInt8] {
        let label: String
        switch sender {
        case .client: label = "client finished"
        case .server: label = "server finished"
        }
        return prf(secret: masterSecret, label: label, seed: handshakeHash, length: 12)
    }

    /// RFC 5246 §5: P_hash(secret, seed) = HMAC_hash(secret, A(1) + seed) + HMAC_hash(secret, A(2) + seed) + ...
    /// with A(0) = seed, A(i) = HMAC_hash(secret, A(i-1)); here seed = label + seed. The secret is
    /// keyed once (`HMACKey`). Each HMAC input is written on the stack and each block goes straight
    /// into the output: the output and A(i) are the only allocations.
    static func pHash(_ secret: HMACKey, label: String, seed: [UInt8], length: Int) -> [UInt8] {
        guard length > 0 else { return [] }
        let hashLength = secret.hash.outputLength
        let seedLength = label.utf8.count + seed.count
        // Writes label + seed at `offset`. (No closure here captures `secret`: that would copy it.)
        func writeSeed(_ bytes: UnsafeMutableRawBufferPointer, at offset: Int) {
            var index = offset
            let copied: Int? = label.utf8.withContiguousStorageIfAvailable { utf8 in
                UnsafeMutableRawBufferPointer(rebasing: bytes[index..<(index + utf8.count)]).copyMemory(from: UnsafeRawBufferPointer(utf8))
                return utf8.count
            }
            if let copied {
                index += copied
            } else {
                for byte in label.utf8 {
                    bytes[index] = byte
                    index += 1
                }
            }
            seed.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: bytes[index...]).copyMemory(from: $0) }
        }
        // A(1) = HMAC(secret, A(0)).
        var a = secret.mac(count: seedLength) { writeSeed($0, at: 0) }
        var output = [UInt8]()
        output.reserveCapacity(length + hashLength)
        while output.count < length {
            // HMAC(secret, A(i) + seed), appended as it comes.
            secret.withMAC(count: a.count + seedLength, writing: { bytes in
                a.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: bytes[..<$0.count]).copyMemory(from: $0) }
                writeSeed(bytes, at: a.count)
            }) { output.append(contentsOf: $0) }
            if output.count >= length { break }
            // A(i+1) = HMAC(secret, A(i)), over A(i)'s bytes in place.
            secret.withMAC(count: a.count, writing: { bytes in
                a.withUnsafeBytes { bytes.copyMemory(from: $0) }
            }) { mac in
                a.withUnsafeMutableBytes { $0.copyMemory(from: mac) }
            }
        }
        output.removeLast(output.count - length)
        return output
    }
}

/// The AEAD key block of a TLS 1.2 connection (RFC 5246 §6.3; AEAD suites have no MAC keys).
public struct TrafficKeys12: Sendable {
    public var clientWriteKey: [UInt8]
    public var serverWriteKey: [UInt8]
    public var clientWriteIV: [UInt8]
    public var serverWriteIV: [UInt8]

    public init(clientWriteKey: [UInt8], serverWriteKey: [UInt8], clientWriteIV: [UInt8], serverWriteIV: [UInt8]) {
        self.clientWriteKey = clientWriteKey
        self.serverWriteKey = serverWriteKey
        self.clientWriteIV = clientWriteIV
        self.serverWriteIV = serverWriteIV
    }
}
