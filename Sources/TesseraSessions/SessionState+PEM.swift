import SwiftASN1

/// The PEM form OpenSSL uses for session files (`PEM_write_SSL_SESSION`, `openssl sess_id`,
/// `s_client -sess_out`): RFC 7468 textual encoding of the SSL_SESSION DER under the label
/// `SSL SESSION PARAMETERS`.
extension SessionState {
    public static let pemLabel = "SSL SESSION PARAMETERS"

    /// Reads the first `SSL SESSION PARAMETERS` block of `pemEncoded`; other PEM blocks around it
    /// (a certificate pasted into the same file) are skipped.
    public init(pemEncoded: String) throws(SessionError) {
        let documents: [PEMDocument]
        do {
            documents = try PEMDocument.parseMultiple(pemString: pemEncoded)
        } catch {
            throw SessionError(.notPEM, "not a PEM session file: \(error)")
        }
        guard let document = documents.first(where: { $0.discriminator == Self.pemLabel }) else {
            let found = documents.map(\.discriminator)
            throw SessionError(
                .notPEM,
                found.isEmpty
                    ? "no PEM block found (expected \(Self.pemLabel))"
                    : "expected a \(Self.pemLabel) block, found \(found.joined(separator: ", "))"
            )
        }
        try self.init(derEncoded: document.derBytes)
    }

    /// `-----BEGIN SSL SESSION PARAMETERS-----`, 64-character base64 lines, the END line and a final
    /// newline: the bytes OpenSSL writes for the same session.
    public func pemEncoded() -> String {
        PEMDocument(type: Self.pemLabel, derBytes: derEncoded()).pemString + "\n"
    }
}
