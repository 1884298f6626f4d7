import Foundation
import SwiftASN1
@testable import TesseraSessions

/// The SSL_SESSION DER written through swift-asn1's serializer, field by field as OpenSSL 3.0's
/// `i2d_SSL_SESSION` writes it: the reference the library's own writer (`SessionDERWriter`) is
/// checked against byte for byte. The library writes these few fields itself because a
/// `DER.Serializer` costs a kilobyte allocation and most of a ticket's encoding time per use.
enum SwiftASN1SessionEncoder {
    static func derEncoded(_ session: SessionState) -> [UInt8] {
        var out = DER.Serializer()
        do {
            try out.appendConstructedNode(identifier: .sequence) { out in
                try out.serialize(Int64(SessionState.asn1Version))
                try out.serialize(Int64(session.version.rawValue))
                try out.serialize(ASN1OctetString(contentBytes: [UInt8(session.cipherSuite.rawValue >> 8), UInt8(session.cipherSuite.rawValue & 0xFF)][...]))
                try out.serialize(ASN1OctetString(contentBytes: session.sessionID[...]))
                try out.serialize(ASN1OctetString(contentBytes: session.masterSecret[...]))
                let seconds = SessionState.wholeSeconds(session.time)
                if seconds != 0 {
                    try out.serialize(seconds, explicitlyTaggedWithTagNumber: 1, tagClass: .contextSpecific)
                }
                if session.timeout != 0 {
                    try out.serialize(session.timeout, explicitlyTaggedWithTagNumber: 2, tagClass: .contextSpecific)
                }
                if let peer = session.peerCertificate, let node = try? DER.parse(peer), node.identifier == .sequence {
                    out.serialize(explicitlyTaggedWithTagNumber: 3, tagClass: .contextSpecific) { $0.serializeRawBytes(peer) }
                }
                try out.serialize(ASN1OctetString(contentBytes: session.sessionIDContext[...]), explicitlyTaggedWithTagNumber: 4, tagClass: .contextSpecific)
                if let result = session.verifyResult, result != 0 {
                    try out.serialize(Int32(clamping: result), explicitlyTaggedWithTagNumber: 5, tagClass: .contextSpecific)
                }
                if let hostname = session.hostname {
                    try out.serialize(ASN1OctetString(contentBytes: Array(hostname.utf8)[...]), explicitlyTaggedWithTagNumber: 6, tagClass: .contextSpecific)
                }
                if let hint = session.ticketLifetimeHint, hint != 0 {
                    try out.serialize(hint, explicitlyTaggedWithTagNumber: 9, tagClass: .contextSpecific)
                }
                if let ticket = session.ticket {
                    try out.serialize(ASN1OctetString(contentBytes: ticket[...]), explicitlyTaggedWithTagNumber: 10, tagClass: .contextSpecific)
                }
                if session.extendedMasterSecret {
                    try out.serialize(UInt64(1), explicitlyTaggedWithTagNumber: 13, tagClass: .contextSpecific)
                }
                if let add = session.ticketAgeAdd, add != 0 {
                    try out.serialize(add, explicitlyTaggedWithTagNumber: 14, tagClass: .contextSpecific)
                }
                if let limit = session.maxEarlyData, limit != 0 {
                    try out.serialize(limit, explicitlyTaggedWithTagNumber: 15, tagClass: .contextSpecific)
                }
                if let alpn = session.alpn {
                    try out.serialize(ASN1OctetString(contentBytes: alpn[...]), explicitlyTaggedWithTagNumber: 16, tagClass: .contextSpecific)
                }
                try out.serialize(UInt32(session.keyExchangeGroup?.rawValue ?? 0), explicitlyTaggedWithTagNumber: 19, tagClass: .contextSpecific)
            }
        } catch {
            return []
        }
        return out.serializedBytes
    }
}
