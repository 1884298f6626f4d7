/// RFC 8446 §4.2 table: throws .extensionNotAllowed if an extension may not appear in that TLS 1.3
/// message.
///
/// ```
/// +--------------------------------------------------+-------------+
/// | Extension                                        |     TLS 1.3 |
/// +--------------------------------------------------+-------------+
/// | server_name [RFC6066]                            |      CH, EE |
/// | max_fragment_length [RFC6066]                    |      CH, EE |
/// | status_request [RFC6066]                         |  CH, CR, CT |
/// | supported_groups [RFC7919]                       |      CH, EE |
/// | signature_algorithms (RFC 8446)                  |      CH, CR |
/// | use_srtp [RFC5764]                               |      CH, EE |
/// | heartbeat [RFC6520]                              |      CH, EE |
/// | application_layer_protocol_negotiation [RFC7301]|      CH, EE |
/// | signed_certificate_timestamp [RFC6962]           |  CH, CR, CT |
/// | client_certificate_type [RFC7250]                |      CH, EE |
/// | server_certificate_type [RFC7250]                |      CH, EE |
/// | padding [RFC7685]                                |          CH |
/// | key_share (RFC 8446)                             | CH, SH, HRR |
/// | pre_shared_key (RFC 8446)                        |      CH, SH |
/// | psk_key_exchange_modes (RFC 8446)                |          CH |
/// | early_data (RFC 8446)                            | CH, EE, NST |
/// | cookie (RFC 8446)                                |     CH, HRR |
/// | supported_versions (RFC 8446)                    | CH, SH, HRR |
/// | certificate_authorities (RFC 8446)               |      CH, CR |
/// | oid_filters (RFC 8446)                           |          CR |
/// | post_handshake_auth (RFC 8446)                   |          CH |
/// | signature_algorithms_cert (RFC 8446)             |      CH, CR |
/// +--------------------------------------------------+-------------+
/// ```
/// plus record_size_limit (RFC 8449 §4: CH, EE).
///
/// "If an implementation receives an extension which it recognizes and which is not specified for the
/// message in which it appears, it MUST abort the handshake with an illegal_parameter alert." The
/// TLS 1.2-only extensions (ec_point_formats, session_ticket, extended_master_secret,
/// renegotiation_info, encrypt_then_mac) are recognised, so they are allowed only in the ClientHello,
/// which also offers TLS 1.2.
///
/// Unknown types are allowed in the ClientHello, and also in CertificateRequest and NewSessionTicket,
/// where RFC 8446 §4.3.2 and §4.6.1 say "Clients MUST ignore unrecognized extensions" (servers send
/// GREASE there). Everywhere else an unknown type answers nothing we asked for: RFC 8446 §4.2 makes
/// that unsupported_extension.
public func validateTLS13Extensions(_ extensions: [Extension], in context: ExtensionContext) throws(WireError) {
    for ext in extensions {
        let type = ext.type
        let allowed: Bool
        if let contexts = tls13ExtensionContexts[type.rawValue] {
            allowed = contexts.contains(context)
        } else if tls12OnlyExtensions.contains(type.rawValue) {
            allowed = context == .clientHello
        } else {
            allowed = context == .clientHello || context == .certificateRequest || context == .newSessionTicket
        }
        guard allowed else {
            throw WireError(.extensionNotAllowed, "\(type) is not allowed in \(context)")
        }
    }
}

private let tls13ExtensionContexts: [UInt16: Set<ExtensionContext>] = [
    0x0000: [.clientHello, .encryptedExtensions],  // server_name
    0x0001: [.clientHello, .encryptedExtensions],  // max_fragment_length
    0x0005: [.clientHello, .certificateRequest, .certificate],  // status_request
    0x000A: [.clientHello, .encryptedExtensions],  // supported_groups
    0x000D: [.clientHello, .certificateRequest],  // signature_algorithms
    0x000E: [.clientHello, .encryptedExtensions],  // use_srtp
    0x000F: [.clientHello, .encryptedExtensions],  // heartbeat
    0x0010: [.clientHello, .encryptedExtensions],  // application_layer_protocol_negotiation
    0x0012: [.clientHello, .certificateRequest, .certificate],  // signed_certificate_timestamp
    0x0013: [.clientHello, .encryptedExtensions],  // client_certificate_type
    0x0014: [.clientHello, .encryptedExtensions],  // server_certificate_type
    0x0015: [.clientHello],  // padding
    0x001C: [.clientHello, .encryptedExtensions],  // record_size_limit (RFC 8449 §4)
    0x0029: [.clientHello, .serverHello],  // pre_shared_key
    0x002A: [.clientHello, .encryptedExtensions, .newSessionTicket],  // early_data
    0x002B: [.clientHello, .serverHello, .helloRetryRequest],  // supported_versions
    0x002C: [.clientHello, .helloRetryRequest],  // cookie
    0x002D: [.clientHello],  // psk_key_exchange_modes
    0x002F: [.clientHello, .certificateRequest],  // certificate_authorities
    0x0030: [.certificateRequest],  // oid_filters
    0x0031: [.clientHello],  // post_handshake_auth
    0x0032: [.clientHello, .certificateRequest],  // signature_algorithms_cert
    0x0033: [.clientHello, .serverHello, .helloRetryRequest],  // key_share
]

/// ec_point_formats, encrypt_then_mac, extended_master_secret, session_ticket, renegotiation_info.
private let tls12OnlyExtensions: Set<UInt16> = [0x000B, 0x0016, 0x0017, 0x0023, 0xFF01]
