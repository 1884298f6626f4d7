import NIOCore
import TesseraCore
import TesseraCrypto
import TesseraWire
import XCTest

final class HandshakeTests: XCTestCase {
    /// Groups we do not implement (x448 here) are dropped from a configuration's list when it is
    /// set: the client does not offer them and the server does not pick them, in either version.
    func testUnimplementedGroupsAreNeitherOfferedNorChosen() {
        for version in [ProtocolVersion.tls12, .tls13] {
            var client = clientConfiguration()
            client.maximumVersion = version
            client.groups = [NamedGroup(0x001E), .secp384r1]
            var server = serverConfiguration()
            server.maximumVersion = version
            server.groups = [NamedGroup(0x001E), .secp256r1, .secp384r1]
            var pair = Pair(client: client, server: server)
            pair.handshake()
            XCTAssertEqual(pair.clientLog.summary?.group, .secp384r1, "\(version)")
            XCTAssertEqual(pair.serverLog.summary?.group, .secp384r1, "\(version)")
        }
    }

    /// Every suite with every group, on the certificate type the suite needs; then data both ways
    /// and close_notify.
    func testEverySuiteAndGroup() {
        let suites: [(CipherSuite, (CertificateChain, SigningKey))] = [
            (.ecdheECDSAWithAES128GCMSHA256, Credentials.p256),
            (.ecdheECDSAWithAES256GCMSHA384, Credentials.p384),
            (.ecdheECDSAWithChaCha20Poly1305SHA256, Credentials.p256),
            (.ecdheRSAWithAES128GCMSHA256, Credentials.rsa),
            (.ecdheRSAWithAES256GCMSHA384, Credentials.rsa),
            (.ecdheRSAWithChaCha20Poly1305SHA256, Credentials.rsa),
        ]
        for (suite, credentials) in suites {
            for group in [NamedGroup.x25519, .secp256r1, .secp384r1] {
                var client = clientConfiguration()
                client.cipherSuites = [suite]
                client.groups = [group]
                var pair = Pair(client: client, server: serverConfiguration(credentials))
                pair.handshake()
                let label = "\(suite.openSSLName) \(group)"
                guard let summary = pair.clientLog.summary else {
                    XCTFail("\(label): no handshake: \(String(describing: pair.clientLog.closeError)) / \(String(describing: pair.serverLog.closeError))")
                    continue
                }
                XCTAssertEqual(summary.cipherSuite, suite, label)
                XCTAssertEqual(summary.group, group, label)
                XCTAssertEqual(summary.version, .tls12, label)
                XCTAssertTrue(summary.extendedMasterSecret, label)
                XCTAssertTrue(summary.secureRenegotiation, label)
                XCTAssertEqual(pair.serverLog.summary?.masterSecret, summary.masterSecret, label)
                exchangeData(&pair, label: label)
            }
        }
    }

    func testRSAServerSignsWithPSSWhenOffered() {
        var pair = Pair(server: serverConfiguration(Credentials.rsa))
        pair.handshake()
        XCTAssertEqual(pair.clientLog.summary?.peerSignatureScheme, .rsaPSSRSAESHA256)
    }

    func testRSAServerSignsWithPKCS1WhenOnlyThatIsOffered() {
        var client = clientConfiguration()
        client.signatureSchemes = [.rsaPKCS1SHA256]
        var pair = Pair(client: client, server: serverConfiguration(Credentials.rsa))
        pair.handshake()
        XCTAssertEqual(pair.clientLog.summary?.peerSignatureScheme, .rsaPKCS1SHA256)
    }

    func testWithoutExtendedMasterSecret() {
        var client = clientConfiguration()
        client.extendedMasterSecret = false
        var pair = Pair(client: client)
        pair.handshake()
        XCTAssertEqual(pair.clientLog.summary?.extendedMasterSecret, false)
        XCTAssertEqual(pair.serverLog.summary?.extendedMasterSecret, false)
        exchangeData(&pair, label: "no EMS")
    }

    func testServerRequiringEMSRefusesClientWithout() {
        var client = clientConfiguration()
        client.extendedMasterSecret = false
        var server = serverConfiguration()
        server.requireExtendedMasterSecret = true
        var pair = Pair(client: client, server: server)
        pair.handshake()
        XCTAssertEqual(pair.serverLog.closeError?.code, .handshakeFailure)
        XCTAssertEqual(pair.clientLog.closeError?.code, .peerAlert(.handshakeFailure))
    }

    func testALPN() {
        var client = clientConfiguration()
        client.alpnProtocols = ["h2", "http/1.1"]
        var server = serverConfiguration()
        server.alpnProtocols = ["http/1.1"]
        var pair = Pair(client: client, server: server)
        pair.handshake()
        XCTAssertEqual(pair.clientLog.summary?.alpn, "http/1.1")
        XCTAssertEqual(pair.serverLog.summary?.alpn, "http/1.1")
    }

    func testALPNWithoutOverlapIsFatal() {
        var client = clientConfiguration()
        client.alpnProtocols = ["h2"]
        var server = serverConfiguration()
        server.alpnProtocols = ["http/1.1"]
        var pair = Pair(client: client, server: server)
        pair.handshake()
        XCTAssertEqual(pair.serverLog.closeError?.code, .noApplicationProtocol)
        XCTAssertEqual(pair.clientLog.closeError?.code, .peerAlert(.noApplicationProtocol))
    }

    func testServerNameReachesServer() {
        var pair = Pair(serverName: "example.test")
        pair.handshake()
        XCTAssertEqual(pair.serverLog.summary?.serverName, "example.test")
    }

    func testIPAddressIsNotSentAsServerName() {
        var pair = Pair(serverName: "127.0.0.1")
        pair.handshake()
        XCTAssertNotNil(pair.serverLog.summary)
        XCTAssertNil(pair.serverLog.summary?.serverName)
    }

    /// RFC 6066 §3: only host names go in server_name; what looks like an address but is not one
    /// is a name.
    func testOnlyHostNamesAreSentAsServerName() {
        let addresses = ["10.0.0.1", "255.255.255.255", "0.0.0.0", "::1", "fe80::1", "2001:db8::8:800:200c:417a"]
        let names = ["256.1.1.1", "1.2.3", "1.2.3.4.5", "1.2.3.4.example", "1..2.3", "1.2.3.", "a.b.c.d", "localhost", "x1.2.3.4"]
        for address in addresses {
            var pair = Pair(serverName: address)
            pair.handshake()
            XCTAssertNotNil(pair.serverLog.summary, address)
            XCTAssertNil(pair.serverLog.summary?.serverName, address)
        }
        for name in names {
            var pair = Pair(serverName: name)
            pair.handshake()
            XCTAssertEqual(pair.serverLog.summary?.serverName, name)
        }
    }

    func testRequiredVerificationFailureAbortsWithUnknownCA() {
        var client = clientConfiguration()
        client.certificateVerification = .required
        var pair = Pair(client: client)
        pair.verification = VerificationResult(isValid: false, code: 18, message: "self-signed certificate")
        pair.handshake()
        XCTAssertEqual(pair.clientLog.verifyRequests, 1)
        XCTAssertNil(pair.clientLog.summary)
        XCTAssertEqual(pair.clientLog.closeError?.code, .unknownCA)
        XCTAssertEqual(pair.serverLog.closeError?.code, .peerAlert(.unknownCA))
    }

    func testReportOnlyVerificationFailureGoesOn() {
        var pair = Pair()
        pair.verification = VerificationResult(isValid: false, code: 18, message: "self-signed certificate")
        pair.handshake()
        XCTAssertEqual(pair.clientLog.summary?.verification?.code, 18)
    }

    func testApplicationDataWrittenBeforeHandshakeIsSentAfterIt() {
        var pair = Pair()
        pair.start()
        pair.absorbClient(pair.client.sendApplicationData(ByteBuffer(string: "early")))
        pair.run()
        XCTAssertEqual(pair.serverLog.applicationData, Array("early".utf8))
    }

    func testLargeWritesAreSplitIntoRecordsOfAtMost16KiB() {
        var pair = Pair()
        pair.handshake()
        let data = [UInt8](repeating: 0x5a, count: 100_000)
        let actions = pair.client.sendApplicationData(ByteBuffer(bytes: data))
        var records = 0
        for case .send(let bytes) in actions {
            for record in splitRecords(bytes) {
                records += 1
                XCTAssertLessThanOrEqual(record.readableBytes - 5, 16384 + 256)
            }
        }
        XCTAssertEqual(records, 7)
        pair.absorbClient(actions)
        pair.run()
        XCTAssertEqual(pair.serverLog.applicationData, data)
    }

    private func exchangeData(_ pair: inout Pair, label: String) {
        let toServer = (0..<70_000).map { UInt8(truncatingIfNeeded: $0) }
        let toClient = (0..<50_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        pair.absorbClient(pair.client.sendApplicationData(ByteBuffer(bytes: toServer)))
        pair.absorbServer(pair.server.sendApplicationData(ByteBuffer(bytes: toClient)))
        pair.run()
        XCTAssertTrue(pair.serverLog.applicationData == toServer, "\(label): server got \(pair.serverLog.applicationData.count) of \(toServer.count) bytes")
        XCTAssertTrue(pair.clientLog.applicationData == toClient, "\(label): client got \(pair.clientLog.applicationData.count) of \(toClient.count) bytes")
        pair.absorbClient(pair.client.close())
        pair.run()
        XCTAssertTrue(pair.serverLog.isClosed, label)
        XCTAssertNil(pair.serverLog.closeError, label)
        XCTAssertTrue(pair.clientLog.isClosed, label)
        XCTAssertNil(pair.clientLog.closeError, label)
    }
}
