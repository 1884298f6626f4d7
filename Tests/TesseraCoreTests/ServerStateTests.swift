import Foundation
@testable import TesseraCore
import TesseraCrypto
import TesseraWire
import XCTest

/// Invariants of the server's handshake states that no handshake alone would show.
final class ServerStateTests: XCTestCase {
    /// The TLS 1.3 server works out the client's Finished with its own flight when nothing can
    /// come between (RFC 8446 §4.4.4). That value holds only for the transcript it was computed
    /// over: any message added to the transcript (a client certificate, EndOfEarlyData) drops it,
    /// so `handle` recomputes it over the transcript as it then stands.
    func testPrecomputedClientFinishedIsDroppedWhenTheTranscriptChanges() throws {
        let parameters = try XCTUnwrap(CipherSuite.tlsAES128GCMSHA256.parameters)
        var transcript = Transcript(hash: .sha256)
        transcript.append(bytes: [0x01, 0x00, 0x00, 0x00])
        let clientKey = HMACKey([UInt8](repeating: 7, count: 32), hash: .sha256)
        let summary = HandshakeSummary(
            version: .tls13, cipherSuite: parameters.suite, resumed: false, group: .x25519, peerSignatureScheme: nil,
            serverName: nil, alpn: nil, extendedMasterSecret: true, secureRenegotiation: false, peerCertificates: [],
            verification: nil, sessionID: [], masterSecret: [], ticket: nil, ticketLifetimeHint: nil)
        var waiting = WaitClientFinished13(
            transcript: transcript, schedule: KeySchedule13(hash: .sha256, psk: nil), clientHandshakeKey: clientKey,
            secrets: ApplicationSecrets13(parameters: parameters, client: [], server: [], resumptionMasterSecret: []),
            summary: summary)
        let expected = TLS13Support.finished(keyed: clientKey, transcriptHash: transcript.currentHash())
        waiting.expectedClientVerifyData = expected
        XCTAssertEqual(waiting.expectedClientVerifyData, expected, "setting it is not a transcript change")
        waiting.renewing = true
        XCTAssertEqual(waiting.expectedClientVerifyData, expected, "nor is any other field")
        waiting.transcript.append(bytes: [0x0B, 0x00, 0x00, 0x00])
        XCTAssertNil(waiting.expectedClientVerifyData)
    }
}
