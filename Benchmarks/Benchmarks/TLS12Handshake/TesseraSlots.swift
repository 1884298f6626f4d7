import Benchmark
import TesseraCore

// Slots for Tessera's side of the TLS 1.2 benchmarks.
//
// TesseraCore (DESIGN.md §2) will be a sans-I/O `ClientConnection` / `ServerConnection`: feed bytes
// in, get actions out (`.send(bytes)`, `.handshakeCompleted`, `.applicationData`, ...). Its API is
// being written now, so nothing below calls it yet: each slot says what to measure so that the
// numbers line up one to one with the swift-nio-ssl benchmarks beside it and with
// `Benchmarks/openssl/tls_bench.c`. Fill a slot by registering a `Benchmark` with the same name
// pattern ("Tessera TLS1.2 ...") and the same metrics, then compare:
//
//   swift package benchmark --filter "TLS1.2 full handshake"
//
// Same certificate (`BenchmarkIdentity`, ECDSA P-256), suite (ECDHE-ECDSA-AES128-GCM-SHA256) and
// group (X25519) as the NIOSSL benchmarks; client and server CPU measured separately with
// `threadCPUNanoseconds()` around each side's "feed bytes" call, as `NIOSSLPair.timed` does.

/// Called from `benchmarks`; registers the Tessera benchmarks that exist so far (none yet).
func registerTesseraBenchmarks(handshakeMetrics: [BenchmarkMetric], bulkMetrics: [BenchmarkMetric]) {
    tesseraFullHandshakeSlot(metrics: handshakeMetrics)
    tesseraResumedHandshakeSlot(metrics: handshakeMetrics)
    tesseraRecordSlot(metrics: bulkMetrics)
    tesseraHeapPerConnectionSlot()
    tesseraTicketSealOpenSlot()
}

/// SLOT "Tessera TLS1.2 full handshake": a `ClientConnection` and a `ServerConnection` in memory,
/// bytes from each `.send` action fed to the other until both report `.handshakeCompleted`.
/// Record client and server CPU (`clientCPUMetric`, `serverCPUMetric`) per handshake.
func tesseraFullHandshakeSlot(metrics: [BenchmarkMetric]) {}

/// SLOT "Tessera TLS1.2 resumed handshake": as above, the client offering the ticket from a
/// previous connection's `.sessionIssued` (RFC 5077 abbreviated flight, DESIGN.md §3 table).
/// Also the TLS 1.3 full and PSK-resumed handshakes once TLS 1.3 lands (DESIGN.md §8).
func tesseraResumedHandshakeSlot(metrics: [BenchmarkMetric]) {}

/// SLOT "Tessera TLS1.2 AES-128-GCM 16KiB record": one 16 KiB application record sealed by the
/// client and opened by the server per iteration, on an established connection; compare with
/// "NIOSSL TLS1.2 AES-128-GCM 16KiB record" and the swift-crypto floor.
func tesseraRecordSlot(metrics: [BenchmarkMetric]) {}

/// SLOT "Tessera TLS1.2 heap per connection": `heapBytesInUse()` before and after 100 established
/// client+server pairs kept alive, divided by 100 (`heapPerConnectionMetric`).
func tesseraHeapPerConnectionSlot() {}

/// SLOT "Tessera ticket seal/open": TesseraSessions' RFC 5077 ticket sealing and opening
/// (AES-CBC + HMAC-SHA256 as OpenSSL lays it out, DESIGN.md §4), per ticket.
func tesseraTicketSealOpenSlot() {}
