import Foundation
import TesseraCrypto
import TesseraSessions

/// Ticket opening and session decoding (issue 3). The first input byte picks what the rest is:
///
/// - 0: a ticket, opened under a fixed key (a forged MAC is the usual outcome: the MAC check and
///   the length limits are what is exercised);
/// - 1: SSL_SESSION DER (DESIGN.md §4); a session that decodes must re-encode to DER that decodes
///   to the same session;
/// - 2: a PEM session file (`SSL SESSION PARAMETERS`);
/// - 3: a ticket *plaintext*: sealed under the key, then opened and decoded as the server does
///   (`open` then `SessionState(derEncoded:)`), so the decoder is reached through the ticket path
///   with states the MAC would otherwise never let through.
///
/// `scripts/fuzz FuzzSession` seeds the corpus from `../shared/vectors/nginx-tickets` (session
/// DER, PEM files and tickets, each behind its mode byte). None may crash or hang.
private let key: TicketKey = {
    let bytes = [UInt8](repeating: 7, count: 80)
    return (try? NginxTicketKeyFile.parse(bytes)) ?? TicketKey.generate()
}()

private func checkRoundTrip(_ der: [UInt8]) {
    guard let session = try? SessionState(derEncoded: der) else { return }
    let again = session.derEncoded()
    guard let decoded = try? SessionState(derEncoded: again), decoded == session else {
        fatalError("a decoded session does not survive re-encoding")
    }
    // Our own encoding is canonical: encoding the decoded copy gives the same bytes.
    guard decoded.derEncoded() == again else { fatalError("re-encoding is not stable") }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafeRawPointer, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let all = UnsafeRawBufferPointer(start: data, count: size)
    let mode = all[0] & 3
    let bytes = Array(all.dropFirst())
    switch mode {
    case 0:
        _ = TicketSealing.keyName(of: bytes)
        if let plaintext = try? TicketSealing.open(bytes, key: key) {
            _ = try? SessionState(derEncoded: plaintext)
        }
    case 1:
        checkRoundTrip(bytes)
    case 2:
        if let session = try? SessionState(pemEncoded: String(decoding: bytes, as: UTF8.self)) {
            checkRoundTrip(session.derEncoded())
        }
    default:
        let ticket = TicketSealing.seal(bytes, key: key)
        guard !ticket.isEmpty else { return 0 }  // over the size limit: nothing issued
        guard let opened = try? TicketSealing.open(ticket, key: key), opened == bytes else {
            fatalError("seal/open round trip failed")
        }
        checkRoundTrip(opened)
    }
    return 0
}
