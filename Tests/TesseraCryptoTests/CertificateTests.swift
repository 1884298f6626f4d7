import Foundation
import SwiftASN1
import X509
import XCTest

@testable import TesseraCrypto

final class CertificateTests: XCTestCase {
    private var dir: URL!

    override func setUpWithError() throws {
        dir = try makeTemporaryDirectory(self)
    }

    private func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    /// A CA and a leaf it issued (SAN localhost + 127.0.0.1), made by openssl.
    private func makeCAChain(leafExtensions: String = "") throws -> (leaf: String, ca: String, chainFile: String, leafKey: String) {
        try openssl(["req", "-x509", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                     "-keyout", path("ca-key.pem"), "-subj", "/CN=Tessera Test CA", "-days", "30", "-out", path("ca.pem")])
        try openssl(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                     "-keyout", path("leaf-key.pem"), "-subj", "/O=Tessera/CN=localhost", "-out", path("leaf.csr")])
        try Data("subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n\(leafExtensions)".utf8).write(to: URL(fileURLWithPath: path("ext.cnf")))
        try openssl(["x509", "-req", "-in", path("leaf.csr"), "-CA", path("ca.pem"), "-CAkey", path("ca-key.pem"), "-CAcreateserial",
                     "-days", "10", "-extfile", path("ext.cnf"), "-out", path("leaf.pem")])
        let chain = try String(contentsOfFile: path("leaf.pem"), encoding: .utf8) + String(contentsOfFile: path("ca.pem"), encoding: .utf8)
        try Data(chain.utf8).write(to: URL(fileURLWithPath: path("chain.pem")))
        return (path("leaf.pem"), path("ca.pem"), path("chain.pem"), path("leaf-key.pem"))
    }

    // MARK: - Loading

    func testLoadPEMChainAndKey() throws {
        let files = try makeCAChain()
        let chain = try CertificateChain.load(pemFile: files.chainFile)
        XCTAssertEqual(chain.certificates.count, 2)
        XCTAssertEqual(chain.leafSubject, "O=Tessera, CN=localhost")
        XCTAssertEqual(chain.leafIssuer, "CN=Tessera Test CA")
        // DER is exactly what openssl writes.
        let leafDER = [UInt8](try openssl(["x509", "-in", files.leaf, "-outform", "DER"]))
        let caDER = [UInt8](try openssl(["x509", "-in", files.ca, "-outform", "DER"]))
        XCTAssertEqual(chain.derEncoded, [leafDER, caDER])
        // Round trip through the wire form.
        let fromWire = try CertificateChain(derEncoded: chain.derEncoded)
        XCTAssertEqual(fromWire.certificates, chain.certificates)
        XCTAssertEqual(fromWire.derEncoded, chain.derEncoded)
        // The key matches the leaf.
        let key = try SigningKey.load(pemFile: files.leafKey)
        XCTAssertEqual(key.kind, .p256)
        XCTAssertEqual(key.certificatePrivateKey.publicKey, chain.certificates[0].publicKey)
        // Mutating the certificates keeps the DER in step.
        var trimmed = chain
        trimmed.certificates.removeLast()
        XCTAssertEqual(trimmed.derEncoded, [leafDER])
        // PEM export parses back.
        XCTAssertEqual(try CertificateChain(pemEncoded: chain.pemEncoded).derEncoded, chain.derEncoded)
    }

    func testLoadingErrorsAreClear() throws {
        try Data("garbage, not PEM at all\n".utf8).write(to: URL(fileURLWithPath: path("garbage.pem")))
        do {
            _ = try CertificateChain.load(pemFile: path("garbage.pem"))
            XCTFail("garbage loaded")
        } catch {
            XCTAssertEqual(error.code, .invalidCertificate)
            XCTAssertTrue(error.message.contains("garbage.pem"), error.message)
        }
        do {
            _ = try CertificateChain.load(pemFile: path("missing.pem"))
            XCTFail("missing file loaded")
        } catch {
            XCTAssertEqual(error.code, .io)
            XCTAssertTrue(error.message.contains("does not exist"), error.message)
        }
        // A key file holds no certificate.
        try openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", path("key.pem")])
        do {
            _ = try CertificateChain.load(pemFile: path("key.pem"))
            XCTFail("key file loaded as certificates")
        } catch {
            XCTAssertEqual(error.code, .invalidCertificate)
            XCTAssertTrue(error.message.contains("no PEM CERTIFICATE"), error.message)
        }
        // A CERTIFICATE block whose content is not a certificate.
        try Data("-----BEGIN CERTIFICATE-----\nAAECAwQF\n-----END CERTIFICATE-----\n".utf8).write(to: URL(fileURLWithPath: path("bad.pem")))
        XCTAssertThrowsError(try CertificateChain.load(pemFile: path("bad.pem"))) { error in
            XCTAssertEqual((error as? TesseraCrypto.CryptoError)?.code, .invalidCertificate)
        }
        XCTAssertThrowsError(try CertificateChain(derEncoded: [[0x30, 0x03, 0x02, 0x01, 0x00]]))
        XCTAssertThrowsError(try PeerPublicKey(certificateDER: [1, 2, 3]))
    }

    // MARK: - Self-signed generation

    func testSelfSignedParsesBackAndOpenSSLAcceptsIt() throws {
        let key = SigningKey.generateP256()
        let chain = try CertificateChain.selfSigned(commonName: "tessera.test", key: key)
        XCTAssertEqual(chain.certificates.count, 1)
        XCTAssertEqual(chain.leafSubject, "CN=tessera.test")
        XCTAssertEqual(chain.leafIssuer, "CN=tessera.test")
        // A DER name reads back as the same line; bytes that are not one name read as nil.
        let nameDER = try XCTUnwrap(chain.subjectNamesDER.first)
        XCTAssertEqual(CertificateChain.oneLine(nameDER: nameDER), "CN=tessera.test")
        XCTAssertNil(CertificateChain.oneLine(nameDER: Array(nameDER.dropLast())), "truncated")
        XCTAssertNil(CertificateChain.oneLine(nameDER: nameDER + [0]), "trailing byte")
        XCTAssertNil(CertificateChain.oneLine(nameDER: [0x04, 0x00]), "an OCTET STRING, not a SEQUENCE")

        let parsed = try Certificate(derEncoded: try XCTUnwrap(chain.derEncoded.first))
        XCTAssertEqual(parsed.publicKey, key.certificatePrivateKey.publicKey)
        XCTAssertEqual(parsed.signatureAlgorithm, .ecdsaWithSHA256)
        XCTAssertTrue(parsed.publicKey.isValidSignature(parsed.signature, for: parsed), "self-signature verifies")
        let san = try XCTUnwrap(try parsed.extensions.subjectAlternativeNames)
        XCTAssertTrue(san.contains(.dnsName("tessera.test")))
        XCTAssertTrue(san.contains(.dnsName("localhost")))
        XCTAssertTrue(san.contains(.ipAddress(ASN1OctetString(contentBytes: [127, 0, 0, 1]))))
        let now = Date()
        XCTAssertLessThan(parsed.notValidBefore, now)
        XCTAssertGreaterThan(parsed.notValidBefore, now.addingTimeInterval(-2 * 3600))
        XCTAssertGreaterThan(parsed.notValidAfter, now.addingTimeInterval(364 * 24 * 3600))

        try Data(chain.pemEncoded.utf8).write(to: URL(fileURLWithPath: path("self.pem")))
        let text = String(decoding: try openssl(["x509", "-noout", "-text", "-in", path("self.pem")]), as: UTF8.self)
        XCTAssertTrue(text.contains("Subject: CN = tessera.test"), text)
        XCTAssertTrue(text.contains("DNS:tessera.test, DNS:localhost, IP Address:127.0.0.1"), text)
        XCTAssertTrue(text.contains("ecdsa-with-SHA256"), text)
        // OpenSSL trusts it as its own anchor, and checks the names like our verifier does.
        let verify = String(decoding: try openssl(["verify", "-CAfile", path("self.pem"), "-verify_hostname", "localhost", path("self.pem")]), as: UTF8.self)
        XCTAssertTrue(verify.contains("OK"), verify)

        // Other key types.
        for other in [SigningKey.generateP384(), .generateEd25519()] {
            let otherChain = try CertificateChain.selfSigned(commonName: "localhost", key: other)
            let otherCert = try XCTUnwrap(otherChain.certificates.first)
            XCTAssertTrue(otherCert.publicKey.isValidSignature(otherCert.signature, for: otherCert))
            XCTAssertEqual(try otherCert.extensions.subjectAlternativeNames?.count, 2, "localhost is not repeated")
        }
    }

    // MARK: - Chain verification (OpenSSL verify codes)

    func testSelfSignedWithoutRootsIs18() async throws {
        let chain = try CertificateChain.selfSigned(commonName: "localhost", key: .generateP256())
        let verifier = try ChainVerifier(trustRoots: .certificates([]))
        let result = await verifier.verify(chain: chain.derEncoded, hostname: "localhost", at: Date())
        XCTAssertEqual(result, VerificationResult(isValid: false, code: 18, message: "self-signed certificate"))
    }

    func testSelfSignedAsItsOwnRootIsValid() async throws {
        let chain = try CertificateChain.selfSigned(commonName: "localhost", key: .generateP256())
        let verifier = try ChainVerifier(trustRoots: .certificates(chain.certificates))
        for hostname in ["localhost", "127.0.0.1", nil] {
            let result = await verifier.verify(chain: chain.derEncoded, hostname: hostname, at: Date())
            XCTAssertEqual(result, .ok, "\(hostname ?? "nil")")
        }
    }

    func testWrongHostnameIs62() async throws {
        let chain = try CertificateChain.selfSigned(commonName: "localhost", key: .generateP256())
        let verifier = try ChainVerifier(trustRoots: .certificates(chain.certificates))
        let result = await verifier.verify(chain: chain.derEncoded, hostname: "example.com", at: Date())
        XCTAssertEqual(result, VerificationResult(isValid: false, code: 62, message: "hostname mismatch"))
        let ip = await verifier.verify(chain: chain.derEncoded, hostname: "10.0.0.1", at: Date())
        XCTAssertEqual(ip.code, 64)
        XCTAssertFalse(ip.isValid)
    }

    func testExpiredIs10() async throws {
        let expired = try CertificateChain.selfSigned(
            commonName: "localhost", key: .generateP256(), notValidBefore: Date().addingTimeInterval(-10 * 86400), validity: 86400)
        let verifier = try ChainVerifier(trustRoots: .certificates(expired.certificates))
        let result = await verifier.verify(chain: expired.derEncoded, hostname: "localhost", at: Date())
        XCTAssertEqual(result, VerificationResult(isValid: false, code: 10, message: "certificate has expired"))
        // Not yet valid.
        let future = try CertificateChain.selfSigned(
            commonName: "localhost", key: .generateP256(), notValidBefore: Date().addingTimeInterval(86400), validity: 86400)
        let futureResult = await (try ChainVerifier(trustRoots: .certificates(future.certificates))).verify(chain: future.derEncoded, hostname: nil, at: Date())
        XCTAssertEqual(futureResult.code, 9)
    }

    /// RFC 5280 §4.2.1.12: a leaf whose extended key usage names only the other purpose is code
    /// 26 (OpenSSL's ssl_server / ssl_client purposes); no EKU, or both usages, pass.
    func testExtendedKeyUsageMustFitThePurpose() async throws {
        let cases: [(eku: String, server: Int, client: Int)] = [
            ("", 0, 0),
            ("extendedKeyUsage=serverAuth\n", 0, 26),
            ("extendedKeyUsage=clientAuth\n", 26, 0),
            ("extendedKeyUsage=critical,serverAuth,clientAuth\n", 0, 0),
            ("extendedKeyUsage=codeSigning\n", 26, 26),
        ]
        for vector in cases {
            let files = try makeCAChain(leafExtensions: vector.eku)
            let chain = try CertificateChain.load(pemFile: files.chainFile)
            let verifier = try ChainVerifier(trustRoots: .pemFile(files.ca))
            let server = await verifier.verify(chain: chain.derEncoded, hostname: "localhost", at: Date(), purpose: .server)
            let client = await verifier.verify(chain: chain.derEncoded, hostname: nil, at: Date(), purpose: .client)
            XCTAssertEqual(server.code, vector.server, "\(vector.eku) as a server: \(server.message)")
            XCTAssertEqual(client.code, vector.client, "\(vector.eku) as a client: \(client.message)")
        }
    }

    /// OpenSSL's verify depth (X509_VERIFY_PARAM_set_depth): intermediates between the leaf and
    /// the trust anchor; one more than allowed is code 22.
    func testVerifyDepthCountsIntermediates() async throws {
        let ca = try makeCAChain()
        // An intermediate CA under the test CA, and a leaf under the intermediate.
        try Data("basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign\n".utf8).write(to: URL(fileURLWithPath: path("int.cnf")))
        try openssl(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                     "-keyout", path("int-key.pem"), "-subj", "/CN=Tessera Intermediate", "-out", path("int.csr")])
        try openssl(["x509", "-req", "-in", path("int.csr"), "-CA", ca.ca, "-CAkey", path("ca-key.pem"), "-CAcreateserial",
                     "-days", "10", "-extfile", path("int.cnf"), "-out", path("int.pem")])
        try openssl(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                     "-keyout", path("leaf2-key.pem"), "-subj", "/CN=localhost", "-out", path("leaf2.csr")])
        try openssl(["x509", "-req", "-in", path("leaf2.csr"), "-CA", path("int.pem"), "-CAkey", path("int-key.pem"),
                     "-CAcreateserial", "-days", "10", "-extfile", path("ext.cnf"), "-out", path("leaf2.pem")])
        let leaf = try CertificateChain.load(pemFile: path("leaf2.pem")).derEncoded
        let intermediate = try CertificateChain.load(pemFile: path("int.pem")).derEncoded
        for (depth, expected) in [(nil, 0), (2, 0), (1, 0), (0, 22)] as [(Int?, Int)] {
            let verifier = try ChainVerifier(trustRoots: .pemFile(ca.ca), maximumDepth: depth)
            let result = await verifier.verify(chain: leaf + intermediate, hostname: "localhost", at: Date())
            XCTAssertEqual(result.code, expected, "depth \(depth.map(String.init) ?? "none"): \(result.message)")
        }
        // The two-certificate chain has no intermediate: depth 0 is enough.
        let direct = try ChainVerifier(trustRoots: .pemFile(ca.ca), maximumDepth: 0)
        let directResult = await direct.verify(chain: try CertificateChain.load(pemFile: ca.leaf).derEncoded, hostname: "localhost", at: Date())
        XCTAssertEqual(directResult, .ok)
    }

    func testCAIssuedChain() async throws {
        let files = try makeCAChain()
        let chain = try CertificateChain.load(pemFile: files.chainFile)
        let leafOnly = [chain.derEncoded[0]]
        let verifier = try ChainVerifier(trustRoots: .pemFile(files.ca))
        // Valid with or without the CA in the presented chain, for the DNS and the IP name.
        for presented in [chain.derEncoded, leafOnly] {
            for hostname in ["localhost", "127.0.0.1", nil] {
                let result = await verifier.verify(chain: presented, hostname: hostname, at: Date())
                XCTAssertEqual(result, .ok, "\(presented.count) \(hostname ?? "nil")")
            }
        }
        let wrongName = await verifier.verify(chain: chain.derEncoded, hostname: "tessera.example", at: Date())
        XCTAssertEqual(wrongName.code, 62)
        // Expired: the leaf is valid for 10 days.
        let later = await verifier.verify(chain: chain.derEncoded, hostname: "localhost", at: Date().addingTimeInterval(20 * 86400))
        XCTAssertEqual(later, VerificationResult(isValid: false, code: 10, message: "certificate has expired"))

        // Without the CA as a root: 19 when the untrusted self-signed CA is presented, 20 when it is not.
        let untrusted = try ChainVerifier(trustRoots: .certificates([]))
        let withCA = await untrusted.verify(chain: chain.derEncoded, hostname: "localhost", at: Date())
        XCTAssertEqual(withCA, VerificationResult(isValid: false, code: 19, message: "self-signed certificate in certificate chain"))
        let withoutCA = await untrusted.verify(chain: leafOnly, hostname: "localhost", at: Date())
        XCTAssertEqual(withoutCA, VerificationResult(isValid: false, code: 20, message: "unable to get local issuer certificate"))
        // A different root does not help.
        let other = try ChainVerifier(trustRoots: .certificates(try CertificateChain.selfSigned(commonName: "other", key: .generateP256()).certificates))
        let otherResult = await other.verify(chain: leafOnly, hostname: "localhost", at: Date())
        XCTAssertEqual(otherResult.code, 20)
    }

    func testSystemRootsDoNotTrustASelfSignedLeaf() async throws {
        let chain = try CertificateChain.selfSigned(commonName: "localhost", key: .generateP256())
        let verifier = try ChainVerifier(trustRoots: .system)
        let result = await verifier.verify(chain: chain.derEncoded, hostname: "localhost", at: Date())
        XCTAssertEqual(result.code, 18)
    }

    func testVerifierInputErrors() async throws {
        XCTAssertThrowsError(try ChainVerifier(trustRoots: .pemFile(path("nope.pem"))))
        let verifier = try ChainVerifier(trustRoots: .certificates([]))
        let empty = await verifier.verify(chain: [], hostname: nil, at: Date())
        XCTAssertFalse(empty.isValid)
        let garbage = await verifier.verify(chain: [[0x30, 0x00]], hostname: nil, at: Date())
        XCTAssertFalse(garbage.isValid)
        XCTAssertEqual(garbage.code, 1)
    }
}
