import Crypto
import Foundation
import SwiftASN1
import X509

/// A certificate chain, leaf first (RFC 5246 §7.4.2, RFC 8446 §4.4.2).
public struct CertificateChain: Sendable {
    public var certificates: [Certificate] {
        didSet { derCache = Self.encode(certificates) }
    }

    /// DER of each certificate, leaf first: what goes into the Certificate message. Cached, so a
    /// server sending the same chain on every handshake does not re-serialize it.
    public var derEncoded: [[UInt8]] { derCache }

    private var derCache: [[UInt8]]

    public init(certificates: [Certificate]) {
        self.certificates = certificates
        self.derCache = Self.encode(certificates)
    }

    /// The peer's chain as it came off the wire.
    public init(derEncoded: [[UInt8]]) throws(CryptoError) {
        var parsed: [Certificate] = []
        parsed.reserveCapacity(derEncoded.count)
        for (index, der) in derEncoded.enumerated() {
            do {
                parsed.append(try Certificate(derEncoded: der))
            } catch {
                throw CryptoError(.invalidCertificate, "cannot parse certificate \(index) of the chain: \(error)")
            }
        }
        self.certificates = parsed
        self.derCache = derEncoded
    }

    /// Every CERTIFICATE block of a PEM file, in file order (leaf first by convention).
    public static func load(pemFile path: String) throws(CryptoError) -> CertificateChain {
        let text = try readTextFile(path, what: "certificate")
        return try CertificateChain(pemEncoded: text, source: path)
    }

    /// Addition: the same from PEM text.
    public init(pemEncoded text: String) throws(CryptoError) {
        try self.init(pemEncoded: text, source: "PEM text")
    }

    private init(pemEncoded text: String, source: String) throws(CryptoError) {
        let documents: [PEMDocument]
        do {
            documents = try PEMDocument.parseMultiple(pemString: text)
        } catch {
            throw CryptoError(.invalidCertificate, "\(source) is not a PEM certificate file: \(error)")
        }
        let certificateDocuments = documents.filter { $0.discriminator == "CERTIFICATE" }
        guard !certificateDocuments.isEmpty else {
            throw CryptoError(.invalidCertificate, "\(source) contains no PEM CERTIFICATE block")
        }
        var certificates: [Certificate] = []
        for (index, document) in certificateDocuments.enumerated() {
            do {
                certificates.append(try Certificate(pemDocument: document))
            } catch {
                throw CryptoError(.invalidCertificate, "certificate \(index) in \(source) cannot be parsed: \(error)")
            }
        }
        self.init(certificates: certificates)
    }

    /// A self-signed certificate for `commonName` (SAN DNS: commonName, "localhost", IP 127.0.0.1),
    /// valid from now - 1 h for 1 year, signed by `key` (ECDSA-SHA256 for P-256). The leaf is an end
    /// entity (basicConstraints CA:FALSE) with serverAuth and clientAuth.
    public static func selfSigned(commonName: String, key: SigningKey) throws(CryptoError) -> CertificateChain {
        try selfSigned(commonName: commonName, key: key, notValidBefore: Date().addingTimeInterval(-3600), validity: 365 * 24 * 3600)
    }

    /// Addition: with explicit validity (tests of expiry).
    public static func selfSigned(
        commonName: String, key: SigningKey, notValidBefore: Date, validity: TimeInterval
    ) throws(CryptoError) -> CertificateChain {
        let privateKey = key.certificatePrivateKey
        var dnsNames = [commonName]
        if commonName != "localhost" { dnsNames.append("localhost") }
        do {
            let name = try DistinguishedName { CommonName(commonName) }
            let extensions = try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.serverAuth, .clientAuth])
                SubjectAlternativeNames(
                    dnsNames.map { GeneralName.dnsName($0) } + [.ipAddress(ASN1OctetString(contentBytes: [127, 0, 0, 1]))])
                SubjectKeyIdentifier(hash: privateKey.publicKey)
            }
            let certificate = try Certificate(
                version: .v3,
                serialNumber: Certificate.SerialNumber(),
                publicKey: privateKey.publicKey,
                notValidBefore: notValidBefore,
                notValidAfter: notValidBefore.addingTimeInterval(validity),
                issuer: name,
                subject: name,
                signatureAlgorithm: key.certificateSignatureAlgorithm,
                extensions: extensions,
                issuerPrivateKey: privateKey)
            return CertificateChain(certificates: [certificate])
        } catch {
            throw CryptoError(.invalidCertificate, "cannot generate a self-signed certificate: \(error)")
        }
    }

    /// OpenSSL-ish one line in DN order, e.g. "CN=localhost" or "C=US, O=Example, CN=www.example.com".
    public var leafSubject: String { certificates.first.map { Self.oneLine($0.subject) } ?? "" }
    public var leafIssuer: String { certificates.first.map { Self.oneLine($0.issuer) } ?? "" }

    /// The subject of every certificate as DER (X.501 Name), in order: the CA names a server sends
    /// in a CertificateRequest. A name that cannot be serialized is left out.
    public var subjectNamesDER: [[UInt8]] {
        certificates.compactMap { certificate in
            var serializer = DER.Serializer()
            guard (try? serializer.serialize(certificate.subject)) != nil else { return nil }
            return serializer.serializedBytes
        }
    }

    /// Addition: the chain as PEM text (leaf first).
    public var pemEncoded: String {
        derEncoded.map { PEMDocument(type: "CERTIFICATE", derBytes: $0).pemString }.joined(separator: "\n") + "\n"
    }

    /// A DER X.501 name as one line (as `leafSubject` prints it); nil when it does not parse.
    public static func oneLine(nameDER: [UInt8]) -> String? {
        // The typed reference picks `DERParseable`'s initializer: a plain call resolves to the
        // implicitly tagged one, whose conformance swift-certificates deprecates.
        let parse: (ASN1Node) throws -> DistinguishedName = DistinguishedName.init(derEncoded:)
        guard let root = try? DER.parse(nameDER), let name = try? parse(root) else { return nil }
        return oneLine(name)
    }

    static func oneLine(_ name: DistinguishedName) -> String {
        name.map { String(describing: $0) }.joined(separator: ", ")
    }

    private static func encode(_ certificates: [Certificate]) -> [[UInt8]] {
        certificates.compactMap { certificate in
            var serializer = DER.Serializer()
            guard (try? serializer.serialize(certificate)) != nil else { return nil }
            return serializer.serializedBytes
        }
    }
}

extension SubjectKeyIdentifier {
    /// RFC 5280 §4.2.1.2 method (1): SHA-1 of the subjectPublicKey BIT STRING content.
    init(hash publicKey: Certificate.PublicKey) {
        self.init(keyIdentifier: ArraySlice(Insecure.SHA1.hash(data: publicKey.subjectPublicKeyInfoBytes)))
    }
}
