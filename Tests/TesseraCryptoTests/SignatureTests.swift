import Crypto
import Foundation
import TesseraWire
import X509
import XCTest

@testable import TesseraCrypto

/// Keys and certificates made by `openssl` at test time, in every format we claim to load.
final class SignatureTests: XCTestCase {
    struct KeyFixture {
        let name: String
        let keyPath: String
        let certificatePath: String
        let kind: SigningKey.Kind
        let description: String
        let bits: Int
    }

    nonisolated(unsafe) private static var directory: URL?
    nonisolated(unsafe) private static var fixtures: [KeyFixture] = []
    private static let data = Array("TLS 1.3, server CertificateVerify: the bytes being signed".utf8)

    override class func setUp() {
        super.setUp()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tessera-sig-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        directory = dir
        func path(_ name: String) -> String { dir.appendingPathComponent(name).path }
        func run(_ arguments: [String]) {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
            process.arguments = arguments
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try? process.run()
            process.waitUntilExit()
        }
        // PKCS#8 P-256, SEC1 P-384 (with an EC PARAMETERS block first), PKCS#8 and PKCS#1 RSA, PKCS#8 Ed25519.
        run(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", path("p256.pem")])
        run(["ecparam", "-name", "secp384r1", "-genkey", "-out", path("p384.pem")])
        run(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", path("rsa.pem")])
        run(["rsa", "-in", path("rsa.pem"), "-traditional", "-out", path("rsa-pkcs1.pem")])
        run(["genpkey", "-algorithm", "ED25519", "-out", path("ed25519.pem")])
        for name in ["p256", "p384", "rsa", "ed25519"] {
            run(["req", "-x509", "-new", "-key", path("\(name).pem"), "-subj", "/CN=\(name).test", "-days", "2", "-out", path("\(name)-cert.pem")])
            run(["pkey", "-in", path("\(name).pem"), "-pubout", "-out", path("\(name)-pub.pem")])
        }
        fixtures = [
            KeyFixture(name: "p256", keyPath: path("p256.pem"), certificatePath: path("p256-cert.pem"), kind: .p256, description: "EC P-256", bits: 256),
            KeyFixture(name: "p384", keyPath: path("p384.pem"), certificatePath: path("p384-cert.pem"), kind: .p384, description: "EC P-384", bits: 384),
            KeyFixture(name: "rsa", keyPath: path("rsa.pem"), certificatePath: path("rsa-cert.pem"), kind: .rsa(bits: 2048), description: "RSA 2048", bits: 2048),
            KeyFixture(name: "rsa-pkcs1", keyPath: path("rsa-pkcs1.pem"), certificatePath: path("rsa-cert.pem"), kind: .rsa(bits: 2048), description: "RSA 2048", bits: 2048),
            KeyFixture(name: "ed25519", keyPath: path("ed25519.pem"), certificatePath: path("ed25519-cert.pem"), kind: .ed25519, description: "Ed25519", bits: 253),
        ]
    }

    override class func tearDown() {
        if let directory { try? FileManager.default.removeItem(at: directory) }
        super.tearDown()
    }

    private var dir: URL { SignatureTests.directory ?? FileManager.default.temporaryDirectory }

    private func peer(_ fixture: KeyFixture) throws -> PeerPublicKey {
        let chain = try CertificateChain.load(pemFile: fixture.certificatePath)
        let der = try XCTUnwrap(chain.derEncoded.first)
        // Both initialisers agree.
        _ = try PeerPublicKey(certificate: try XCTUnwrap(chain.certificates.first))
        return try PeerPublicKey(certificateDER: der)
    }

    func testFixturesWereGenerated() throws {
        XCTAssertEqual(SignatureTests.fixtures.count, 5)
        for fixture in SignatureTests.fixtures {
            XCTAssertTrue(FileManager.default.fileExists(atPath: fixture.keyPath), fixture.name)
            XCTAssertTrue(FileManager.default.fileExists(atPath: fixture.certificatePath), fixture.name)
        }
        XCTAssertTrue(try String(contentsOfFile: SignatureTests.fixtures[1].keyPath, encoding: .utf8).contains("BEGIN EC PARAMETERS"))
        XCTAssertTrue(try String(contentsOfFile: SignatureTests.fixtures[3].keyPath, encoding: .utf8).contains("BEGIN RSA PRIVATE KEY"))
    }

    func testSignAndVerifyEverySupportedScheme() throws {
        for fixture in SignatureTests.fixtures {
            let key = try SigningKey.load(pemFile: fixture.keyPath)
            XCTAssertEqual(key.kind, fixture.kind, fixture.name)
            let peer = try peer(fixture)
            XCTAssertEqual(peer.description, fixture.description)
            XCTAssertEqual(peer.bits, fixture.bits)
            let schemes = key.supportedSchemes(version: .tls12)
            XCTAssertFalse(schemes.isEmpty)
            for scheme in schemes {
                let signature = try key.sign(SignatureTests.data, scheme: scheme)
                XCTAssertTrue(peer.verify(signature: signature, data: SignatureTests.data, scheme: scheme), "\(fixture.name) \(scheme)")
                XCTAssertTrue(peer.canVerify(scheme, version: .tls12), "\(fixture.name) \(scheme)")
                var tampered = SignatureTests.data
                tampered[0] ^= 1
                XCTAssertFalse(peer.verify(signature: signature, data: tampered, scheme: scheme), "\(fixture.name) \(scheme) tampered data")
                var badSignature = signature
                badSignature[badSignature.count / 2] ^= 0x40
                XCTAssertFalse(peer.verify(signature: badSignature, data: SignatureTests.data, scheme: scheme), "\(fixture.name) \(scheme) tampered sig")
            }
            for scheme in key.supportedSchemes(version: .tls13) {
                XCTAssertTrue(peer.canVerify(scheme, version: .tls13), "\(fixture.name) \(scheme)")
            }
        }
    }

    func testSupportedSchemesPerVersion() throws {
        let keys = try SignatureTests.fixtures.map { try SigningKey.load(pemFile: $0.keyPath) }
        XCTAssertEqual(keys[0].supportedSchemes(version: .tls13), [.ecdsaSecp256r1SHA256])
        XCTAssertEqual(keys[1].supportedSchemes(version: .tls13), [.ecdsaSecp384r1SHA384])
        XCTAssertEqual(keys[2].supportedSchemes(version: .tls13), [.rsaPSSRSAESHA256, .rsaPSSRSAESHA384, .rsaPSSRSAESHA512])
        XCTAssertTrue(keys[2].supportedSchemes(version: .tls12).contains(.rsaPKCS1SHA256))
        XCTAssertEqual(keys[4].supportedSchemes(version: .tls13), [.ed25519])
    }

    /// Signatures made by `openssl dgst -sign` / `pkeyutl -sign` over fixed data verify with PeerPublicKey.
    func testVerifyOpenSSLSignatures() throws {
        let dataPath = dir.appendingPathComponent("data.bin")
        try Data(SignatureTests.data).write(to: dataPath)
        let cases: [(fixture: Int, scheme: SignatureScheme, arguments: [String])] = [
            (0, .ecdsaSecp256r1SHA256, ["dgst", "-sha256"]),
            (1, .ecdsaSecp384r1SHA384, ["dgst", "-sha384"]),
            (2, .rsaPKCS1SHA256, ["dgst", "-sha256"]),
            (2, .rsaPKCS1SHA384, ["dgst", "-sha384"]),
            (2, .rsaPSSRSAESHA256, ["dgst", "-sha256", "-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:digest"]),
            (2, .rsaPSSRSAESHA512, ["dgst", "-sha512", "-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:digest"]),
        ]
        for (index, item) in cases.enumerated() {
            let fixture = SignatureTests.fixtures[item.fixture]
            let signaturePath = dir.appendingPathComponent("sig-\(index).bin").path
            try openssl(item.arguments + ["-sign", fixture.keyPath, "-out", signaturePath, dataPath.path])
            let signature = [UInt8](try Data(contentsOf: URL(fileURLWithPath: signaturePath)))
            let peer = try peer(fixture)
            XCTAssertTrue(peer.verify(signature: signature, data: SignatureTests.data, scheme: item.scheme), "\(fixture.name) \(item.scheme)")
            // The same signature under another padding or hash does not verify.
            let other: SignatureScheme = item.scheme == .rsaPSSRSAESHA256 ? .rsaPKCS1SHA256 : item.scheme == .rsaPKCS1SHA256 ? .rsaPSSRSAESHA256 : .ed25519
            XCTAssertFalse(peer.verify(signature: signature, data: SignatureTests.data, scheme: other), "\(fixture.name) \(other)")
        }
        // Ed25519 signs the message itself.
        let ed = SignatureTests.fixtures[4]
        let edSignaturePath = dir.appendingPathComponent("sig-ed.bin").path
        try openssl(["pkeyutl", "-sign", "-inkey", ed.keyPath, "-rawin", "-in", dataPath.path, "-out", edSignaturePath])
        let edSignature = [UInt8](try Data(contentsOf: URL(fileURLWithPath: edSignaturePath)))
        XCTAssertEqual(edSignature.count, 64)
        XCTAssertTrue(try peer(ed).verify(signature: edSignature, data: SignatureTests.data, scheme: .ed25519))
    }

    /// And the other way round: openssl verifies what we sign (ECDSA DER, PSS with salt = hash length, PKCS#1).
    func testOpenSSLVerifiesOurSignatures() throws {
        let dataPath = dir.appendingPathComponent("data-ours.bin")
        try Data(SignatureTests.data).write(to: dataPath)
        let cases: [(fixture: Int, scheme: SignatureScheme, arguments: [String])] = [
            (0, .ecdsaSecp256r1SHA256, ["dgst", "-sha256"]),
            (1, .ecdsaSecp384r1SHA384, ["dgst", "-sha384"]),
            (2, .rsaPKCS1SHA256, ["dgst", "-sha256"]),
            (2, .rsaPSSRSAESHA256, ["dgst", "-sha256", "-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:digest"]),
            (3, .rsaPSSRSAESHA384, ["dgst", "-sha384", "-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:digest"]),
        ]
        for (index, item) in cases.enumerated() {
            let fixture = SignatureTests.fixtures[item.fixture]
            let key = try SigningKey.load(pemFile: fixture.keyPath)
            let signaturePath = dir.appendingPathComponent("ours-\(index).bin")
            try Data(try key.sign(SignatureTests.data, scheme: item.scheme)).write(to: signaturePath)
            let publicKey = dir.appendingPathComponent("\(fixture.name == "rsa-pkcs1" ? "rsa" : fixture.name)-pub.pem").path
            let output = try openssl(item.arguments + ["-verify", publicKey, "-signature", signaturePath.path, dataPath.path])
            XCTAssertTrue(String(decoding: output, as: UTF8.self).contains("Verified OK"), "\(fixture.name) \(item.scheme)")
        }
        let ed = try SigningKey.load(pemFile: SignatureTests.fixtures[4].keyPath)
        let edSignature = dir.appendingPathComponent("ours-ed.bin")
        try Data(try ed.sign(SignatureTests.data, scheme: .ed25519)).write(to: edSignature)
        let output = try openssl(["pkeyutl", "-verify", "-pubin", "-inkey", dir.appendingPathComponent("ed25519-pub.pem").path, "-rawin", "-in", dataPath.path, "-sigfile", edSignature.path])
        XCTAssertTrue(String(decoding: output, as: UTF8.self).contains("Signature Verified Successfully"))
    }

    func testWrongSchemeForKey() throws {
        let wrong: [(Int, [SignatureScheme])] = [
            (0, [.rsaPSSRSAESHA256, .rsaPKCS1SHA256, .ed25519, .ecdsaSHA1, .rsaPSSPSSSHA256]),
            (2, [.ecdsaSecp256r1SHA256, .ed25519, .rsaPKCS1SHA1, .rsaPSSPSSSHA256]),
            (4, [.ecdsaSecp256r1SHA256, .rsaPSSRSAESHA256, .ed448]),
        ]
        for (index, schemes) in wrong {
            let fixture = SignatureTests.fixtures[index]
            let key = try SigningKey.load(pemFile: fixture.keyPath)
            let peer = try peer(fixture)
            let genuine = try key.sign(SignatureTests.data, scheme: key.supportedSchemes(version: .tls13)[0])
            for scheme in schemes {
                XCTAssertFalse(peer.verify(signature: genuine, data: SignatureTests.data, scheme: scheme), "\(fixture.name) \(scheme)")
                XCTAssertFalse(peer.canVerify(scheme, version: .tls12), "\(fixture.name) \(scheme)")
                XCTAssertFalse(peer.canVerify(scheme, version: .tls13), "\(fixture.name) \(scheme)")
                do {
                    _ = try key.sign(SignatureTests.data, scheme: scheme)
                    XCTFail("\(fixture.name) signed with \(scheme)")
                } catch {
                    XCTAssertEqual(error.code, .unsupportedAlgorithm)
                }
            }
        }
    }

    /// TLS 1.3 binds the ECDSA curve to the hash and forbids PKCS#1 in CertificateVerify (RFC 8446 §4.2.3).
    func testTLS13SchemeRestrictions() throws {
        let p256 = try peer(SignatureTests.fixtures[0])
        XCTAssertTrue(p256.canVerify(.ecdsaSecp384r1SHA384, version: .tls12))
        XCTAssertFalse(p256.canVerify(.ecdsaSecp384r1SHA384, version: .tls13))
        XCTAssertTrue(p256.canVerify(.ecdsaSecp256r1SHA256, version: .tls13))
        let rsa = try peer(SignatureTests.fixtures[2])
        XCTAssertTrue(rsa.canVerify(.rsaPKCS1SHA256, version: .tls12))
        XCTAssertFalse(rsa.canVerify(.rsaPKCS1SHA256, version: .tls13))
        XCTAssertTrue(rsa.canVerify(.rsaPSSRSAESHA256, version: .tls13))
    }

    func testKeyLoadingErrors() throws {
        let garbage = dir.appendingPathComponent("garbage-key.pem")
        try Data("this is not a key\n".utf8).write(to: garbage)
        do {
            _ = try SigningKey.load(pemFile: garbage.path)
            XCTFail("garbage key loaded")
        } catch {
            XCTAssertEqual(error.code, .invalidKey)
            XCTAssertTrue(error.message.contains("no PEM private key"), error.message)
        }
        do {
            _ = try SigningKey.load(pemFile: dir.appendingPathComponent("missing.pem").path)
            XCTFail("missing key loaded")
        } catch {
            XCTAssertEqual(error.code, .io)
            XCTAssertTrue(error.message.contains("does not exist"), error.message)
        }
        // A certificate is not a key.
        XCTAssertThrowsError(try SigningKey.load(pemFile: SignatureTests.fixtures[0].certificatePath))
        // RSA under 2048 bits is refused with a clear message.
        let small = dir.appendingPathComponent("rsa1024.pem").path
        try openssl(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024", "-out", small])
        do {
            _ = try SigningKey.load(pemFile: small)
            XCTFail("1024-bit RSA loaded")
        } catch {
            XCTAssertEqual(error.code, .invalidKey)
            XCTAssertTrue(error.message.contains("1024"), error.message)
        }
    }

    func testGeneratedKeysSignAndVerifyThroughSelfSignedCertificates() throws {
        for key in [SigningKey.generateP256(), .generateP384(), .generateEd25519()] {
            let chain = try CertificateChain.selfSigned(commonName: "gen.test", key: key)
            let peer = try PeerPublicKey(certificateDER: try XCTUnwrap(chain.derEncoded.first))
            for scheme in key.supportedSchemes(version: .tls13) {
                XCTAssertTrue(peer.verify(signature: try key.sign(SignatureTests.data, scheme: scheme), data: SignatureTests.data, scheme: scheme))
            }
        }
    }
}

/// Our DER of an ECDSA signature (through swift-asn1) against swift-crypto's `derRepresentation`.
final class ECDSASignatureDERTests: XCTestCase {
    func testSignaturesOfBothCurvesEncodeAsSwiftCrypto() throws {
        let p256 = P256.Signing.PrivateKey(), p384 = P384.Signing.PrivateKey()
        for index in 0..<200 {
            let message = Array("message \(index)".utf8)
            let small = try p256.signature(for: message)
            XCTAssertEqual(SigningKey.derSignature(raw: small.rawRepresentation), Array(small.derRepresentation))
            let large = try p384.signature(for: message)
            XCTAssertEqual(SigningKey.derSignature(raw: large.rawRepresentation), Array(large.derRepresentation))
        }
    }

    /// P-521: 66-octet integers, so the SEQUENCE's length usually takes the long form (over 127).
    func testP521SignaturesEncodeAsSwiftCrypto() throws {
        let key = P521.Signing.PrivateKey()
        var longForms = 0
        for index in 0..<50 {
            let signature = try key.signature(for: Array("message \(index)".utf8))
            let expected = Array(signature.derRepresentation)
            XCTAssertEqual(SigningKey.derSignature(raw: signature.rawRepresentation), expected)
            if expected[1] == 0x81 { longForms += 1 }
        }
        XCTAssertGreaterThan(longForms, 0, "some signature has a long-form SEQUENCE length")
    }

    /// The integer edge cases a random signature rarely hits: leading zero octets (dropped, even
    /// several) and a set high bit (a zero octet added), for r and s alike.
    func testIntegerEdgeCasesEncodeAsSwiftCrypto() throws {
        let shapes: [[UInt8]] = [
            [0x00] + [UInt8](repeating: 0x7F, count: 31),
            [0x00, 0x00, 0x00, 0x01] + [UInt8](repeating: 0x23, count: 28),
            [0x80] + [UInt8](repeating: 0x00, count: 31),
            [0xFF] + [UInt8](repeating: 0xFF, count: 31),
            [0x00, 0x80] + [UInt8](repeating: 0x11, count: 30),
            [UInt8](repeating: 0x00, count: 31) + [0x01],
            [UInt8](repeating: 0x00, count: 32),
        ]
        for r in shapes {
            for s in shapes {
                let signature = try P256.Signing.ECDSASignature(rawRepresentation: r + s)
                XCTAssertEqual(SigningKey.derSignature(raw: signature.rawRepresentation), Array(signature.derRepresentation), "\(r.prefix(4)) \(s.prefix(4))")
            }
        }
    }
}
