import Foundation
import TesseraCrypto
import TesseraSessions
import TesseraWire

// Pieces both TLS 1.3 sides use (RFC 8446).

enum TLS13Support {
    /// RFC 8446 §4.4.3: 64 spaces, the context string, a zero byte, the transcript hash.
    static func certificateVerifyContent(server: Bool, transcriptHash: [UInt8]) -> [UInt8] {
        let label = server ? "TLS 1.3, server CertificateVerify" : "TLS 1.3, client CertificateVerify"
        var content = [UInt8]()
        content.reserveCapacity(64 + label.utf8.count + 1 + transcriptHash.count)
        content.append(contentsOf: repeatElement(0x20, count: 64))
        content.append(contentsOf: label.utf8)
        content.append(0)
        content.append(contentsOf: transcriptHash)
        return content
    }

    /// Record protection for a traffic secret (RFC 8446 §7.3).
    static func protection(_ secret: [UInt8], _ parameters: CipherSuiteParameters) throws(TLSError) -> RecordProtection {
        try protection(HMACKey(secret, hash: parameters.hash), parameters)
    }

    /// `protection` from a secret already keyed: a handshake traffic secret gives its record keys
    /// and its finished key from one keying.
    static func protection(_ secret: HMACKey, _ parameters: CipherSuiteParameters) throws(TLSError) -> RecordProtection {
        let keys = KeySchedule13.trafficKeys(keyed: secret, parameters: parameters)
        return try crypto { () throws(CryptoError) in
            try RecordProtection(parameters: parameters, key: keys.key, iv: keys.iv)
        }
    }

    /// From a secret used for nothing else (a binder key): its finished key is derived without
    /// keying it first.
    static func finished(secret: [UInt8], transcriptHash: [UInt8], hash: HashAlgorithm) -> [UInt8] {
        KeySchedule13.finishedVerifyData(
            finishedKey: KeySchedule13.finishedKey(secret: secret, hash: hash), transcriptHash: transcriptHash, hash: hash)
    }

    static func finished(keyed secret: HMACKey, transcriptHash: [UInt8]) -> [UInt8] {
        KeySchedule13.finishedVerifyData(
            finishedKey: KeySchedule13.finishedKey(keyed: secret), transcriptHash: transcriptHash, hash: secret.hash)
    }

    /// `secret` is only worked out when a key log is set (the exporter secret is derived for it alone).
    static func keyLog(_ configuration: TLSConfiguration, _ label: String, _ clientRandom: [UInt8], _ secret: @autoclosure () -> [UInt8]) {
        guard let keyLog = configuration.keyLog else { return }
        keyLog(NSSKeyLog.line(label: label, clientRandom: clientRandom, secret: secret()))
    }
}

/// Traffic secrets after the handshake; KeyUpdate moves them on (RFC 8446 §4.6.3, §7.2).
struct ApplicationSecrets13: Sendable {
    var parameters: CipherSuiteParameters
    var client: [UInt8]
    var server: [UInt8]
    var resumptionMasterSecret: [UInt8]

    /// `secrets`' value, leaving empty secrets behind: a move out of a stored property.
    static func moving(_ secrets: inout ApplicationSecrets13) -> ApplicationSecrets13 {
        var taken = ApplicationSecrets13(parameters: secrets.parameters, client: [], server: [], resumptionMasterSecret: [])
        swap(&taken, &secrets)
        return taken
    }
}

extension RecordLayer {
    /// Write keys from a TLS 1.3 traffic secret (RFC 8446 §7.3), the open flight sealed under the
    /// old ones first. Keys the suite cannot take (which the key schedule never derives) leave
    /// the old keys in place and set `writeFailure`, as a record that cannot be protected does:
    /// nothing is written under them after it.
    mutating func installWriteProtection(_ secret: HMACKey, _ parameters: CipherSuiteParameters) {
        do throws(TLSError) {
            installWriteProtection(try TLS13Support.protection(secret, parameters))
        } catch {
            failWrites(error)
        }
    }

    mutating func installWriteProtection(_ secret: [UInt8], _ parameters: CipherSuiteParameters) {
        installWriteProtection(HMACKey(secret, hash: parameters.hash), parameters)
    }
}
