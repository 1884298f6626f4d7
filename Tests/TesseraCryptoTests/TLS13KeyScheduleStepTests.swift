import XCTest

@testable import TesseraCrypto

/// Every HKDF step of the RFC 8448-style trace, checked in isolation: each step lists its inputs
/// (PRK, hash/context, info) and output, so HKDF-Expand-Label, Derive-Secret, HKDF-Extract, the
/// traffic key expansion, finished keys, binders and the resumption PSK are each checked byte for byte.
final class TLS13KeyScheduleStepTests: XCTestCase {
    func testEveryHKDFStepOfTheTrace() throws {
        let steps = groupSteps(try loadTraces())
        var checked: [String: Int] = [:]

        for step in steps {
            let context = "\(step.section) / \(step.step)"
            if step.step.contains("extract secret") {
                guard let ikm = step["IKM"], let secret = step["secret"] else { XCTFail(context); continue }
                let salt = step["salt"] ?? []
                XCTAssertEqual(TLS13.extract(salt: salt, ikm: ikm, hash: .sha256), secret, context)
                checked["extract", default: 0] += 1
            } else if step.step.contains("derive secret") || step.step.contains("generate resumption secret") {
                guard let prk = step["PRK"], let transcriptHash = step["hash"], let info = step["info"],
                    let expanded = step["expanded"], let quoted = step.quoted, quoted.hasPrefix("tls13 ")
                else { XCTFail(context); continue }
                let label = String(quoted.dropFirst("tls13 ".count))
                XCTAssertEqual(TLS13.hkdfLabel(label: label, context: transcriptHash, length: expanded.count), info, context)
                XCTAssertEqual(
                    TLS13.hkdfExpandLabel(secret: prk, label: label, context: transcriptHash, length: expanded.count, hash: .sha256),
                    expanded, context)
                if label == "resumption" {
                    XCTAssertEqual(
                        KeySchedule13.resumptionPSK(resumptionMasterSecret: prk, nonce: transcriptHash, hash: .sha256), expanded,
                        context)
                    checked["resumption", default: 0] += 1
                } else {
                    XCTAssertEqual(TLS13.deriveSecret(secret: prk, label: label, transcriptHash: transcriptHash, hash: .sha256), expanded, context)
                    checked["derive", default: 0] += 1
                }
            } else if step.step.contains("traffic keys") {
                guard let prk = step["PRK"], let keyInfo = step["key info"], let key = step["key expanded"],
                    let ivInfo = step["iv info"], let iv = step["iv expanded"]
                else { XCTFail(context); continue }
                XCTAssertEqual(TLS13.hkdfLabel(label: "key", context: [], length: key.count), keyInfo, context)
                XCTAssertEqual(TLS13.hkdfLabel(label: "iv", context: [], length: iv.count), ivInfo, context)
                XCTAssertEqual(TLS13.hkdfExpandLabel(secret: prk, label: "key", context: [], length: 16, hash: .sha256), key, context)
                XCTAssertEqual(TLS13.hkdfExpandLabel(secret: prk, label: "iv", context: [], length: 12, hash: .sha256), iv, context)
                checked["keys", default: 0] += 1
            } else if step.step.contains("calculate finished") || step.step.contains("calculate PSK binder") {
                guard let prk = step["PRK"], let info = step["info"], let expanded = step["expanded"], step["finished"] != nil
                else { XCTFail(context); continue }
                XCTAssertEqual(TLS13.hkdfLabel(label: "finished", context: [], length: 32), info, context)
                XCTAssertEqual(KeySchedule13.finishedKey(secret: prk, hash: .sha256), expanded, context)
                if let prefix = step["ClientHello prefix"], let binderHash = step["binder hash"], let binder = step["finished"] {
                    XCTAssertEqual(TLS13.digest(prefix, hash: .sha256), binderHash, context)
                    XCTAssertEqual(KeySchedule13.finishedVerifyData(finishedKey: expanded, transcriptHash: binderHash, hash: .sha256), binder, context)
                    checked["binder", default: 0] += 1
                } else {
                    checked["finished key", default: 0] += 1
                }
            }
        }
        // 5 sections: every kind of step must have been seen (a renamed entry must not silently skip checks).
        XCTAssertEqual(checked["extract"], 15, "\(checked)")
        XCTAssertEqual(checked["resumption"], 1, "\(checked)")
        XCTAssertEqual(checked["binder"], 1, "\(checked)")
        XCTAssertEqual(checked["derive"], 47, "\(checked)")
        XCTAssertEqual(checked["keys"], 21, "\(checked)")
        XCTAssertEqual(checked["finished key"], 10, "\(checked)")
    }

    func testEmptyHashes() {
        XCTAssertEqual(hexString(TLS13.emptyHash(.sha256)), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(TLS13.emptyHash(.sha384).count, 48)
        XCTAssertEqual(
            hexString(TLS13.emptyHash(.sha384)),
            "38b060a751ac96384cd9327eb1b1e36a21fdb71114be07434c0cc7bf63f6e1da274edebfe76f65fbd51ad2f14898b95b")
    }

    /// RFC 8446 §7.1 with SHA-384: the early secret without a PSK, then the "derived" salt, computed
    /// with Python's hmac/hashlib.
    func testSHA384EarlySecretAndDerived() {
        let schedule = KeySchedule13(hash: .sha384, psk: nil)
        XCTAssertEqual(
            hexString(schedule.earlySecret),
            "7ee8206f5570023e6dc7519eb1073bc4e791ad37b5c382aa10ba18e2357e716971f9362f2c2fe2a76bfd78dfec4ea9b5")
    }
}
