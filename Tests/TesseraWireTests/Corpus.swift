import NIOCore
import XCTest

@testable import TesseraWire

/// Valid messages of every type: the vectors plus hand-built ones for the types the vectors lack
/// (TLS 1.2 full-handshake messages, KeyUpdate, CertificateStatus, extension shapes).
enum Corpus {
    static let random = [UInt8](repeating: 0x5A, count: 32)

    static var synthetic: [(HandshakeMessage, ProtocolVersion)] {
        let fullClientHello = ClientHello(
            legacyVersion: .tls12, random: random, sessionID: [UInt8](repeating: 0x11, count: 32),
            cipherSuites: [.tlsAES128GCMSHA256, .ecdheECDSAWithAES128GCMSHA256, CipherSuite(0x0A0A)],
            compressionMethods: [0],
            extensions: [
                .serverName(["example.com"]),
                .supportedGroups([.x25519, .secp256r1]),
                .ecPointFormats([.uncompressed]),
                .signatureAlgorithms([.ecdsaSecp256r1SHA256, .rsaPSSRSAESHA256]),
                .signatureAlgorithmsCert([.ed25519]),
                .alpn([Array("h2".utf8), Array("http/1.1".utf8)]),
                .statusRequest([0x01, 0x00, 0x00, 0x00, 0x00]),
                .sessionTicket([]),
                .extendedMasterSecret,
                .renegotiationInfo([]),
                .supportedVersionsOffered([.tls13, .tls12]),
                .keyShareOffered([KeyShareEntry(group: .x25519, keyExchange: [UInt8](repeating: 0x42, count: 32))]),
                .pskKeyExchangeModes([.pskDHEKE]),
                .earlyData(maxEarlyDataSize: nil),
                .cookie([1, 2, 3]),
                .padding(5),
                .unknown(ExtensionType(0x1A1A), [0xFF]),
                .preSharedKeyOffered(
                    OfferedPSKs(
                        identities: [PSKIdentity(identity: [9, 9, 9], obfuscatedTicketAge: 0xDEAD_BEEF)],
                        binders: [[UInt8](repeating: 0xB1, count: 32)])),
            ])
        return [
            (.helloRequest, .tls12),
            (.clientHello(fullClientHello), .tls12),
            (
                .clientHello(
                    ClientHello(
                        legacyVersion: .tls12, random: random, sessionID: [], cipherSuites: [.ecdheRSAWithAES128GCMSHA256],
                        compressionMethods: [0], extensions: [])), .tls12
            ),
            (
                .serverHello(
                    ServerHello(
                        legacyVersion: .tls12, random: random, sessionID: [1, 2], cipherSuite: .ecdheRSAWithAES128GCMSHA256,
                        compressionMethod: 0,
                        extensions: [
                            .renegotiationInfo([UInt8](repeating: 3, count: 24)), .extendedMasterSecret, .sessionTicket([]),
                            .ecPointFormats([.uncompressed]), .alpn([Array("h2".utf8)]), .serverName([]),
                        ])), .tls12
            ),
            (
                .serverHello(
                    ServerHello(
                        legacyVersion: .tls12, random: random, sessionID: [], cipherSuite: .tlsAES256GCMSHA384,
                        compressionMethod: 0,
                        extensions: [
                            .supportedVersionSelected(.tls13),
                            .keyShareSelected(KeyShareEntry(group: .secp256r1, keyExchange: [4] + [UInt8](repeating: 1, count: 64))),
                            .preSharedKeySelected(0),
                        ])), .tls13
            ),
            (
                .helloRetryRequest(
                    ServerHello(
                        legacyVersion: .tls12, random: ServerHello.helloRetryRequestRandom, sessionID: [],
                        cipherSuite: .tlsAES128GCMSHA256, compressionMethod: 0,
                        extensions: [.supportedVersionSelected(.tls13), .keyShareRetry(.secp384r1), .cookie([7, 7])])),
                .tls13
            ),
            (.newSessionTicket12(NewSessionTicket12(lifetimeHint: 7200, ticket: [1, 2, 3, 4])), .tls12),
            (.newSessionTicket12(NewSessionTicket12(lifetimeHint: 0, ticket: [])), .tls12),
            (
                .newSessionTicket13(
                    NewSessionTicket13(
                        lifetime: 604_800, ageAdd: 0x0102_0304, nonce: [0], ticket: [0xAA, 0xBB],
                        extensions: [.earlyData(maxEarlyDataSize: 16384), .unknown(ExtensionType(0x2A2A), [])])), .tls13
            ),
            (.endOfEarlyData, .tls13),
            (
                .encryptedExtensions(
                    EncryptedExtensions(extensions: [
                        .serverName([]), .alpn([Array("h2".utf8)]), .earlyData(maxEarlyDataSize: nil),
                        .supportedGroups([.x25519]),
                    ])), .tls13
            ),
            (
                .certificate(
                    CertificateMessage(
                        requestContext: [],
                        entries: [CertificateEntry(certificate: [0x30, 0x03, 0x02, 0x01, 0x01]), CertificateEntry(certificate: [0x30, 0x00])])),
                .tls12
            ),
            (.certificate(CertificateMessage(requestContext: [], entries: [])), .tls12),
            (
                .certificate(
                    CertificateMessage(
                        requestContext: [0x01, 0x02],
                        entries: [
                            CertificateEntry(
                                certificate: [0x30, 0x00],
                                extensions: [.statusRequest([0x01, 0x00, 0x00, 0x01, 0x55])])
                        ])), .tls13
            ),
            (
                .serverKeyExchange(
                    ServerKeyExchange(
                        group: .x25519, publicKey: [UInt8](repeating: 0x99, count: 32), signatureScheme: .rsaPSSRSAESHA256,
                        signature: [UInt8](repeating: 0x77, count: 256))), .tls12
            ),
            (
                .certificateRequest12(
                    CertificateRequest12(
                        certificateTypes: [1, 64], signatureSchemes: [.rsaPKCS1SHA256, .ecdsaSecp256r1SHA256],
                        certificateAuthorities: [[0x30, 0x00], [0x30, 0x02, 0x05, 0x00]])), .tls12
            ),
            (
                .certificateRequest13(
                    CertificateRequest13(
                        requestContext: [], extensions: [
                            .signatureAlgorithms([.ed25519]), .certificateAuthorities([[0x30, 0x00], [0x30, 0x02, 0x05, 0x00]]),
                            .unknown(ExtensionType(0x3A3A), [1]),
                        ])),
                .tls13
            ),
            (.serverHelloDone, .tls12),
            (.certificateVerify(CertificateVerify(scheme: .ecdsaSecp256r1SHA256, signature: [0x30, 0x06, 1, 2, 3, 4, 5, 6])), .tls12),
            (.clientKeyExchange(ClientKeyExchange(publicKey: [UInt8](repeating: 0x21, count: 32))), .tls12),
            (.finished(Finished(verifyData: [UInt8](repeating: 0xF1, count: 12))), .tls12),
            (.certificateStatus(CertificateStatus(response: [0x30, 0x03, 0x0A, 0x01, 0x00])), .tls12),
            (.keyUpdate(KeyUpdate(request: .updateRequested)), .tls13),
            (.keyUpdate(KeyUpdate(request: .updateNotRequested)), .tls13),
            (.unknown(HandshakeType(0x43), [1, 2, 3]), .tls12),
        ]
    }

    /// The body decoder that matches a message's type and version.
    static func decoderName(for type: HandshakeType, version: ProtocolVersion) -> String? {
        let is13 = version == .tls13
        switch type {
        case .helloRequest: return "HelloRequest"
        case .clientHello: return "ClientHello"
        case .serverHello: return "ServerHello"
        case .newSessionTicket: return is13 ? "NewSessionTicket13" : "NewSessionTicket12"
        case .endOfEarlyData: return "EndOfEarlyData"
        case .encryptedExtensions: return "EncryptedExtensions"
        case .certificate: return is13 ? "Certificate13" : "Certificate12"
        case .serverKeyExchange: return "ServerKeyExchange"
        case .certificateRequest: return is13 ? "CertificateRequest13" : "CertificateRequest12"
        case .serverHelloDone: return "ServerHelloDone"
        case .certificateVerify: return "CertificateVerify"
        case .clientKeyExchange: return "ClientKeyExchange"
        case .finished: return "Finished"
        case .certificateStatus: return "CertificateStatus"
        case .keyUpdate: return "KeyUpdate"
        default: return nil
        }
    }

    /// Every valid whole message we have (header + body) with the version to decode it under.
    static func allMessages() throws -> [(bytes: [UInt8], version: ProtocolVersion)] {
        var messages: [(bytes: [UInt8], version: ProtocolVersion)] = []
        for (label, contentType, bytes) in try Vectors.seed() where contentType == "Handshake" {
            _ = label
            messages.append((bytes, .tls12))
        }
        for vector in try Vectors.trace()
        where Vectors.handshakeNames.contains(vector.name) && declaredMessageLength(vector.bytes) == vector.bytes.count {
            messages.append((vector.bytes, .tls13))
        }
        for (message, version) in synthetic {
            messages.append((message.encoded(version: version).bytes, version))
        }
        return messages
    }
}
