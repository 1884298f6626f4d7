import Foundation
import TesseraSessions

/// What can go wrong in the fleet store. Messages name files, URLs (without passwords) and key-name
/// prefixes, never secrets.
public enum FleetError: Error, Sendable, CustomStringConvertible {
    /// The `postgres://` URL cannot be used.
    case invalidURL(String)
    /// The key-encryption key file is missing, unreadable or the wrong size.
    case invalidKEK(String)
    /// Sealing or opening a ticket key's secrets failed.
    case sealing(String)
    /// A configuration value is out of range.
    case invalidConfiguration(String)
    /// The database refused or failed a step (connect, schema, query), or did not answer in time.
    case database(String)
    /// The database holds keys and none opens under our KEK: this server has another KEK than the
    /// fleet, and would neither resume the fleet's tickets nor be able to share its own.
    case kekMismatch(String)
    /// The store has been shut down.
    case shutDown

    public var description: String {
        switch self {
        case .invalidURL(let message), .invalidKEK(let message), .sealing(let message),
            .invalidConfiguration(let message), .database(let message), .kekMismatch(let message):
            return message
        case .shutDown:
            return "the fleet ticket-key store has been shut down"
        }
    }
}

/// Where the database is: parsed from `postgres://USER[:PASSWORD]@HOST[:PORT]/DB`.
public struct FleetDatabaseAddress: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String

    public init(host: String, port: Int = 5432, username: String, password: String? = nil, database: String) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
    }

    /// Parses `postgres://` or `postgresql://` URLs. The connection is plaintext (the store's
    /// PostgreSQL client is built without TLS): a URL asking for TLS (`sslmode=require`,
    /// `verify-ca`, `verify-full`) is refused rather than silently downgraded.
    public init(url: String) throws(FleetError) {
        guard let components = URLComponents(string: url),
              let scheme = components.scheme?.lowercased(), scheme == "postgres" || scheme == "postgresql"
        else {
            throw FleetError.invalidURL("ticket store URL must look like postgres://USER@HOST:PORT/DB, got \(Self.redacted(url))")
        }
        guard let host = components.host, !host.isEmpty else {
            throw FleetError.invalidURL("ticket store URL \(Self.redacted(url)) has no host")
        }
        guard let user = components.user, !user.isEmpty else {
            throw FleetError.invalidURL("ticket store URL \(Self.redacted(url)) has no user (postgres://USER@HOST:PORT/DB)")
        }
        let port = components.port ?? 5432
        guard (1...65535).contains(port) else {
            throw FleetError.invalidURL("ticket store URL \(Self.redacted(url)) has port \(port)")
        }
        var database = components.path
        while database.hasPrefix("/") { database.removeFirst() }
        guard !database.isEmpty, !database.contains("/") else {
            throw FleetError.invalidURL("ticket store URL \(Self.redacted(url)) must name one database (postgres://USER@HOST:PORT/DB)")
        }
        for item in components.queryItems ?? [] where item.name == "sslmode" {
            switch item.value ?? "" {
            case "disable", "allow", "prefer":
                break
            default:
                throw FleetError.invalidURL(
                    "ticket store URL asks for sslmode=\(item.value ?? ""): TLS to PostgreSQL is not supported; use a loopback or private network")
            }
        }
        self.host = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        self.port = port
        self.username = user
        self.password = components.password
        self.database = database
    }

    /// The URL without its password, for logs and errors.
    public var description: String {
        "postgres://\(username)@\(host.contains(":") ? "[\(host)]" : host):\(port)/\(database)"
    }

    private static func redacted(_ url: String) -> String {
        guard var components = URLComponents(string: url) else { return "(unparseable URL)" }
        if components.password != nil { components.password = "***" }
        return components.string ?? "(unparseable URL)"
    }
}

/// How a fleet store rotates and talks to the database.
public struct FleetConfiguration: Sendable {
    /// Seconds a key encrypts (from activation); the next key is published one period ahead.
    public var rotate: TimeInterval
    /// Seconds after activation a key stops decrypting; at least `rotate`.
    public var expire: TimeInterval
    /// When resumed tickets are renewed (as in `TicketKeyRing`).
    public var renewal: RenewalPolicy
    /// Seconds between polls of the table (and rotation checks, and attempts to become the rotator).
    /// Default `rotate / 4`, kept within 0.05 s ... 60 s.
    public var pollInterval: TimeInterval
    /// Refresh on NOTIFY as soon as the rotator publishes a key. Off: polling alone.
    public var listensForNotifications: Bool
    /// The table (also the NOTIFY channel): lower-case letters, digits and `_`, at most 63 characters.
    public var table: String
    /// The advisory-lock key that elects the rotator; by default derived from `table`.
    public var lockKey: Int64
    /// Seconds any single database step may take before the connection is dropped and remade.
    public var statementTimeout: TimeInterval
    /// The longest pause between reconnection attempts (they back off from 0.1 s up to this).
    public var maximumReconnectDelay: TimeInterval
    /// The `application_name` of the store's database session (shown in `pg_stat_activity`).
    public var applicationName: String
    /// Time for every window decision (which key encrypts, which expired, when to rotate).
    public var clock: @Sendable () -> Date

    public static let defaultTable = "tessera_ticket_keys"

    public init(
        rotate: TimeInterval = 3600,
        expire: TimeInterval? = nil,
        renewal: RenewalPolicy = .whenKeyRetiring,
        pollInterval: TimeInterval? = nil,
        listensForNotifications: Bool = true,
        table: String = FleetConfiguration.defaultTable,
        lockKey: Int64? = nil,
        statementTimeout: TimeInterval = 10,
        maximumReconnectDelay: TimeInterval? = nil,
        applicationName: String = "tessera-fleet",
        clock: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.rotate = rotate
        self.expire = expire ?? 2 * rotate
        self.renewal = renewal
        let poll = pollInterval ?? rotate / 4
        self.pollInterval = poll.isFinite ? min(max(poll, 0.05), 60) : 60
        self.listensForNotifications = listensForNotifications
        self.table = table
        self.lockKey = lockKey ?? Self.defaultLockKey(table: table)
        self.statementTimeout = statementTimeout
        self.maximumReconnectDelay = maximumReconnectDelay ?? min(max(self.pollInterval * 2, 1), 30)
        self.applicationName = applicationName
        self.clock = clock
    }

    /// `0x54455353` ("TESS") in the high half, FNV-1a of the table name in the low half: distinct
    /// tables (fleets) in one database elect distinct rotators.
    public static func defaultLockKey(table: String) -> Int64 {
        var hash: UInt32 = 2_166_136_261
        for byte in table.utf8 {
            hash ^= UInt32(byte)
            hash = hash &* 16_777_619
        }
        return Int64(0x5445_5353) << 32 | Int64(hash)
    }

    /// Throws on values the store cannot work with (instead of trapping later).
    func validated() throws(FleetError) -> FleetConfiguration {
        guard rotate.isFinite, rotate >= 1 else {
            throw FleetError.invalidConfiguration("ticket key rotation must be at least 1 second, got \(rotate)")
        }
        guard expire.isFinite, expire >= rotate else {
            throw FleetError.invalidConfiguration("ticket key expiry (\(expire) s) must be at least the rotation period (\(rotate) s)")
        }
        guard rotate <= 365 * 86_400, expire <= 10 * 365 * 86_400 else {
            throw FleetError.invalidConfiguration("ticket key rotation or expiry is absurdly long")
        }
        let allowed = table.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7a) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5f }
        guard allowed, let first = table.utf8.first, !(first >= 0x30 && first <= 0x39), table.utf8.count <= 63 else {
            throw FleetError.invalidConfiguration("ticket key table name \"\(table)\" must be a plain lower-case SQL identifier")
        }
        guard statementTimeout.isFinite, statementTimeout > 0, maximumReconnectDelay.isFinite, maximumReconnectDelay > 0 else {
            throw FleetError.invalidConfiguration("timeouts must be positive")
        }
        return self
    }
}
