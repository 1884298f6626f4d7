import NIOSSL

/// The benchmarks' server identity: a self-signed ECDSA P-256 certificate for CN=localhost
/// (SAN DNS:localhost, IP:127.0.0.1), valid until 2126. Made once with
/// `openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 36500`.
/// A throwaway key for in-memory benchmarks only; it protects nothing.
enum BenchmarkIdentity {
    static let certificatePEM = """
        -----BEGIN CERTIFICATE-----
        MIIBmDCCAT6gAwIBAgIUF56MjY5h0cWS274zfoYZ1JZ31QUwCgYIKoZIzj0EAwIw
        FDESMBAGA1UEAwwJbG9jYWxob3N0MCAXDTI2MTEyNjE4MDk0OFoYDzIxMjYxMTAy
        MTgwOTQ4WjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwWTATBgcqhkjOPQIBBggqhkjO
        PQMBBwNCAAThCxyiLTX5XVseuUrw442ObG3Di72wjmr9H6RK5v169K+w78o2IaAV
        6JrJ0lvSgmtyUFMLeZtQ/yQC1PsaKJ1Co2wwajAdBgNVHQ4EFgQUDkoiZJm1jTc4
        cPEsQs4RjYhHuVIwHwYDVR0jBBgwFoAUDkoiZJm1jTc4cPEsQs4RjYhHuVIwGgYD
        VR0RBBMwEYIJbG9jYWxob3N0hwR/AAABMAwGA1UdEwEB/wQCMAAwCgYIKoZIzj0E
        AwIDSAAwRQIgBffcw9RyCJpVbgb+XCKFyT1DY/XOuIXoizPwVWlSYE0CIQC0sLUc
        bKPnzF6vlM3wub8tXKby7Sy/61/W9ttG4KhubQ==
        -----END CERTIFICATE-----
        """

    static let privateKeyPEM = """
        -----BEGIN PRIVATE KEY-----
        MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgr7U3/2vilNBRU2oU
        tWhoZfbtX5eg2j9e5kn16piwKTahRANCAAThCxyiLTX5XVseuUrw442ObG3Di72w
        jmr9H6RK5v169K+w78o2IaAV6JrJ0lvSgmtyUFMLeZtQ/yQC1PsaKJ1C
        -----END PRIVATE KEY-----
        """

    static func certificate() throws -> NIOSSLCertificate {
        try NIOSSLCertificate(bytes: Array(certificatePEM.utf8), format: .pem)
    }

    static func privateKey() throws -> NIOSSLPrivateKey {
        try NIOSSLPrivateKey(bytes: Array(privateKeyPEM.utf8), format: .pem)
    }
}
