import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Keys and certificates for the interop peers, made with the `openssl` command at test time
/// (nothing secret is committed), once per test process, in a temporary folder removed at exit.
///
/// Every server certificate is for CN=localhost with SAN DNS:localhost, IP:127.0.0.1, so clients
/// can verify either name.
struct CertificateFixtures: Sendable {
    struct Identity: Sendable {
        let name: String
        let certificate: URL
        let key: URL
    }

    let directory: URL
    /// Self-signed ECDSA P-256 (for ECDHE-ECDSA suites).
    let ecdsaP256: Identity
    /// Self-signed ECDSA P-384.
    let ecdsaP384: Identity
    /// Self-signed RSA-2048 (for ECDHE-RSA suites).
    let rsa2048: Identity
    /// A small CA (ECDSA P-256, CA:TRUE, keyCertSign).
    let ca: Identity
    /// A P-256 leaf signed by `ca` (CA:FALSE, serverAuth): the verify tests' server.
    let leaf: Identity
    /// `leaf` followed by `ca`: for servers that send the chain.
    let leafChain: URL
    /// A CA that signed nothing here: trusting only it must fail verification.
    let unrelatedCA: Identity

    /// The fixtures of this process, made on first use.
    static func shared() throws -> CertificateFixtures {
        lock.lock()
        defer { lock.unlock() }
        if let cached { return cached }
        let made = try make()
        cached = made
        fixtureDirectoryForCleanup = made.directory.path
        atexit { if let path = fixtureDirectoryForCleanup { try? FileManager.default.removeItem(atPath: path) } }
        return made
    }

    private static let lock = NSLock()
    nonisolated(unsafe) private static var cached: CertificateFixtures?

    private static func make() throws -> CertificateFixtures {
        let openssl = try Locations.requireTool("openssl", package: "openssl")
        let dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("tessera-interop-certs-\(getpid())-\(UUID().uuidString.prefix(6))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)

        func run(_ args: [String]) throws {
            let result = try PeerProcess.run(openssl, args, in: dir, timeout: 60)
            guard result.status == 0 else {
                throw HarnessError.unexpectedExit("openssl \(args.joined(separator: " ")) -> \(result.status)\n\(result.stderr)")
            }
        }
        func key(_ name: String, _ algorithm: [String]) throws -> URL {
            let url = dir.appendingPathComponent("\(name).key")
            try run(["genpkey"] + algorithm + ["-out", url.path])
            return url
        }
        let p256 = ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-pkeyopt", "ec_param_enc:named_curve"]
        let p384 = ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384", "-pkeyopt", "ec_param_enc:named_curve"]
        let rsa = ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]
        let san = "subjectAltName=DNS:localhost,IP:127.0.0.1"

        func selfSigned(_ name: String, _ algorithm: [String], subject: String = "/CN=localhost", extensions: [String]) throws -> Identity {
            let keyURL = try key(name, algorithm)
            let certURL = dir.appendingPathComponent("\(name).pem")
            try run(
                ["req", "-x509", "-new", "-key", keyURL.path, "-out", certURL.path, "-days", "30", "-sha256",
                 "-subj", subject] + extensions.flatMap { ["-addext", $0] })
            return Identity(name: name, certificate: certURL, key: keyURL)
        }

        let serverExtensions = [san, "basicConstraints=critical,CA:FALSE", "keyUsage=critical,digitalSignature,keyEncipherment", "extendedKeyUsage=serverAuth"]
        let caExtensions = ["basicConstraints=critical,CA:TRUE", "keyUsage=critical,keyCertSign,cRLSign"]
        let ecdsaP256 = try selfSigned("ecdsa-p256", p256, extensions: serverExtensions)
        let ecdsaP384 = try selfSigned("ecdsa-p384", p384, extensions: serverExtensions)
        let rsa2048 = try selfSigned("rsa-2048", rsa, extensions: serverExtensions)
        let ca = try selfSigned("ca", p256, subject: "/CN=Tessera Interop Test CA", extensions: caExtensions)
        let unrelatedCA = try selfSigned("unrelated-ca", p256, subject: "/CN=Tessera Unrelated CA", extensions: caExtensions)

        // The CA-signed leaf: CSR, then sign with the extensions from a file (x509 -req drops the CSR's).
        let leafKey = try key("leaf", p256)
        let csr = dir.appendingPathComponent("leaf.csr")
        try run(["req", "-new", "-key", leafKey.path, "-subj", "/CN=localhost", "-out", csr.path])
        let ext = dir.appendingPathComponent("leaf.ext")
        try (serverExtensions.joined(separator: "\n") + "\n").write(to: ext, atomically: true, encoding: .utf8)
        let leafCert = dir.appendingPathComponent("leaf.pem")
        try run(
            ["x509", "-req", "-in", csr.path, "-CA", ca.certificate.path, "-CAkey", ca.key.path,
             "-CAcreateserial", "-days", "30", "-sha256", "-extfile", ext.path, "-out", leafCert.path])
        let chain = dir.appendingPathComponent("leaf-chain.pem")
        try (Data(contentsOf: leafCert) + Data(contentsOf: ca.certificate)).write(to: chain)

        return CertificateFixtures(
            directory: dir, ecdsaP256: ecdsaP256, ecdsaP384: ecdsaP384, rsa2048: rsa2048, ca: ca,
            leaf: Identity(name: "leaf", certificate: leafCert, key: leafKey), leafChain: chain,
            unrelatedCA: unrelatedCA)
    }
}

nonisolated(unsafe) private var fixtureDirectoryForCleanup: String?
