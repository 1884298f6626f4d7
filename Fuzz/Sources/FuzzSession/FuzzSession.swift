import Foundation
import TesseraCrypto
import TesseraSessions

/// Ticket opening and session decoding: arbitrary bytes as a ticket (under a fixed key, so a
/// forged MAC is the usual outcome), as session DER and as session PEM. None may crash; a session
/// that decodes must re-encode to DER that decodes to the same session.
private let key: TicketKey = {
    let bytes = [UInt8](repeating: 7, count: 80)
    return (try? NginxTicketKeyFile.parse(bytes)) ?? TicketKey.generate()
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafeRawPointer, _ size: Int) -> CInt {
    let bytes = Array(UnsafeRawBufferPointer(start: data, count: size))
    _ = TicketSealing.keyName(of: bytes)
    if let plaintext = try? TicketSealing.open(bytes, key: key) {
        _ = try? SessionState(derEncoded: plaintext)
    }
    if let session = try? SessionState(derEncoded: bytes) {
        guard let again = try? SessionState(derEncoded: session.derEncoded()), again == session else {
            fatalError("a decoded session does not survive re-encoding")
        }
    }
    _ = try? SessionState(pemEncoded: String(decoding: bytes, as: UTF8.self))
    // A sealed copy of a decodable session must open to the same bytes.
    if size > 0, bytes[0] & 1 == 1, let session = try? SessionState(derEncoded: Array(bytes.dropFirst())) {
        let der = session.derEncoded()
        guard (try? TicketSealing.open(TicketSealing.seal(der, key: key), key: key)) == der else {
            fatalError("seal/open round trip failed")
        }
    }
    return 0
}
