import Crypto
import Foundation
import NIOCore
@testable import TesseraCore
import TesseraCrypto
import TesseraSessions
import TesseraWire
import XCTest
import _CryptoExtras

/// Client certificates: credentials distinct from the server's.
enum ClientCertificates {
    static let p256: (CertificateChain, SigningKey) = make(SigningKey.generateP256(), "client-p256")
    static let ed25519: (CertificateChain, SigningKey) = make(SigningKey.generateEd25519(), "client-ed25519")
    static let rsa: (CertificateChain, SigningKey) = {
        guard let key = try? SigningKey(pemEncoded: (try? _RSA.Signing.PrivateKey(keySize: .bits2048).pemRepresentation) ?? "") else {
            XCTFail("cannot load a generated RSA key")
            return make(SigningKey.generateP256(), "client-rsa")
        }
        return make(key, "client-rsa")
    }()

    private static func make(_ key: SigningKey, _ name: String) -> (CertificateChain, SigningKey) {
        do {
            return (try CertificateChain.selfSigned(commonName: name, key: key), key)
        } catch {
            XCTFail("cannot make a certificate: \(error)")
            return (CertificateChain(certificates: []), key)
        }
    }
}

final class ClientAuthTests: XCTestCase {
    // MARK: Configurations

    private func server(
        _ mode: TLSConfiguration.ClientAuthentication, version: ProtocolVersion,
        trusting roots: [(CertificateChain, SigningKey)] = [ClientCertificates.p256, ClientCertificates.rsa, ClientCertificates.ed25519]
    ) -> TLSConfiguration {
        var configuration = serverConfiguration()
        configuration.maximumVersion = version
        configuration.minimumVersion = version
        configuration.clientAuthentication = mode
        configuration.trustRoots = .certificates(roots.flatMap { $0.0.certificates })
        return configuration
    }

    private func client(_ credentials: (CertificateChain, SigningKey)?, version: ProtocolVersion) -> TLSConfiguration {
        var configuration = clientConfiguration()
        configuration.maximumVersion = version
        configuration.certificateChain = credentials?.0
        configuration.privateKey = credentials?.1
        return configuration
    }

    private func flight(_ pair: Pair) -> ExpectedFlights.Flight {
        ExpectedFlights.record(pair).filter { !$0.hasPrefix("S:NewSessionTicket") }
    }

    /// Application data both ways after the handshake.
    private func assertExchange(_ pair: inout Pair, _ label: String, file: StaticString = #filePath, line: UInt = #line) {
        pair.absorbClient(pair.client.sendApplicationData(ByteBuffer(string: "ping")))
        pair.run()
        pair.absorbServer(pair.server.sendApplicationData(ByteBuffer(string: "pong")))
        pair.run()
        XCTAssertEqual(pair.serverLog.applicationData, Array("ping".utf8), label, file: file, line: line)
        XCTAssertEqual(pair.clientLog.applicationData, Array("pong".utf8), label, file: file, line: line)
    }

    // MARK: Flights

    func testTLS12FlightWithClientCertificate() throws {
        var pair = Pair(client: client(ClientCertificates.p256, version: .tls12), server: server(.required, version: .tls12))
        pair.handshake()
        XCTAssertEqual(flight(pair), ExpectedFlights.full12ClientAuth)
        let serverSummary = try XCTUnwrap(pair.serverLog.summary, "\(String(describing: pair.serverLog.closeError))")
        XCTAssertEqual(serverSummary.peerCertificates, ClientCertificates.p256.0.derEncoded)
        XCTAssertTrue(serverSummary.clientCertificateRequested)
        XCTAssertTrue(serverSummary.clientCertificateSent)
        XCTAssertEqual(serverSummary.peerSignatureScheme, .ecdsaSecp256r1SHA256)
        XCTAssertEqual(serverSummary.verification?.isValid, true)
        XCTAssertEqual(pair.serverVerifiedChains, [ClientCertificates.p256.0.derEncoded])
        let clientSummary = try XCTUnwrap(pair.clientLog.summary)
        XCTAssertTrue(clientSummary.clientCertificateRequested)
        XCTAssertTrue(clientSummary.clientCertificateSent)
        assertExchange(&pair, "1.2 client auth")
    }

    /// RFC 7627 §3: the EMS session hash stops at ClientKeyExchange, before CertificateVerify;
    /// both sides must agree on it (and without EMS on the plain master secret).
    func testTLS12ClientAuthWithAndWithoutExtendedMasterSecret() {
        for ems in [true, false] {
            var clientConfiguration = client(ClientCertificates.p256, version: .tls12)
            clientConfiguration.extendedMasterSecret = ems
            var pair = Pair(client: clientConfiguration, server: server(.required, version: .tls12))
            pair.handshake()
            XCTAssertEqual(pair.serverLog.summary?.extendedMasterSecret, ems)
            XCTAssertEqual(pair.clientLog.summary?.masterSecret, pair.serverLog.summary?.masterSecret)
            assertExchange(&pair, "EMS \(ems)")
        }
    }

    func testTLS13FlightWithClientCertificate() throws {
        var pair = Pair(client: client(ClientCertificates.p256, version: .tls13), server: server(.required, version: .tls13))
        pair.handshake()
        XCTAssertEqual(flight(pair), ExpectedFlights.full13ClientAuth)
        let serverSummary = try XCTUnwrap(pair.serverLog.summary, "\(String(describing: pair.serverLog.closeError))")
        XCTAssertEqual(serverSummary.version, .tls13)
        XCTAssertEqual(serverSummary.peerCertificates, ClientCertificates.p256.0.derEncoded)
        XCTAssertTrue(serverSummary.clientCertificateSent)
        XCTAssertEqual(serverSummary.peerSignatureScheme, .ecdsaSecp256r1SHA256)
        XCTAssertEqual(pair.serverVerifiedChains, [ClientCertificates.p256.0.derEncoded])
        let clientSummary = try XCTUnwrap(pair.clientLog.summary)
        XCTAssertTrue(clientSummary.clientCertificateRequested)
        XCTAssertTrue(clientSummary.clientCertificateSent)
        // RFC 8446 §7.1: both resumption master secrets cover the client's Certificate,
        // CertificateVerify and Finished.
        XCTAssertEqual(clientSummary.masterSecret, serverSummary.masterSecret)
        assertExchange(&pair, "1.3 client auth")
    }

    func testNoCertificateRequestUnlessConfigured() {
        for version in [ProtocolVersion.tls12, .tls13] {
            var pair = Pair(client: client(ClientCertificates.p256, version: version), server: server(.none, version: version))
            pair.handshake()
            XCTAssertFalse(flight(pair).contains("S:CertificateRequest"), "\(version)")
            XCTAssertEqual(pair.serverLog.summary?.peerCertificates, [], "\(version)")
            XCTAssertEqual(pair.clientLog.summary?.clientCertificateRequested, false, "\(version)")
            XCTAssertEqual(pair.serverLog.verifyRequests, 0)
        }
    }

    // MARK: No certificate

    func testEmptyCertificateWhenOptional() {
        let cases: [(ProtocolVersion, ExpectedFlights.Flight)] = [
            (.tls12, ExpectedFlights.full12EmptyClientCertificate), (.tls13, ExpectedFlights.full13EmptyClientCertificate),
        ]
        for (version, expected) in cases {
            var pair = Pair(client: client(nil, version: version), server: server(.optional, version: version))
            pair.handshake()
            XCTAssertEqual(flight(pair), expected, "\(version)")
            XCTAssertEqual(pair.serverLog.summary?.clientCertificateRequested, true, "\(version)")
            XCTAssertEqual(pair.serverLog.summary?.clientCertificateSent, false, "\(version)")
            XCTAssertEqual(pair.serverLog.summary?.peerCertificates, [], "\(version)")
            XCTAssertEqual(pair.clientLog.summary?.clientCertificateRequested, true, "\(version)")
            XCTAssertEqual(pair.clientLog.summary?.clientCertificateSent, false, "\(version)")
            XCTAssertEqual(pair.serverLog.verifyRequests, 0, "\(version)")
            assertExchange(&pair, "empty \(version)")
        }
    }

    /// RFC 5246 §7.4.6: TLS 1.2 answers a missing certificate with handshake_failure;
    /// RFC 8446 §4.4.2.4: TLS 1.3 with certificate_required.
    func testRequiredButMissing() {
        let cases: [(ProtocolVersion, TLSError.Code, AlertDescription)] = [
            (.tls12, .handshakeFailure, .handshakeFailure), (.tls13, .certificateRequired, .certificateRequired),
        ]
        for (version, code, alert) in cases {
            var pair = Pair(client: client(nil, version: version), server: server(.required, version: version))
            pair.handshake()
            XCTAssertNil(pair.serverLog.summary, "\(version)")
            XCTAssertEqual(pair.serverLog.closeError?.code, code, "\(version)")
            XCTAssertEqual(pair.serverLog.closeError?.alert, alert, "\(version)")
            XCTAssertEqual(pair.clientLog.closeError?.code, .peerAlert(alert), "\(version)")
        }
    }

    /// RFC 5246 §7.4.6: a client whose key fits none of the requested types or schemes sends an
    /// empty Certificate rather than one the server cannot use.
    func testClientKeyThatFitsNoRequestedSchemeSendsEmpty() {
        var serverConfiguration = server(.optional, version: .tls13)
        serverConfiguration.signatureSchemes = [.ecdsaSecp256r1SHA256, .rsaPSSRSAESHA256]
        var pair = Pair(client: client(ClientCertificates.ed25519, version: .tls13), server: serverConfiguration)
        pair.handshake()
        XCTAssertEqual(pair.clientLog.summary?.clientCertificateSent, false)
        XCTAssertEqual(pair.serverLog.summary?.peerCertificates, [])
    }

    /// RFC 5246 §7.4.4 / RFC 8446 §4.2.4: configured CA names travel in the CertificateRequest
    /// (TLS 1.2's list, TLS 1.3's certificate_authorities extension) and the client reports them;
    /// without names, TLS 1.3 sends no such extension.
    func testCertificateRequestNamesTheConfiguredAuthorities() {
        let names = ClientCertificates.p256.0.subjectNamesDER + ClientCertificates.rsa.0.subjectNamesDER
        XCTAssertEqual(names.count, 2)
        for version in [ProtocolVersion.tls12, .tls13] {
            var named = server(.optional, version: version)
            named.clientCertificateAuthorityNames = names
            var pair = Pair(client: client(ClientCertificates.p256, version: version), server: named)
            pair.handshake()
            XCTAssertEqual(pair.clientLog.summary?.clientCertificateAuthorities, names, "\(version)")
            XCTAssertEqual(names.compactMap { CertificateChain.oneLine(nameDER: $0) },
                           [ClientCertificates.p256.0.leafSubject, ClientCertificates.rsa.0.leafSubject])
            XCTAssertEqual(pair.serverLog.summary?.clientCertificateSent, true, "\(version)")

            var unnamed = Pair(client: client(ClientCertificates.p256, version: version), server: server(.optional, version: version))
            unnamed.handshake()
            XCTAssertEqual(unnamed.clientLog.summary?.clientCertificateRequested, true, "\(version)")
            XCTAssertEqual(unnamed.clientLog.summary?.clientCertificateAuthorities, [], "\(version)")
        }
        XCTAssertNil(ServerClientAuth.request13(server(.optional, version: .tls13)).extension(.certificateAuthorities))
    }

    // MARK: Bad proofs and chains

    /// RFC 5246 §7.4.8 / RFC 8446 §4.4.3: a CertificateVerify that does not verify under the
    /// certificate's key is decrypt_error.
    func testBadCertificateVerifySignatureIsDecryptError() {
        let mismatched = (ClientCertificates.p256.0, SigningKey.generateP256())
        for version in [ProtocolVersion.tls12, .tls13] {
            var pair = Pair(client: client(mismatched, version: version), server: server(.optional, version: version))
            pair.handshake()
            XCTAssertNil(pair.serverLog.summary, "\(version)")
            XCTAssertEqual(pair.serverLog.closeError?.code, .decryptError, "\(version)")
            XCTAssertEqual(pair.clientLog.closeError?.code, .peerAlert(.decryptError), "\(version)")
            XCTAssertEqual(pair.serverLog.verifyRequests, 0, "no chain check before the proof of possession")
        }
    }

    /// A client leaf whose extended key usage lacks clientAuth (verify code 26, see
    /// CertificateTests.testExtendedKeyUsageMustFitThePurpose) is unsupported_certificate, as
    /// OpenSSL answers X509_V_ERR_INVALID_PURPOSE.
    func testClientCertificateForAnotherPurposeIsUnsupportedCertificate() {
        for version in [ProtocolVersion.tls12, .tls13] {
            var pair = Pair(client: client(ClientCertificates.p256, version: version), server: server(.required, version: version))
            pair.serverVerification = VerificationResult(
                isValid: false, code: 26, message: "unsupported certificate purpose: the leaf's extended key usage lacks clientAuth")
            pair.handshake()
            XCTAssertNil(pair.serverLog.summary, "\(version)")
            XCTAssertEqual(pair.serverLog.closeError?.code, .unsupportedCertificate, "\(version)")
            XCTAssertEqual(pair.clientLog.closeError?.code, .peerAlert(.unsupportedCertificate), "\(version)")
        }
    }

    /// The real verifier: a self-signed client certificate the server does not trust is
    /// unknown_ca (OpenSSL's alert for verify code 18) when verification is required, and
    /// reported but accepted with `.reportOnly`.
    func testUntrustedClientChain() async throws {
        let chain = ClientCertificates.p256.0.derEncoded
        let untrusted = await (try ChainVerifier(trustRoots: .certificates(ClientCertificates.rsa.0.certificates)))
            .verify(chain: chain, hostname: nil, at: Date())
        XCTAssertFalse(untrusted.isValid)
        XCTAssertEqual(untrusted.code, 18)
        let trusted = await (try ChainVerifier(trustRoots: .certificates(ClientCertificates.p256.0.certificates)))
            .verify(chain: chain, hostname: nil, at: Date())
        XCTAssertTrue(trusted.isValid, "a client certificate needs no host name: \(trusted.message)")

        for version in [ProtocolVersion.tls12, .tls13] {
            var pair = Pair(client: client(ClientCertificates.p256, version: version), server: server(.required, version: version))
            pair.serverVerification = untrusted
            pair.handshake()
            XCTAssertNil(pair.serverLog.summary, "\(version)")
            XCTAssertEqual(pair.serverLog.closeError?.code, .unknownCA, "\(version)")
            XCTAssertEqual(pair.clientLog.closeError?.code, .peerAlert(.unknownCA), "\(version)")

            var lenient = server(.required, version: version)
            lenient.certificateVerification = .reportOnly
            var reported = Pair(client: client(ClientCertificates.p256, version: version), server: lenient)
            reported.serverVerification = untrusted
            reported.handshake()
            XCTAssertEqual(reported.serverLog.summary?.verification?.code, 18, "\(version)")
            XCTAssertEqual(reported.serverLog.summary?.peerCertificates, chain, "\(version)")
        }
    }

    /// An expired client certificate is certificate_expired, as OpenSSL answers verify code 10.
    func testExpiredClientChainAlert() {
        var pair = Pair(client: client(ClientCertificates.p256, version: .tls13), server: server(.required, version: .tls13))
        pair.serverVerification = VerificationResult(isValid: false, code: 10, message: "certificate has expired")
        pair.handshake()
        XCTAssertEqual(pair.clientLog.closeError?.code, .peerAlert(.certificateExpired))
    }

    func testCertificateVerificationNoneSkipsTheChain() {
        var configuration = server(.required, version: .tls13, trusting: [])
        configuration.certificateVerification = .none
        var pair = Pair(client: client(ClientCertificates.p256, version: .tls13), server: configuration)
        pair.handshake()
        XCTAssertEqual(pair.serverLog.verifyRequests, 0)
        XCTAssertEqual(pair.serverLog.summary?.clientCertificateSent, true)
        XCTAssertNil(pair.serverLog.summary?.verification)
    }

    // MARK: Key types

    /// P-256, RSA (PSS in 1.3; PSS or PKCS#1 in 1.2) and Ed25519 client keys.
    func testClientKeyTypes() {
        let cases: [(String, (CertificateChain, SigningKey), ProtocolVersion, [SignatureScheme]?, SignatureScheme)] = [
            ("P-256 1.2", ClientCertificates.p256, .tls12, nil, .ecdsaSecp256r1SHA256),
            ("P-256 1.3", ClientCertificates.p256, .tls13, nil, .ecdsaSecp256r1SHA256),
            ("RSA 1.2 PSS", ClientCertificates.rsa, .tls12, nil, .rsaPSSRSAESHA256),
            ("RSA 1.2 PKCS#1", ClientCertificates.rsa, .tls12, [.ecdsaSecp256r1SHA256, .rsaPKCS1SHA256], .rsaPKCS1SHA256),
            ("RSA 1.3 PSS", ClientCertificates.rsa, .tls13, nil, .rsaPSSRSAESHA256),
            ("Ed25519 1.2", ClientCertificates.ed25519, .tls12, nil, .ed25519),
            ("Ed25519 1.3", ClientCertificates.ed25519, .tls13, nil, .ed25519),
        ]
        for (label, credentials, version, schemes, expected) in cases {
            var serverConfiguration = server(.required, version: version)
            if let schemes { serverConfiguration.signatureSchemes = schemes }
            var pair = Pair(client: client(credentials, version: version), server: serverConfiguration)
            pair.handshake()
            XCTAssertEqual(pair.serverLog.summary?.peerSignatureScheme, expected, "\(label): \(String(describing: pair.serverLog.closeError))")
            XCTAssertEqual(pair.serverLog.summary?.peerCertificates, credentials.0.derEncoded, label)
            assertExchange(&pair, label)
        }
    }

    /// TLS 1.3 has no PKCS#1 v1.5 CertificateVerify (RFC 8446 §4.4.3): a server that only lists
    /// rsa_pkcs1 gets an empty Certificate from an RSA client, and an error if it requires one.
    func testRSAClientWithOnlyPKCS1InTLS13SendsNoCertificate() {
        var serverConfiguration = server(.required, version: .tls13)
        serverConfiguration.signatureSchemes = [.ecdsaSecp256r1SHA256, .rsaPKCS1SHA256]
        var pair = Pair(client: client(ClientCertificates.rsa, version: .tls13), server: serverConfiguration)
        pair.handshake()
        XCTAssertEqual(pair.serverLog.closeError?.code, .certificateRequired)
    }

    // MARK: Resumption

    private struct World {
        var server: TLSConfiguration
        var client: TLSConfiguration
    }

    private func world(_ version: ProtocolVersion, mode: TLSConfiguration.ClientAuthentication = .required) -> World {
        let clock = ManualClock(Date(timeIntervalSince1970: 1_800_000_000))
        var serverConfiguration = server(mode, version: version)
        serverConfiguration.clock = clock
        serverConfiguration.ticketKeys = TicketKeyRing(rotate: 3600, expire: 7200, start: clock.now())
        var clientConfiguration = client(ClientCertificates.p256, version: version)
        clientConfiguration.clock = clock
        return World(server: serverConfiguration, client: clientConfiguration)
    }

    private func connect(_ world: World, session: SessionState?) -> Pair {
        var pair = Pair(client: world.client, server: world.server, session: session)
        pair.handshake()
        return pair
    }

    /// RFC 8446 §4.3.2: no CertificateRequest with a PSK; the session's ticket carries the
    /// client's certificate so the resumed server still names its peer, and the tickets issued
    /// after the resumption carry it on.
    func testTLS13ResumptionHasNoCertificateRequestAndKeepsThePeer() throws {
        let world = world(.tls13)
        let first = connect(world, session: nil)
        XCTAssertEqual(first.serverLog.summary?.clientCertificateSent, true)
        let ticket = try XCTUnwrap(first.clientLog.issued.first)
        let second = connect(world, session: ticket)
        XCTAssertEqual(second.serverLog.summary?.resumed, true)
        XCTAssertEqual(flight(second), ExpectedFlights.resumed13)
        XCTAssertEqual(second.serverLog.summary?.clientCertificateRequested, false)
        XCTAssertEqual(second.serverLog.summary?.clientCertificateSent, false)
        XCTAssertEqual(second.serverLog.summary?.peerCertificates, [ClientCertificates.p256.0.derEncoded[0]])
        XCTAssertEqual(second.serverLog.verifyRequests, 0)
        let renewed = try XCTUnwrap(second.clientLog.issued.first)
        let third = connect(world, session: renewed)
        XCTAssertEqual(third.serverLog.summary?.resumed, true)
        XCTAssertEqual(third.serverLog.summary?.peerCertificates, [ClientCertificates.p256.0.derEncoded[0]])
    }

    func testTLS12ResumptionKeepsThePeer() throws {
        let world = world(.tls12)
        let first = connect(world, session: nil)
        let session = try XCTUnwrap(first.clientLog.issued.first)
        XCTAssertEqual(first.serverLog.summary?.session?.peerCertificate, ClientCertificates.p256.0.derEncoded[0])
        let second = connect(world, session: session)
        XCTAssertEqual(second.serverLog.summary?.resumed, true)
        XCTAssertFalse(flight(second).contains("S:CertificateRequest"))
        XCTAssertEqual(second.serverLog.summary?.peerCertificates, [ClientCertificates.p256.0.derEncoded[0]])
    }

    /// A session from a handshake without a client certificate does not resume on a server that
    /// now requires one.
    func testSessionWithoutPeerDoesNotResumeWhenRequired() throws {
        for version in [ProtocolVersion.tls12, .tls13] {
            var optional = world(version, mode: .optional)
            optional.client.certificateChain = nil
            optional.client.privateKey = nil
            let first = connect(optional, session: nil)
            let session = try XCTUnwrap(first.clientLog.issued.first, "\(version)")
            var required = optional
            required.server.clientAuthentication = .required
            required.client = world(version).client
            let second = connect(required, session: session)
            XCTAssertEqual(second.serverLog.summary?.resumed, false, "\(version)")
            XCTAssertEqual(second.serverLog.summary?.clientCertificateSent, true, "\(version)")
        }
    }

    // MARK: psk_ke (RFC 8446 §4.2.9)

    private func pskWorld(serverAllows: Bool, clientModes: [PskKeyExchangeMode]?) -> World {
        var world = world(.tls13, mode: .none)
        world.server.allowPSKKE = serverAllows
        world.client.allowPSKKE = true
        world.client.offeredPSKModes = clientModes
        return world
    }

    func testPSKKEOnlyClientResumesWithoutKeyShare() throws {
        let world = pskWorld(serverAllows: true, clientModes: [.pskKE])
        let first = connect(world, session: nil)
        XCTAssertNotNil(first.clientLog.summary?.group, "the full handshake still uses ECDHE")
        let ticket = try XCTUnwrap(first.clientLog.issued.first)
        var second = connect(world, session: ticket)
        let summary = try XCTUnwrap(second.clientLog.summary, "\(String(describing: second.clientLog.closeError))")
        XCTAssertTrue(summary.resumed)
        XCTAssertNil(summary.group, "no (EC)DHE")
        XCTAssertNil(second.serverLog.summary?.group)
        // The ServerHello carries pre_shared_key and no key_share.
        let serverHello = try XCTUnwrap(second.serverLog.traces.first { $0.kind == .handshake(.serverHello) && $0.direction == .sent })
        let hello = try ServerHello(decoding: ByteBuffer(bytes: serverHello.bytes.dropFirst(4)))
        XCTAssertFalse(hello.extensions.contains(.keyShare))
        XCTAssertTrue(hello.extensions.contains(.preSharedKey))
        assertExchange(&second, "psk_ke")
    }

    func testServerWithoutPSKKEDoesAFullHandshake() throws {
        let world = pskWorld(serverAllows: false, clientModes: [.pskKE])
        let ticket = try XCTUnwrap(connect(world, session: nil).clientLog.issued.first)
        let second = connect(world, session: ticket)
        XCTAssertEqual(second.clientLog.summary?.resumed, false)
        XCTAssertNotNil(second.clientLog.summary?.group)
        XCTAssertEqual(second.clientLog.rejected, 1)
    }

    /// RFC 8446 §9.2: a psk_ke hello may carry neither key_share nor supported_groups; a
    /// server allowing psk_ke resumes it (a hand-built hello: our client always sends a share).
    func testPSKOnlyHelloWithoutKeyShareResumes() throws {
        let world = pskWorld(serverAllows: true, clientModes: [.pskKE])
        let session = try XCTUnwrap(connect(world, session: nil).clientLog.issued.first)
        let ticket = try XCTUnwrap(session.ticket)
        let hash = try XCTUnwrap(session.cipherSuite.parameters?.hash)
        let identity = PSKIdentity(identity: ticket, obfuscatedTicketAge: session.ticketAgeAdd ?? 0)
        var hello = ClientHello(
            legacyVersion: .tls12, random: SecureRandom.bytes(32), sessionID: [], cipherSuites: [session.cipherSuite],
            compressionMethods: [0],
            extensions: [
                .serverName(["localhost"]), .supportedVersionsOffered([.tls13]), .signatureAlgorithms([.ecdsaSecp256r1SHA256]),
                .pskKeyExchangeModes([.pskKE]),
                .preSharedKeyOffered(OfferedPSKs(identities: [identity], binders: [[UInt8](repeating: 0, count: hash.outputLength)])),
            ])
        let binder = try XCTUnwrap(PSKBinder.compute(psk: session.masterSecret, hash: hash, hello: hello, prefix: nil))
        hello.extensions[hello.extensions.count - 1] = .preSharedKeyOffered(OfferedPSKs(identities: [identity], binders: [binder]))
        var server = ServerConnection(configuration: world.server)
        let actions = server.receive(record(.handshake, Array(HandshakeMessage.clientHello(hello).encoded(version: .tls12).readableBytesView)))
        var sent: [ByteBuffer] = []
        for action in actions {
            switch action {
            case .send(let bytes): sent.append(contentsOf: splitRecords(bytes))
            case .closed(let error): XCTFail("server closed: \(String(describing: error))")
            default: continue
            }
        }
        let first = try XCTUnwrap(sent.first)
        let body = try XCTUnwrap(first.getSlice(at: first.readerIndex + 9, length: first.readableBytes - 9))
        let serverHello = try ServerHello(decoding: body)
        XCTAssertFalse(serverHello.extensions.contains(.keyShare))
        XCTAssertEqual(serverHello.extensions.first(.preSharedKey), .preSharedKeySelected(0))
    }

    /// Both modes offered: psk_dhe_ke stays preferred.
    func testPSKDHEKEPreferredWhenBothOffered() throws {
        let world = pskWorld(serverAllows: true, clientModes: nil)
        let ticket = try XCTUnwrap(connect(world, session: nil).clientLog.issued.first)
        let second = connect(world, session: ticket)
        XCTAssertEqual(second.clientLog.summary?.resumed, true)
        XCTAssertNotNil(second.clientLog.summary?.group)
        let hello = try XCTUnwrap(second.clientLog.traces.first { $0.kind == .handshake(.clientHello) })
        let decoded = try ClientHello(decoding: ByteBuffer(bytes: hello.bytes.dropFirst(4)))
        XCTAssertEqual(decoded.extensions.first(.pskKeyExchangeModes), .pskKeyExchangeModes([.pskDHEKE, .pskKE]))
    }
}

/// Drop, duplicate and reorder each message of the client's client-auth flight: the server must
/// answer with unexpected_message (never crash, never complete). TLS 1.3 messages are re-sealed
/// under the client's handshake keys (from the key log) so that the state machine, not the
/// record layer, sees the mutation.
final class ClientAuthMutationTests: XCTestCase {
    enum Mutation: CaseIterable { case drop, duplicate, swapWithNext }

    private func mutate<T>(_ items: [T], _ index: Int, _ mutation: Mutation) -> [T]? {
        var items = items
        switch mutation {
        case .drop: items.remove(at: index)
        case .duplicate: items.insert(items[index], at: index)
        case .swapWithNext:
            guard index + 1 < items.count else { return nil }
            items.swapAt(index, index + 1)
        }
        return items
    }

    private func configurations(_ version: ProtocolVersion) -> (client: TLSConfiguration, server: TLSConfiguration) {
        var server = serverConfiguration()
        server.maximumVersion = version
        server.clientAuthentication = .required
        server.trustRoots = .certificates(ClientCertificates.p256.0.certificates)
        var client = clientConfiguration()
        client.maximumVersion = version
        client.certificateChain = ClientCertificates.p256.0
        client.privateKey = ClientCertificates.p256.1
        return (client.unpacked, server.unpacked)
    }

    /// TLS 1.2: Certificate, ClientKeyExchange and CertificateVerify are plaintext records
    /// before the CCS.
    func testTLS12ClientFlightMutated() {
        let (clientConfiguration, serverConfiguration) = configurations(.tls12)
        var reference = Pair(client: clientConfiguration, server: serverConfiguration)
        let count = reference.clientSecondFlight().count
        XCTAssertEqual(count, 5, "Certificate, ClientKeyExchange, CertificateVerify, CCS, Finished")
        // The three plaintext handshake records (the CCS and Finished are MutationTests' job).
        for index in 0..<3 {
            for mutation in Mutation.allCases {
                var pair = Pair(client: clientConfiguration, server: serverConfiguration)
                let flight = pair.clientSecondFlight()
                guard let mutated = mutate(flight, index, mutation) else { continue }
                for record in mutated { pair.absorbServer(pair.server.receive(record)) }
                let label = "1.2 client record \(index) \(mutation)"
                XCTAssertNil(pair.serverLog.summary, label)
                XCTAssertEqual(pair.serverLog.closeError?.code, .unexpectedMessage, "\(label): \(String(describing: pair.serverLog.closeError))")
                XCTAssertEqual(plaintextAlert(in: pair.serverLog.sent)?.alertDescription, .unexpectedMessage, label)
            }
        }
    }

    /// The server's CertificateRequest (1.2, plaintext) dropped, duplicated or moved: the client
    /// fails with unexpected_message, except a drop, which a client takes for "no request".
    func testTLS12CertificateRequestMutated() throws {
        let (clientConfiguration, serverConfiguration) = configurations(.tls12)
        for mutation in Mutation.allCases {
            var pair = Pair(client: clientConfiguration, server: serverConfiguration)
            let flight = pair.serverFirstFlight()
            XCTAssertEqual(flight.count, 5, "ServerHello, Certificate, ServerKeyExchange, CertificateRequest, ServerHelloDone")
            // Swapping CertificateRequest with ServerHelloDone, or moving ServerKeyExchange after it.
            let index = mutation == .swapWithNext ? 2 : 3
            guard let mutated = mutate(flight, index, mutation) else { continue }
            for record in mutated { pair.absorbClient(pair.client.receive(record)) }
            let label = "1.2 CertificateRequest \(mutation)"
            if mutation == .drop {
                // The client sends no Certificate; the server, which asked, refuses that.
                pair.run()
                XCTAssertEqual(pair.serverLog.closeError?.code, .unexpectedMessage, label)
            } else {
                XCTAssertEqual(pair.clientLog.closeError?.code, .unexpectedMessage, "\(label): \(String(describing: pair.clientLog.closeError))")
            }
            XCTAssertNil(pair.clientLog.summary, label)
        }
    }

    func testTLS13ClientFlightMutated() throws {
        var (clientConfiguration, serverConfiguration) = configurations(.tls13)
        let keyLog = KeyLogLines()
        clientConfiguration.keyLog = { line in keyLog.append(line) }
        for index in 0..<3 {
            for mutation in Mutation.allCases {
                var pair = Pair(client: clientConfiguration, server: serverConfiguration)
                let records = pair.clientSecondFlight()
                // CCS, then Certificate, CertificateVerify, Finished, each in its own record.
                XCTAssertEqual(records.count, 4)
                let secretLine = try XCTUnwrap(keyLog.take().first { $0.hasPrefix("CLIENT_HANDSHAKE_TRAFFIC_SECRET ") })
                let secret = try XCTUnwrap([UInt8](hexString: String(secretLine.split(separator: " ")[2])))
                let parameters = try XCTUnwrap(pair.clientLog.summary?.cipherSuite.parameters)
                let keys = KeySchedule13.trafficKeys(secret: secret, parameters: parameters)
                var opener = try RecordProtection(parameters: parameters, key: keys.key, iv: keys.iv)
                var messages: [[UInt8]] = []
                for record in records.dropFirst() {
                    let fragment = try XCTUnwrap(record.getSlice(at: record.readerIndex + 5, length: record.readableBytes - 5))
                    let opened = try opener.open(TLSRecord(contentType: .applicationData, version: .tls12, fragment: fragment))
                    messages.append(Array(opened.plaintext.readableBytesView))
                }
                XCTAssertEqual(messages.map { $0.first }, [0x0B, 0x0F, 0x14])
                guard let mutated = mutate(messages, index, mutation) else { continue }
                var sealer = try RecordProtection(parameters: parameters, key: keys.key, iv: keys.iv)
                var out = ByteBuffer()
                for message in mutated { try sealer.seal(contentType: .handshake, plaintext: message, into: &out) }
                pair.absorbServer(pair.server.receive(records[0]))
                pair.absorbServer(pair.server.receive(out))
                let label = "1.3 client message \(index) \(mutation)"
                if mutation == .drop, index == 2 {
                    XCTAssertFalse(pair.serverLog.isClosed, label)  // waits for the Finished
                    XCTAssertNil(pair.serverLog.summary, label)
                    continue
                }
                if mutation == .duplicate, index == 2 {
                    // The second Finished arrives after the handshake, under the handshake keys
                    // the server no longer reads with (RFC 8446 §7.3).
                    XCTAssertNotNil(pair.serverLog.summary, label)
                    XCTAssertEqual(pair.serverLog.closeError?.code, .badRecordMAC, label)
                    continue
                }
                XCTAssertNil(pair.serverLog.summary, label)
                XCTAssertEqual(pair.serverLog.closeError?.code, .unexpectedMessage, "\(label): \(String(describing: pair.serverLog.closeError))")
            }
        }
    }

    /// The server's TLS 1.3 flight with its CertificateRequest (EncryptedExtensions,
    /// CertificateRequest, Certificate, CertificateVerify, Finished), re-sealed under the server's
    /// handshake keys after each mutation, fed to the client.
    func testTLS13ServerFlightMutated() throws {
        var (clientConfiguration, serverConfiguration) = configurations(.tls13)
        clientConfiguration.groups = [.x25519]
        let keyLog = KeyLogLines()
        serverConfiguration.keyLog = { line in keyLog.append(line) }
        for index in 0..<5 {
            for mutation in Mutation.allCases {
                var pair = Pair(client: clientConfiguration, server: serverConfiguration)
                let records = pair.serverFirstFlight()
                // ServerHello and CCS in the clear, then one encrypted record per message.
                let clear = records.prefix { $0.getInteger(at: $0.readerIndex, as: UInt8.self) != ContentType.applicationData.rawValue }
                let encrypted = Array(records.dropFirst(clear.count))
                XCTAssertEqual(encrypted.count, 5)
                let secretLine = try XCTUnwrap(keyLog.take().first { $0.hasPrefix("SERVER_HANDSHAKE_TRAFFIC_SECRET ") })
                let secret = try XCTUnwrap([UInt8](hexString: String(secretLine.split(separator: " ")[2])))
                let parameters = try XCTUnwrap(CipherSuite.tlsAES128GCMSHA256.parameters)
                let keys = KeySchedule13.trafficKeys(secret: secret, parameters: parameters)
                var opener = try RecordProtection(parameters: parameters, key: keys.key, iv: keys.iv)
                var messages: [[UInt8]] = []
                for record in encrypted {
                    let fragment = try XCTUnwrap(record.getSlice(at: record.readerIndex + 5, length: record.readableBytes - 5))
                    let opened = try opener.open(TLSRecord(contentType: .applicationData, version: .tls12, fragment: fragment))
                    messages.append(Array(opened.plaintext.readableBytesView))
                }
                XCTAssertEqual(messages.map { $0.first }, [0x08, 0x0D, 0x0B, 0x0F, 0x14])
                guard let mutated = mutate(messages, index, mutation) else { continue }
                var sealer = try RecordProtection(parameters: parameters, key: keys.key, iv: keys.iv)
                var out = ByteBuffer()
                for message in mutated { try sealer.seal(contentType: .handshake, plaintext: message, into: &out) }
                for record in clear { pair.absorbClient(pair.client.receive(record)) }
                pair.absorbClient(pair.client.receive(out))
                let label = "1.3 server message \(index) \(mutation)"
                let error = pair.clientLog.closeError
                switch (index, mutation) {
                case (4, .drop):
                    XCTAssertFalse(pair.clientLog.isClosed, label)  // waits for the Finished
                    XCTAssertNil(pair.clientLog.summary, label)
                case (4, .duplicate):
                    // After its Finished the client reads under the server's application keys.
                    XCTAssertNotNil(pair.clientLog.summary, label)
                    XCTAssertEqual(error?.code, .badRecordMAC, label)
                case (1, .drop):
                    // Without the request in its transcript the server's signature fails.
                    XCTAssertEqual(error?.code, .decryptError, label)
                default:
                    XCTAssertNil(pair.clientLog.summary, label)
                    XCTAssertEqual(error?.code, .unexpectedMessage, "\(label): \(String(describing: error))")
                }
            }
        }
    }

    /// RFC 8446 §4.6.2: we never offer post_handshake_auth, so a CertificateRequest after the
    /// handshake is unexpected_message.
    func testPostHandshakeCertificateRequestIsRefused() throws {
        var (clientConfiguration, serverConfiguration) = configurations(.tls13)
        let keyLog = KeyLogLines()
        serverConfiguration.keyLog = { line in keyLog.append(line) }
        serverConfiguration.clientAuthentication = .none
        serverConfiguration.ticketCount13 = 0
        var pair = Pair(client: clientConfiguration, server: serverConfiguration)
        pair.handshake()
        let summary = try XCTUnwrap(pair.clientLog.summary)
        let parameters = try XCTUnwrap(summary.cipherSuite.parameters)
        let secretLine = try XCTUnwrap(keyLog.take().first { $0.hasPrefix("SERVER_TRAFFIC_SECRET_0 ") })
        let secret = try XCTUnwrap([UInt8](hexString: String(secretLine.split(separator: " ")[2])))
        let keys = KeySchedule13.trafficKeys(secret: secret, parameters: parameters)
        var sealer = try RecordProtection(parameters: parameters, key: keys.key, iv: keys.iv)
        let request = HandshakeMessage.certificateRequest13(CertificateRequest13(
            requestContext: [1, 2, 3, 4], extensions: [.signatureAlgorithms([.ecdsaSecp256r1SHA256])]))
        var out = ByteBuffer()
        try sealer.seal(contentType: .handshake, plaintext: Array(request.encoded(version: .tls13).readableBytesView), into: &out)
        pair.absorbClient(pair.client.receive(out))
        XCTAssertEqual(pair.clientLog.closeError?.code, .unexpectedMessage)
    }
}

/// Key log lines collected from the connection (the closure is @Sendable).
final class KeyLogLines: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []

    func append(_ line: String) {
        lock.withLock { lines.append(line) }
    }

    /// The lines so far, cleared.
    func take() -> [String] {
        lock.withLock {
            defer { lines = [] }
            return lines
        }
    }
}
