// TesseraSessions (DESIGN.md §2, §4, §5): what a TLS session is once the handshake is over, and the
// keys that protect it on the wire.
//
// - `SessionState`: OpenSSL's SSL_SESSION, in its own ASN.1 (DER) and PEM forms, so session files move
//   between `openssl s_client -sess_out` and Tessera, and tickets move between nginx and Tessera.
// - `TicketKeyProvider` / `TicketKeyRing`: which key seals new tickets and which names still open
//   old ones (staged, active, retiring, expired), with the renewal policy.
// - `NginxTicketKeyFile`: nginx's `ssl_session_ticket_key` files (48 and 80 bytes).
// - `ClientSessionStore`: where a client keeps sessions between connections.
//
// Ticket sealing itself (AES-CBC + HMAC-SHA256, RFC 5077 §4) lives in TesseraCrypto (`TicketSealing`).
