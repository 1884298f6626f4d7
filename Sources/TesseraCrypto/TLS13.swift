import Foundation
import Crypto

/// TLS 1.3 HKDF building blocks (RFC 8446 §7.1).
public enum TLS13: Sendable {
    /// RFC 8446 §7.1: HKDF-Expand-Label(Secret, Label, Context, Length) = HKDF-Expand(Secret, HkdfLabel, Length)
    /// with HkdfLabel = uint16 length || opaque label<7..255> = "tls13 " + Label || opaque context<0..255>.
    /// `label` is given without the "tls13 " prefix (e.g. "key", "c hs traffic").
    /// A secret used for one label (a finished key, a ticket's PSK) is not keyed first: its pad
    /// states are updated in place (`HMACKey.mac(key:hash:count:writing:)`).
    public static func hkdfExpandLabel(secret: [UInt8], label: String, context: [UInt8], length: Int, hash: HashAlgorithm) -> [UInt8] {
        guard length > 0, length <= hash.outputLength else {
            return expandLabel(HMACKey(secret, hash: hash), label: label, context: context, length: length)
        }
        var label = label
        let infoCount = hkdfLabelCount(labelCount: label.utf8.count, context: context)
        var block = HMACKey.mac(key: secret, hash: hash, count: infoCount + 1) { bytes in
            writeBlockInput(into: bytes, label: &label, context: context, length: length, infoCount: infoCount)
        }
        block.removeLast(block.count - length)
        return block
    }

    /// HKDF-Expand-Label with the secret already keyed (several labels from one secret).
    public static func expandLabel(_ secret: HMACKey, label: String, context: [UInt8], length: Int) -> [UInt8] {
        guard length > 0 else { return [] }
        guard length <= secret.hash.outputLength else {
            return secret.expand(info: hkdfLabel(label: label, context: context, length: length), length: length)
        }
        // One HKDF block (every TLS 1.3 secret, key and IV), RFC 5869 §2.3: T(1) = HMAC(PRK,
        // HkdfLabel | 0x01), with the HMAC input built on the stack. `secret` is used directly,
        // not from inside a closure, which would copy it (a retain per pad state).
        var label = label
        let infoCount = hkdfLabelCount(labelCount: label.utf8.count, context: context)
        var block = secret.mac(count: infoCount + 1) { bytes in
            writeBlockInput(into: bytes, label: &label, context: context, length: length, infoCount: infoCount)
        }
        block.removeLast(block.count - length)
        return block
    }

    /// HkdfLabel | 0x01, the input of HKDF-Expand's first block, into `bytes` (`infoCount` + 1 long).
    private static func writeBlockInput(
        into bytes: UnsafeMutableRawBufferPointer, label: inout String, context: [UInt8], length: Int, infoCount: Int
    ) {
        label.withUTF8 { utf8 in writeHkdfLabel(into: bytes, label: utf8, context: context, length: length) }
        bytes[infoCount] = 1
    }

    /// RFC 8446 §7.1: Derive-Secret(Secret, Label, Messages) = HKDF-Expand-Label(Secret, Label,
    /// Transcript-Hash(Messages), Hash.length). Takes the transcript hash, not the messages.
    public static func deriveSecret(secret: [UInt8], label: String, transcriptHash: [UInt8], hash: HashAlgorithm) -> [UInt8] {
        hkdfExpandLabel(secret: secret, label: label, context: transcriptHash, length: hash.outputLength, hash: hash)
    }

    /// RFC 5869 §2.2 HKDF-Extract(salt, IKM). An empty salt is the same as Hash.length zero bytes
    /// (HMAC pads the key with zeros), which is what RFC 8446 §7.1 means by "0".
    /// HKDF-Extract is HMAC(salt, IKM) (RFC 5869 §2.2).
    public static func extract(salt: [UInt8], ikm: [UInt8], hash: HashAlgorithm) -> [UInt8] {
        HMACKey.mac(key: salt, hash: hash, ikm)
    }

    /// Transcript-Hash of no messages (the context of "derived" and of the binder keys).
    public static func emptyHash(_ hash: HashAlgorithm) -> [UInt8] {
        switch hash {
        case .sha256: return emptySHA256
        case .sha384: return emptySHA384
        }
    }

    /// RFC 8446 §7.5: TLS-Exporter(label, context_value, key_length) =
    /// HKDF-Expand-Label(Derive-Secret(Secret, label, ""), "exporter", Hash(context_value), key_length).
    public static func exporter(
        exporterMasterSecret: [UInt8], label: String, context: [UInt8], length: Int, hash: HashAlgorithm
    ) -> [UInt8] {
        let secret = deriveSecret(secret: exporterMasterSecret, label: label, transcriptHash: emptyHash(hash), hash: hash)
        return hkdfExpandLabel(secret: secret, label: "exporter", context: digest(context, hash: hash), length: length, hash: hash)
    }

    // MARK: - Internals

    private static let emptySHA256 = SHA256.hash(data: [UInt8]()).byteArray
    private static let emptySHA384 = SHA384.hash(data: [UInt8]()).byteArray

    /// The encoded HkdfLabel structure (RFC 8446 §7.1). Labels and contexts we build are far below
    /// 255 bytes; longer ones are truncated to stay encodable rather than trap.
    static func hkdfLabel(label: String, context: [UInt8], length: Int) -> [UInt8] {
        var label = label
        return label.withUTF8 { utf8 in
            let count = hkdfLabelCount(labelCount: utf8.count, context: context)
            return [UInt8](unsafeUninitializedCapacity: count) { bytes, initialized in
                writeHkdfLabel(into: UnsafeMutableRawBufferPointer(bytes), label: utf8, context: context, length: length)
                initialized = count
            }
        }
    }

    /// The encoded size of an HkdfLabel: uint16 length, the prefixed label and the context, each
    /// with its one-byte length.
    private static func hkdfLabelCount(labelCount: Int, context: [UInt8]) -> Int {
        4 + 6 + min(labelCount, 249) + min(context.count, 255)
    }

    /// Writes the HkdfLabel at the start of `bytes` (at least `hkdfLabelCount` long).
    private static func writeHkdfLabel(
        into bytes: UnsafeMutableRawBufferPointer, label: UnsafeBufferPointer<UInt8>, context: [UInt8], length: Int
    ) {
        let labelCount = min(label.count, 249)
        let contextCount = min(context.count, 255)
        bytes[0] = UInt8(truncatingIfNeeded: length >> 8)
        bytes[1] = UInt8(truncatingIfNeeded: length)
        bytes[2] = UInt8(truncatingIfNeeded: 6 + labelCount)
        // "tls13 " (6 bytes), the label, then the context, each copied as a block.
        bytes[3] = 0x74; bytes[4] = 0x6C; bytes[5] = 0x73; bytes[6] = 0x31; bytes[7] = 0x33; bytes[8] = 0x20
        var index = 9
        UnsafeMutableRawBufferPointer(rebasing: bytes[index..<(index + labelCount)])
            .copyMemory(from: UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(label)[..<labelCount]))
        index += labelCount
        bytes[index] = UInt8(truncatingIfNeeded: contextCount)
        index += 1
        context.withUnsafeBytes { context in
            UnsafeMutableRawBufferPointer(rebasing: bytes[index..<(index + contextCount)])
                .copyMemory(from: UnsafeRawBufferPointer(rebasing: context[..<contextCount]))
        }
    }

    static func digest(_ data: [UInt8], hash: HashAlgorithm) -> [UInt8] {
        switch hash {
        case .sha256: return SHA256.hash(data: data).byteArray
        case .sha384: return SHA384.hash(data: data).byteArray
        }
    }

    static func hmac(key: [UInt8], data: [UInt8], hash: HashAlgorithm) -> [UInt8] {
        HMACKey.mac(key: key, hash: hash, data)
    }
}

/// The TLS 1.3 key schedule (RFC 8446 §7.1, the diagram):
///
///              0
///              |
///    PSK ->  HKDF-Extract = Early Secret      -> binder key, c e traffic, e exp master
///              |
///        Derive-Secret(., "derived", "")
///              |
///  (EC)DHE -> HKDF-Extract = Handshake Secret -> c hs traffic, s hs traffic
///              |
///        Derive-Secret(., "derived", "")
///              |
///     0 -> HKDF-Extract = Master Secret       -> c ap traffic, s ap traffic, exp master, res master
public struct KeySchedule13: Sendable {
    public let hash: HashAlgorithm
    public private(set) var earlySecret: [UInt8]
    /// nil until `deriveHandshakeSecret`.
    public private(set) var handshakeSecret: [UInt8]?
    /// nil until `deriveMasterSecret`.
    public private(set) var masterSecret: [UInt8]?

    // The stage secrets keyed once: each gives several labels (HMACKey explains why it pays).
    private let earlyKey: HMACKey
    private var handshakeKey: HMACKey?
    private var masterKey: HMACKey?
    /// Without a PSK, the Early Secret and the salt of the Handshake Secret are constants.
    private let hasPSK: Bool

    /// Early Secret = HKDF-Extract(0, PSK), PSK = Hash.length zeros when there is none (RFC 8446 §7.1).
    public init(hash: HashAlgorithm, psk: [UInt8]?) {
        self.hash = hash
        if let psk {
            switch hash {
            case .sha256: earlySecret = Self.constants256.zeroSalt.mac(psk)
            case .sha384: earlySecret = Self.constants384.zeroSalt.mac(psk)
            }
            earlyKey = HMACKey(earlySecret, hash: hash)
        } else {
            // Field by field from the static constants: a whole `Constants` value is seven
            // references to retain and release.
            switch hash {
            case .sha256: earlySecret = Self.constants256.earlySecret; earlyKey = Self.constants256.earlyKey
            case .sha384: earlySecret = Self.constants384.earlySecret; earlyKey = Self.constants384.earlyKey
            }
        }
        hasPSK = psk != nil
        handshakeSecret = nil
        masterSecret = nil
    }

    /// What every handshake without a PSK derives the same way, computed once per hash.
    private struct Constants: Sendable {
        let zeroSalt: HMACKey
        let earlySecret: [UInt8]
        let earlyKey: HMACKey
        /// Derive-Secret(Early Secret, "derived", "") keyed: the salt of the Handshake Secret.
        let derivedSalt: HMACKey

        init(hash: HashAlgorithm) {
            let zeros = [UInt8](repeating: 0, count: hash.outputLength)
            zeroSalt = HMACKey(zeros, hash: hash)
            earlySecret = zeroSalt.mac(zeros)
            earlyKey = HMACKey(earlySecret, hash: hash)
            let derived = TLS13.expandLabel(earlyKey, label: "derived", context: TLS13.emptyHash(hash), length: hash.outputLength)
            derivedSalt = HMACKey(derived, hash: hash)
        }
    }

    private static let constants256 = Constants(hash: .sha256)
    private static let constants384 = Constants(hash: .sha384)

    private static func derivedSalt(_ hash: HashAlgorithm) -> HMACKey {
        switch hash {
        case .sha256: return constants256.derivedSalt
        case .sha384: return constants384.derivedSalt
        }
    }

    /// binder_key = Derive-Secret(Early Secret, "ext binder" | "res binder", "") (RFC 8446 §7.1, §4.2.11.2).
    public func binderKey(external: Bool) -> [UInt8] {
        TLS13.expandLabel(
            earlyKey, label: external ? "ext binder" : "res binder",
            context: TLS13.emptyHash(hash), length: hash.outputLength)
    }

    /// RFC 8446 §4.2.11.2: the binder is the Finished computation (§4.4.4) over the truncated
    /// ClientHello with a finished key derived from the binder key.
    public func binder(external: Bool, truncatedHelloHash: [UInt8]) -> [UInt8] {
        let key = Self.finishedKey(secret: binderKey(external: external), hash: hash)
        return Self.finishedVerifyData(finishedKey: key, transcriptHash: truncatedHelloHash, hash: hash)
    }

    /// client_early_traffic_secret = Derive-Secret(Early Secret, "c e traffic", ClientHello).
    public func clientEarlyTrafficSecret(transcriptHash: [UInt8]) -> [UInt8] {
        TLS13.expandLabel(earlyKey, label: "c e traffic", context: transcriptHash, length: hash.outputLength)
    }

    /// early_exporter_master_secret = Derive-Secret(Early Secret, "e exp master", ClientHello).
    public func earlyExporterMasterSecret(transcriptHash: [UInt8]) -> [UInt8] {
        TLS13.expandLabel(earlyKey, label: "e exp master", context: transcriptHash, length: hash.outputLength)
    }

    /// Handshake Secret = HKDF-Extract(Derive-Secret(Early Secret, "derived", ""), (EC)DHE).
    /// For psk_ke (no (EC)DHE) pass an empty array: it stands for Hash.length zeros.
    public mutating func deriveHandshakeSecret(sharedSecret: [UInt8]) {
        let ikm = sharedSecret.isEmpty ? [UInt8](repeating: 0, count: hash.outputLength) : sharedSecret
        // The salt is a constant without a PSK (keyed once per process), else used once here.
        let secret = hasPSK
            ? HMACKey.mac(
                key: TLS13.expandLabel(earlyKey, label: "derived", context: TLS13.emptyHash(hash), length: hash.outputLength),
                hash: hash, ikm)
            : Self.derivedSalt(hash).mac(ikm)
        handshakeSecret = secret
        handshakeKey = HMACKey(secret, hash: hash)
    }

    /// client_handshake_traffic_secret = Derive-Secret(Handshake Secret, "c hs traffic", ClientHello...ServerHello).
    public func clientHandshakeTrafficSecret(transcriptHash: [UInt8]) -> [UInt8] {
        derive(from: handshakeKey, label: "c hs traffic", transcriptHash: transcriptHash)
    }

    /// server_handshake_traffic_secret = Derive-Secret(Handshake Secret, "s hs traffic", ClientHello...ServerHello).
    public func serverHandshakeTrafficSecret(transcriptHash: [UInt8]) -> [UInt8] {
        derive(from: handshakeKey, label: "s hs traffic", transcriptHash: transcriptHash)
    }

    /// Master Secret = HKDF-Extract(Derive-Secret(Handshake Secret, "derived", ""), 0).
    public mutating func deriveMasterSecret() {
        let salt: [UInt8]
        switch handshakeKey {
        case .some(let key):
            salt = TLS13.expandLabel(key, label: "derived", context: TLS13.emptyHash(hash), length: hash.outputLength)
        case .none:
            assertionFailure("deriveMasterSecret before deriveHandshakeSecret")
            return
        }
        let secret = HMACKey.mac(key: salt, hash: hash, [UInt8](repeating: 0, count: hash.outputLength))
        masterSecret = secret
        masterKey = HMACKey(secret, hash: hash)
    }

    /// client_application_traffic_secret_0 = Derive-Secret(Master Secret, "c ap traffic", ClientHello...server Finished).
    public func clientApplicationTrafficSecret(transcriptHash: [UInt8]) -> [UInt8] {
        derive(from: masterKey, label: "c ap traffic", transcriptHash: transcriptHash)
    }

    /// server_application_traffic_secret_0 = Derive-Secret(Master Secret, "s ap traffic", ClientHello...server Finished).
    public func serverApplicationTrafficSecret(transcriptHash: [UInt8]) -> [UInt8] {
        derive(from: masterKey, label: "s ap traffic", transcriptHash: transcriptHash)
    }

    /// exporter_master_secret = Derive-Secret(Master Secret, "exp master", ClientHello...server Finished).
    public func exporterMasterSecret(transcriptHash: [UInt8]) -> [UInt8] {
        derive(from: masterKey, label: "exp master", transcriptHash: transcriptHash)
    }

    /// resumption_master_secret = Derive-Secret(Master Secret, "res master", ClientHello...client Finished).
    public func resumptionMasterSecret(transcriptHash: [UInt8]) -> [UInt8] {
        derive(from: masterKey, label: "res master", transcriptHash: transcriptHash)
    }

    /// RFC 8446 §4.4.4: finished_key = HKDF-Expand-Label(BaseKey, "finished", "", Hash.length).
    public static func finishedKey(secret: [UInt8], hash: HashAlgorithm) -> [UInt8] {
        TLS13.hkdfExpandLabel(secret: secret, label: "finished", context: [], length: hash.outputLength, hash: hash)
    }

    /// `finishedKey` from a secret already keyed.
    public static func finishedKey(keyed secret: HMACKey) -> [UInt8] {
        TLS13.expandLabel(secret, label: "finished", context: [], length: secret.hash.outputLength)
    }

    /// RFC 8446 §4.4.4: verify_data = HMAC(finished_key, Transcript-Hash(Handshake Context, Certificate*, CertificateVerify*)).
    public static func finishedVerifyData(finishedKey: [UInt8], transcriptHash: [UInt8], hash: HashAlgorithm) -> [UInt8] {
        TLS13.hmac(key: finishedKey, data: transcriptHash, hash: hash)
    }

    /// RFC 8446 §7.2: application_traffic_secret_N+1 = HKDF-Expand-Label(application_traffic_secret_N, "traffic upd", "", Hash.length).
    public static func nextTrafficSecret(_ secret: [UInt8], hash: HashAlgorithm) -> [UInt8] {
        TLS13.hkdfExpandLabel(secret: secret, label: "traffic upd", context: [], length: hash.outputLength, hash: hash)
    }

    /// RFC 8446 §4.6.1: PSK = HKDF-Expand-Label(resumption_master_secret, "resumption", ticket_nonce, Hash.length).
    public static func resumptionPSK(resumptionMasterSecret: [UInt8], nonce: [UInt8], hash: HashAlgorithm) -> [UInt8] {
        TLS13.hkdfExpandLabel(secret: resumptionMasterSecret, label: "resumption", context: nonce, length: hash.outputLength, hash: hash)
    }

    /// `resumptionPSK` with the resumption master secret keyed once for all of a batch's tickets.
    public static func resumptionPSK(keyed resumptionMasterSecret: HMACKey, nonce: [UInt8]) -> [UInt8] {
        TLS13.expandLabel(resumptionMasterSecret, label: "resumption", context: nonce, length: resumptionMasterSecret.hash.outputLength)
    }

    private func derive(from secret: HMACKey?, label: String, transcriptHash: [UInt8]) -> [UInt8] {
        // A `switch` borrows the key where `guard let` would copy it (a retain and a release per
        // pad state).
        switch secret {
        case .some(let key):
            return TLS13.expandLabel(key, label: label, context: transcriptHash, length: hash.outputLength)
        case .none:
            // API misuse (a stage skipped). Fail closed: random bytes give keys nobody knows, so the
            // handshake fails instead of running under keys derived from an empty secret.
            assertionFailure("TLS 1.3 secret \"\(label)\" requested before its stage was derived")
            return SecureRandom.bytes(hash.outputLength)
        }
    }
}
