import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SwiftASN1
@_spi(FixedExpiryValidationTime) import X509

/// Where trusted roots come from.
public enum TrustRoots: Sendable {
    /// The system store (/etc/ssl/certs/ca-certificates.crt on Debian).
    case system
    /// A PEM bundle, like `-CAfile`.
    case pemFile(String)
    case certificates([Certificate])
}

/// The outcome of chain verification in OpenSSL's terms, so `s_client`-style reports read the same.
public struct VerificationResult: Sendable, Hashable {
    public var isValid: Bool
    /// OpenSSL verify codes: 0 ok, 1 unspecified, 9 not yet valid, 10 certificate has expired,
    /// 18 self-signed certificate, 19 self-signed certificate in certificate chain,
    /// 20 unable to get local issuer certificate, 24 invalid CA certificate, 25 path length
    /// constraint exceeded, 34 unhandled critical extension, 62 hostname mismatch, 64 IP address mismatch.
    public var code: Int
    /// OpenSSL's text for the code: "ok", "self-signed certificate", ...
    public var message: String

    public init(isValid: Bool, code: Int, message: String) {
        self.isValid = isValid
        self.code = code
        self.message = message
    }

    public static let ok = VerificationResult(isValid: true, code: 0, message: "ok")

    static func failure(_ code: Int, _ message: String) -> VerificationResult {
        VerificationResult(isValid: false, code: code, message: message)
    }
}

/// RFC 5280 path validation with swift-certificates' `Verifier`, plus the RFC 6125 host name check
/// (`ServerIdentityPolicy`), with failures classified into OpenSSL's verify codes.
public struct ChainVerifier: Sendable {
    private let store: CertificateStore
    /// The explicit roots (empty for the system store), to recognise a trust anchor presented as the leaf.
    private let explicitRoots: [Certificate]
    /// OpenSSL's verify depth: the most intermediates between the leaf and the trust anchor.
    private let maximumDepth: Int?

    public init(trustRoots: TrustRoots, maximumDepth: Int? = nil) throws(CryptoError) {
        self.maximumDepth = maximumDepth
        switch trustRoots {
        case .system:
            store = CertificateStore.systemTrustRoots
            explicitRoots = []
        case .pemFile(let path):
            explicitRoots = try CertificateChain.load(pemFile: path).certificates
            store = CertificateStore(explicitRoots)
        case .certificates(let certificates):
            explicitRoots = certificates
            store = CertificateStore(certificates)
        }
    }

    /// What the leaf is for: a TLS server (checked by clients) or a TLS client (checked by servers).
    public enum Purpose: Sendable, Hashable {
        case server, client
    }

    /// Verifies `chain` (DER, leaf first) at `time`, and the leaf's name against `hostname` when given.
    /// A leaf with an extended key usage extension must list the purpose's usage (serverAuth or
    /// clientAuth, RFC 5280 §4.2.1.12), as OpenSSL's ssl_server / ssl_client purposes require;
    /// otherwise verify code 26, "unsupported certificate purpose".
    public func verify(chain: [[UInt8]], hostname: String?, at time: Date, purpose: Purpose = .server) async -> VerificationResult {
        guard !chain.isEmpty else { return .failure(1, "no certificate presented") }
        let certificates: [Certificate]
        do {
            certificates = try CertificateChain(derEncoded: chain).certificates
        } catch {
            return .failure(1, "unable to decode certificate: \(error.message)")
        }
        let result = await verifyPath(certificates, hostname: hostname, at: time)
        guard result.isValid else { return result }
        if let failure = Self.purposeFailure(certificates[0], purpose) { return failure }
        return result
    }

    private static func purposeFailure(_ leaf: Certificate, _ purpose: Purpose) -> VerificationResult? {
        let usages: ExtendedKeyUsage?
        do {
            usages = try leaf.extensions.extendedKeyUsage
        } catch {
            return .failure(26, "unsupported certificate purpose: unreadable extended key usage")
        }
        guard let usages else { return nil }
        let needed: ExtendedKeyUsage.Usage = purpose == .server ? .serverAuth : .clientAuth
        guard usages.contains(needed) else {
            return .failure(26, "unsupported certificate purpose: the leaf's extended key usage lacks \(purpose == .server ? "serverAuth" : "clientAuth")")
        }
        return nil
    }

    /// `certificates` is not empty (checked by `verify`).
    private func verifyPath(_ certificates: [Certificate], hostname: String?, at time: Date) async -> VerificationResult {
        let leaf = certificates[0]
        let intermediates = CertificateStore(certificates.dropFirst())

        if let unhandled = Self.unhandledCriticalExtension(in: certificates) {
            return .failure(34, "unhandled critical extension \(unhandled)")
        }

        // A trust anchor presented as the leaf (a self-signed server certificate given as -CAfile) is
        // trusted as is, as OpenSSL does: no CA flag is required of it; validity and name still count.
        if explicitRoots.contains(leaf) {
            if let expiry = Self.validityFailure([leaf], at: time) { return expiry }
            return await checkName(leaf: leaf, roots: CertificateStore([leaf]), intermediates: CertificateStore(), hostname: hostname)
        }

        var verifier = Verifier(rootCertificates: store) {
            RFC5280Policy(fixedExpiryValidationTime: time)
            HandledExtensions()
        }
        switch await verifier.validate(leaf: leaf, intermediates: intermediates) {
        case .validCertificate(let path):
            // X509_VERIFY_PARAM_set_depth: neither the leaf nor the trust anchor counts.
            if let maximumDepth, path.count - 2 > maximumDepth {
                return .failure(22, "certificate chain too long: \(path.count - 2) intermediates, verify depth \(maximumDepth)")
            }
            return await checkName(leaf: leaf, roots: store, intermediates: intermediates, hostname: hostname, time: time)
        case .couldNotValidate(let failures):
            return Self.classify(failures: failures, presented: certificates, at: time)
        }
    }

    // MARK: - Host name (RFC 6125 via ServerIdentityPolicy)

    private func checkName(
        leaf: Certificate, roots: CertificateStore, intermediates: CertificateStore, hostname: String?, time: Date? = nil
    ) async -> VerificationResult {
        guard let hostname, !hostname.isEmpty else { return .ok }
        var name = hostname
        if name.hasPrefix("["), name.hasSuffix("]") { name = String(name.dropFirst().dropLast()) }
        let isIP = Self.isIPAddress(name)
        let policy = ServerIdentityPolicy(serverHostname: isIP ? nil : name, serverIP: isIP ? name : nil)
        let result: CertificateValidationResult
        if let time {
            var verifier = Verifier(rootCertificates: roots) {
                RFC5280Policy(fixedExpiryValidationTime: time)
                HandledExtensions()
                policy
            }
            result = await verifier.validate(leaf: leaf, intermediates: intermediates)
        } else {
            var verifier = Verifier(rootCertificates: roots) {
                HandledExtensions()
                policy
            }
            result = await verifier.validate(leaf: leaf, intermediates: intermediates)
        }
        switch result {
        case .validCertificate: return .ok
        case .couldNotValidate:
            return isIP ? .failure(64, "IP address mismatch") : .failure(62, "hostname mismatch")
        }
    }

    private static func isIPAddress(_ text: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, text, &v4) == 1 || inet_pton(AF_INET6, text, &v6) == 1
    }

    // MARK: - Classification

    private static func classify(
        failures: [CertificateValidationResult.PolicyFailure], presented: [Certificate], at time: Date
    ) -> VerificationResult {
        // A chain to a root was found but failed RFC 5280 policy.
        if let failure = failures.first {
            for candidate in failures {
                if let expiry = validityFailure(Array(candidate.chain), at: time) { return expiry }
            }
            let reason = String(describing: failure.policyFailureReason)
            if reason.contains("not marked as a CA") { return .failure(24, "invalid CA certificate") }
            if reason.contains("maximum path length") { return .failure(25, "path length constraint exceeded") }
            return .failure(1, "unspecified certificate verification error: \(reason)")
        }
        // No chain to any trusted root: say why the way OpenSSL does.
        guard let leaf = presented.first else { return .failure(1, "no certificate presented") }
        if isSelfSigned(leaf) { return .failure(18, "self-signed certificate") }
        var current = leaf
        for _ in 0..<presented.count {
            guard let issuer = presented.dropFirst().first(where: { $0.subject == current.issuer && signed($0, current) }) else {
                break
            }
            if isSelfSigned(issuer) { return .failure(19, "self-signed certificate in certificate chain") }
            current = issuer
        }
        return .failure(20, "unable to get local issuer certificate")
    }

    private static func validityFailure(_ chain: [Certificate], at time: Date) -> VerificationResult? {
        for certificate in chain {
            if certificate.notValidAfter < time { return .failure(10, "certificate has expired") }
            if certificate.notValidBefore > time { return .failure(9, "certificate is not yet valid") }
        }
        return nil
    }

    private static func isSelfSigned(_ certificate: Certificate) -> Bool {
        certificate.subject == certificate.issuer && signed(certificate, certificate)
    }

    private static func signed(_ issuer: Certificate, _ subject: Certificate) -> Bool {
        issuer.publicKey.isValidSignature(subject.signature, for: subject)
    }

    private static func unhandledCriticalExtension(in certificates: [Certificate]) -> ASN1ObjectIdentifier? {
        let handled = HandledExtensions().verifyingCriticalExtensions + RFC5280Policy().verifyingCriticalExtensions
        for certificate in certificates {
            for ext in certificate.extensions where ext.critical && !handled.contains(ext.oid) {
                return ext.oid
            }
        }
        return nil
    }
}

/// Declares the extensions we accept as critical beyond RFC5280Policy's own: the SAN (checked by
/// ServerIdentityPolicy when there is a host name) and EKU (like browsers, not enforced).
private struct HandledExtensions: VerifierPolicy {
    let verifyingCriticalExtensions: [ASN1ObjectIdentifier] = [
        .X509ExtensionID.subjectAlternativeName,
        .X509ExtensionID.extendedKeyUsage,
        .X509ExtensionID.basicConstraints,
        .X509ExtensionID.keyUsage,
    ]

    func chainMeetsPolicyRequirements(chain: UnverifiedCertificateChain) -> PolicyEvaluationResult {
        .meetsPolicy
    }
}
