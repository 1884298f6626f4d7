import Foundation
import Crypto
import NIOCore

/// The running handshake hash (RFC 5246 §7.4.9 handshake_messages, RFC 8446 §4.4.1 Transcript-Hash).
///
/// Until the cipher suite (and so the hash) is known, the raw bytes are buffered; `selectHash`
/// hashes them and switches to incremental hashing. swift-crypto's hash types are copy-on-write
/// values, so `currentHash()` finalizes a copy and the running state continues.
public struct Transcript: Sendable {
    private enum State: Sendable {
        case buffering([UInt8])
        case sha256(SHA256)
        case sha384(SHA384)
    }

    private var state: State
    /// TLS 1.2 CertificateVerify signs the handshake messages themselves (RFC 5246 §7.4.8), with
    /// the hash of the signature scheme (or none, for Ed25519), so a side that may sign or check
    /// one keeps the raw bytes too, until it knows.
    private var retained: [UInt8]?

    /// Buffers bytes until the hash is known.
    public init() {
        state = .buffering([])
    }

    public init(hash: HashAlgorithm) {
        switch hash {
        case .sha256: state = .sha256(SHA256())
        case .sha384: state = .sha384(SHA384())
        }
    }

    /// Appends a handshake message including its 4-byte header.
    public mutating func append(_ bytes: ByteBuffer) {
        bytes.withUnsafeReadableBytes { append(raw: $0) }
    }

    public mutating func append(bytes: [UInt8]) {
        bytes.withUnsafeBytes { append(raw: $0) }
    }

    private mutating func append(raw: UnsafeRawBufferPointer) {
        if retained != nil {
            var kept = retained ?? []
            retained = nil  // drop the reference so the append below does not copy
            kept.append(contentsOf: raw)
            retained = kept
        }
        hash(raw: raw)
    }

    private mutating func hash(raw: UnsafeRawBufferPointer) {
        switch state {
        case .buffering(var buffered):
            state = .buffering([])  // drop the reference so the append below does not copy
            buffered.append(contentsOf: raw)
            state = .buffering(buffered)
        case .sha256(var hasher):
            // swift-crypto's hash state is copy-on-write: drop the enum's reference first, or
            // every update would copy the whole context.
            state = .buffering([])
            hasher.update(bufferPointer: raw)
            state = .sha256(hasher)
        case .sha384(var hasher):
            state = .buffering([])
            hasher.update(bufferPointer: raw)
            state = .sha384(hasher)
        }
    }

    /// Hashes what was buffered, then continues incrementally. Once a hash is selected the raw
    /// bytes are gone, so any later call is a no-op.
    public mutating func selectHash(_ hash: HashAlgorithm) {
        guard case .buffering(let buffered) = state else { return }
        let kept = retained
        self = Transcript(hash: hash)
        buffered.withUnsafeBytes { self.hash(raw: $0) }
        retained = kept
    }

    /// From now on, keep the raw messages as well (RFC 5246 §7.4.8). Before `selectHash` the
    /// bytes buffered so far are kept too; afterwards only what is appended from now on.
    public mutating func retainMessages() {
        guard retained == nil else { return }
        retained = bufferedBytes
    }

    /// Stop keeping raw messages and free them.
    public mutating func stopRetaining() {
        retained = nil
    }

    /// The raw messages kept since `retainMessages()`; nil when not retaining.
    public var retainedMessages: [UInt8]? { retained }

    public var hashAlgorithm: HashAlgorithm? {
        switch state {
        case .buffering: return nil
        case .sha256: return .sha256
        case .sha384: return .sha384
        }
    }

    /// The hash of everything appended so far; non-destructive. Empty before a hash is selected.
    public func currentHash() -> [UInt8] {
        switch state {
        case .buffering: return []
        case .sha256(let hasher): return hasher.finalize().byteArray
        case .sha384(let hasher): return hasher.finalize().byteArray
        }
    }

    /// The raw bytes so far; only kept until `selectHash` (afterwards empty).
    public var bufferedBytes: [UInt8] {
        if case .buffering(let buffered) = state { return buffered }
        return []
    }

    /// RFC 8446 §4.4.1: after a HelloRetryRequest the transcript so far (ClientHello1) is replaced by
    /// the synthetic `message_hash` handshake message: 0xFE, 00 00 Hash.length, Hash(ClientHello1).
    /// Call it after `selectHash` and before appending the HelloRetryRequest. No-op without a hash.
    public mutating func replaceWithMessageHash() {
        guard let hash = hashAlgorithm else { return }
        let digest = currentHash()
        self = Transcript(hash: hash)  // TLS 1.3 only: nothing is retained across a HelloRetryRequest
        append(bytes: [0xFE, 0x00, 0x00, UInt8(truncatingIfNeeded: digest.count)] + digest)
    }
}
