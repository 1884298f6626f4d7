import NIOSSL
import TesseraBenchSupport

/// The benchmarks' server identity for swift-nio-ssl: the PEMs of `BenchmarkPEM`
/// (Sources/TesseraBenchSupport), a self-signed ECDSA P-256 certificate for CN=localhost.
enum BenchmarkIdentity {
    static let certificatePEM = BenchmarkPEM.certificate
    static let privateKeyPEM = BenchmarkPEM.privateKey

    static func certificate() throws -> NIOSSLCertificate {
        try NIOSSLCertificate(bytes: Array(certificatePEM.utf8), format: .pem)
    }

    static func privateKey() throws -> NIOSSLPrivateKey {
        try NIOSSLPrivateKey(bytes: Array(privateKeyPEM.utf8), format: .pem)
    }
}
