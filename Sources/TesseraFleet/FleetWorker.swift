import Foundation
import Logging
import NIOCore
import PostgresNIO
import TesseraCrypto
import TesseraSessions

/// One row of the key table, as read (secrets still sealed).
struct StoredKeyRow: Sendable {
    var name: [UInt8]
    var sealed: [UInt8]
    var window: KeyWindow
}

/// The store's only contact with the database: one connection, used for LISTEN, polling, the
/// rotator's advisory lock and its writes. The lock is session-scoped, so when this connection dies
/// (the process crashed, the network broke, PostgreSQL restarted) the lock is released and another
/// server's next poll takes it. Writes go through the same session that holds the lock, so a server
/// whose session is gone cannot write.
actor FleetWorker {
    let address: FleetDatabaseAddress
    let configuration: FleetConfiguration
    let kek: KeyEncryptionKey
    let eventLoopGroup: any EventLoopGroup
    let logger: Logger
    /// postgres-nio's own logging, kept at info or above: at debug and trace it prints query binds.
    let driverLogger: Logger
    let state: FleetSharedState

    private var connection: PostgresConnection?
    private var isRotator = false
    private var nextConnectionID = 0
    private var refreshesStarted = 0
    private var refreshesApplied = 0
    private var runTask: Task<Void, Never>?
    private var isShutDown = false
    /// Names whose row did not open, already reported (a poll every few seconds must not flood the log).
    private var reportedBadRows = Set<[UInt8]>()

    init(
        address: FleetDatabaseAddress, configuration: FleetConfiguration, kek: KeyEncryptionKey,
        eventLoopGroup: any EventLoopGroup, logger: Logger, state: FleetSharedState
    ) {
        self.address = address
        self.configuration = configuration
        self.kek = kek
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
        var driverLogger = logger
        driverLogger.logLevel = max(logger.logLevel, .info)
        self.driverLogger = driverLogger
        self.state = state
    }

    private var table: String { configuration.table }

    // MARK: Life cycle

    /// Connects, creates the table if needed, loads the keys, competes for the rotator's lock and
    /// (if it wins) publishes what is missing; then keeps all that going in the background.
    /// Throws when the database cannot be reached or holds keys none of which opens under our KEK.
    func start() async throws {
        let connection = try await connect()
        do {
            try await ensureSchema(connection)
            let (rows, opened) = try await refresh(connection)
            if rows > 0, opened == 0 {
                throw FleetError.kekMismatch(
                    "none of the \(rows) ticket keys in \(address) (table \(table)) opens under this key-encryption key: is -ticket_kek_file the fleet's?")
            }
            try await electAndRotate(connection)
        } catch {
            try? await connection.close()
            throw error
        }
        self.connection = connection
        state.updateStatus { $0.isConnected = true }
        logger.info(
            "fleet ticket-key store connected",
            metadata: [
                "database": "\(address)", "table": "\(table)", "rotator": "\(isRotator)",
                "keys": "\(state.currentStatus.keyCount)",
            ])
        runTask = Task { await self.run(first: connection) }
    }

    /// Stops the background work and closes the connection (which releases the rotator's lock).
    func shutdown() async {
        guard !isShutDown else { return }
        isShutDown = true
        runTask?.cancel()
        if let connection {
            try? await connection.close()
        }
        if let runTask {
            // Bounded: a stuck driver call must not hang the caller's shutdown.
            let seconds = configuration.statementTimeout
            do {
                try await Self.race(
                    seconds: seconds, timeout: FleetError.database("background task did not stop"), onTimeout: {},
                    { await runTask.value })
            } catch {
                logger.warning("fleet store background task did not stop within \(seconds) s; abandoned it")
            }
        }
        runTask = nil
        connection = nil
        isRotator = false
        state.updateStatus {
            $0.isConnected = false
            $0.isRotator = false
        }
    }

    /// Serve the connection until it fails, then reconnect with backoff (0.1 s doubling up to
    /// `maximumReconnectDelay`, with jitter so a fleet does not reconnect in lockstep). The snapshot
    /// stays as it was while the database is away: lookups go on with the keys held.
    private func run(first: PostgresConnection) async {
        var current: PostgresConnection? = first
        var delay = 0.1
        while !Task.isCancelled, !isShutDown {
            guard let live = current else {
                do {
                    let fresh = try await connect()
                    do {
                        try await ensureSchema(fresh)
                        _ = try await refresh(fresh)
                        try await electAndRotate(fresh)
                    } catch {
                        try? await fresh.close()
                        throw error
                    }
                    guard !isShutDown else {
                        try? await fresh.close()
                        break
                    }
                    current = fresh
                    connection = fresh
                    delay = 0.1
                    state.updateStatus {
                        $0.isConnected = true
                        $0.reconnections += 1
                        $0.lastError = nil
                    }
                    logger.notice("fleet ticket-key store reconnected", metadata: ["database": "\(address)", "rotator": "\(isRotator)"])
                } catch {
                    let message = Self.describe(error)
                    state.updateStatus { $0.lastError = message }
                    logger.debug("fleet database still unreachable", metadata: ["error": "\(message)"])
                    let pause = delay * Double.random(in: 0.8...1.2)
                    delay = min(delay * 2, configuration.maximumReconnectDelay)
                    do { try await Task.sleep(for: .seconds(pause)) } catch { break }
                }
                continue
            }
            do {
                try await serve(live)
            } catch {
                if !isShutDown, !Task.isCancelled {
                    let message = Self.describe(error)
                    logger.warning(
                        "lost the fleet database; serving and resuming with the ticket keys held until it is back",
                        metadata: ["database": "\(address)", "error": "\(message)", "keys": "\(state.currentStatus.keyCount)"])
                    state.updateStatus { $0.lastError = message }
                }
            }
            if isRotator {
                logger.notice("no longer rotating ticket keys (connection lost)")
            }
            isRotator = false
            connection = nil
            current = nil
            state.updateStatus {
                $0.isConnected = false
                $0.isRotator = false
            }
            try? await live.close()
        }
    }

    /// The connection's life: a poll loop (lock, rotate, refresh) and, unless disabled, a LISTEN loop
    /// that refreshes on every notification. Returns only by throwing (connection lost or cancelled).
    private func serve(_ connection: PostgresConnection) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            if configuration.listensForNotifications {
                let channel = table
                group.addTask {
                    try await Self.listen(on: connection, channel: channel, worker: self)
                }
            }
            group.addTask {
                try await self.pollLoop(connection)
            }
            defer { group.cancelAll() }
            _ = try await group.next()
            throw FleetError.database("the connection to \(self.address) ended")
        }
    }

    private func pollLoop(_ connection: PostgresConnection) async throws {
        while true {
            try await Task.sleep(for: .seconds(configuration.pollInterval))
            try await electAndRotate(connection)
            _ = try await refresh(connection)
        }
    }

    private static func listen(on connection: PostgresConnection, channel: String, worker: FleetWorker) async throws {
        try await connection.listen(on: channel) { notifications in
            // LISTEN is in place: catch up on anything published while it was being set up.
            await worker.refreshAfterNotification(connection)
            for try await _ in notifications {
                await worker.refreshAfterNotification(connection)
            }
        }
        throw FleetError.database("the notification stream ended")
    }

    private func refreshAfterNotification(_ connection: PostgresConnection) async {
        do {
            _ = try await refresh(connection)
        } catch {
            // The poll loop or the notification stream will notice a dead connection.
            logger.debug("refresh after NOTIFY failed", metadata: ["error": "\(Self.describe(error))"])
        }
    }

    // MARK: Database steps

    private func connect() async throws -> PostgresConnection {
        var pg = PostgresConnection.Configuration(
            host: address.host, port: address.port, username: address.username,
            password: address.password, database: address.database, tls: .disable)
        pg.options.connectTimeout = .milliseconds(Int64(min(configuration.statementTimeout, 10) * 1000))
        pg.options.additionalStartupParameters = [("application_name", configuration.applicationName)]
        nextConnectionID += 1
        do {
            return try await PostgresConnection.connect(
                on: eventLoopGroup.any(), configuration: pg, id: nextConnectionID, logger: driverLogger)
        } catch {
            throw FleetError.database("cannot connect to \(address): \(Self.describe(error))")
        }
    }

    /// Creates the table unless it exists. Concurrent `CREATE TABLE IF NOT EXISTS` can still collide
    /// in PostgreSQL's catalog, so servers starting together take turns under a transaction lock (the
    /// two-int advisory key space, which never meets the rotator's bigint key).
    private func ensureSchema(_ connection: PostgresConnection) async throws {
        let table = self.table
        let logger = driverLogger
        try await withDeadline(connection, "creating table \(table)") {
            let exists = try await connection.query("SELECT to_regclass(\(table))::text", logger: logger)
                .collect().first.map { try $0.decode(String?.self) } ?? nil
            guard exists == nil else { return }
            try await connection.query("BEGIN", logger: logger)
            do {
                try await connection.query("SELECT pg_advisory_xact_lock(1413829459, 0)", logger: logger)
                try await connection.query(
                    """
                    CREATE TABLE IF NOT EXISTS \(unescaped: table) (
                        name bytea PRIMARY KEY CHECK (octet_length(name) = 16),
                        sealed bytea NOT NULL,
                        activates_at timestamptz NOT NULL,
                        encrypts_until timestamptz NOT NULL,
                        decrypts_until timestamptz NOT NULL,
                        created_at timestamptz NOT NULL DEFAULT now()
                    )
                    """, logger: logger)
                try await connection.query("COMMIT", logger: logger)
            } catch {
                _ = try? await connection.query("ROLLBACK", logger: logger)
                throw error
            }
        }
    }

    /// Loads every row, opens what opens, installs the snapshot. Returns (rows, rows that opened).
    /// Concurrent refreshes (poll and NOTIFY) may finish out of order: only the newest one started
    /// is installed, never an older result over a newer one.
    @discardableResult
    private func refresh(_ connection: PostgresConnection) async throws -> (Int, Int) {
        refreshesStarted += 1
        let generation = refreshesStarted
        let table = self.table
        let logger = driverLogger
        let rows = try await withDeadline(connection, "loading ticket keys") {
            try await Self.fetchRows(connection, table: table, logger: logger)
        }
        var keys = [ManagedTicketKey]()
        for row in rows {
            do {
                let key = try TicketKeySealing.open(row.sealed, name: row.name, under: kek)
                keys.append(
                    ManagedTicketKey(
                        key: key, activatesAt: row.window.activatesAt, encryptsUntil: row.window.encryptsUntil,
                        decryptsUntil: row.window.decryptsUntil))
            } catch {
                if reportedBadRows.insert(row.name).inserted {
                    logger.warning("skipping a ticket key row", metadata: ["error": "\(error)"])
                }
            }
        }
        guard generation > refreshesApplied else { return (rows.count, keys.count) }
        refreshesApplied = generation
        let now = configuration.clock()
        let old = state.install(keys: keys, renewal: configuration.renewal, now: now)
        let oldNames = Set(old.keys.map(\.key.name))
        let newNames = Set(keys.map(\.key.name))
        if oldNames != newNames {
            let added = keys.filter { !oldNames.contains($0.key.name) }.map { shortName($0.key.name) }
            let dropped = old.keys.filter { !newNames.contains($0.key.name) }.map { shortName($0.key.name) }
            logger.info(
                "fleet ticket keys changed",
                metadata: ["keys": "\(keys.count)", "added": "\(added)", "dropped": "\(dropped)"])
        }
        return (rows.count, keys.count)
    }

    /// Rows that cannot be read as a key (a NULL, a name of the wrong size) are skipped, not fatal.
    private static func fetchRows(_ connection: PostgresConnection, table: String, logger: Logger) async throws -> [StoredKeyRow] {
        let result = try await connection.query(
            """
            SELECT name, sealed, activates_at, encrypts_until, decrypts_until FROM \(unescaped: table)
            ORDER BY activates_at DESC LIMIT 1000
            """, logger: logger)
        var rows = [StoredKeyRow]()
        for try await row in result {
            guard let (name, sealed, activates, encrypts, decrypts) = try? row.decode(
                (ByteBuffer, ByteBuffer, Date, Date, Date).self),
                name.readableBytes == TicketKey.nameLength
            else { continue }
            rows.append(
                StoredKeyRow(
                    name: Array(name.readableBytesView), sealed: Array(sealed.readableBytesView),
                    window: KeyWindow(activatesAt: activates, encryptsUntil: encrypts, decryptsUntil: decrypts)))
        }
        return rows
    }

    /// Not the rotator yet: try for the lock (never waits). The rotator: publish what is missing.
    private func electAndRotate(_ connection: PostgresConnection) async throws {
        if !isRotator {
            let key = configuration.lockKey
            let logger = driverLogger
            let acquired = try await withDeadline(connection, "trying the rotator lock") {
                try await connection.query("SELECT pg_try_advisory_lock(\(key))", logger: logger)
                    .collect().first.map { try $0.decode(Bool.self) } ?? false
            }
            if acquired {
                isRotator = true
                state.updateStatus { $0.isRotator = true }
                logger.notice("this server now rotates the fleet's ticket keys", metadata: ["table": "\(table)"])
            }
        }
        if isRotator {
            try await rotate(connection)
        }
    }

    /// One rotation step in one transaction: add the active and staged keys that are missing, delete
    /// rows long expired, and NOTIFY (delivered at commit) when anything changed.
    private func rotate(_ connection: PostgresConnection) async throws {
        let now = configuration.clock()
        let table = self.table
        let configuration = self.configuration
        let kek = self.kek
        let logger = driverLogger
        let (added, deleted) = try await withDeadline(connection, "rotating ticket keys") {
            () async throws -> ([(String, KeyWindow)], Int) in
            try await connection.query("BEGIN", logger: logger)
            do {
                let windows = try await Self.fetchRows(connection, table: table, logger: logger).map(\.window)
                let plan = RotationPlanner.keysToAdd(
                    existing: windows, now: now, rotate: configuration.rotate, expire: configuration.expire)
                var added = [(String, KeyWindow)]()
                for window in plan {
                    let key = TicketKey.generate()
                    let sealed = try TicketKeySealing.seal(key, under: kek)
                    try await connection.query(
                        """
                        INSERT INTO \(unescaped: table) (name, sealed, activates_at, encrypts_until, decrypts_until, created_at)
                        VALUES (\(ByteBuffer(bytes: key.name)), \(ByteBuffer(bytes: sealed)), \(window.activatesAt),
                                \(window.encryptsUntil), \(window.decryptsUntil), \(now))
                        """, logger: logger)
                    added.append((shortName(key.name), window))
                }
                let cutoff = RotationPlanner.deleteBefore(now: now, rotate: configuration.rotate)
                let deleted = try await connection.query(
                    "DELETE FROM \(unescaped: table) WHERE decrypts_until <= \(cutoff) RETURNING name", logger: logger
                ).collect().count
                if !added.isEmpty || deleted > 0 {
                    try await connection.query("SELECT pg_notify(\(table), 'keys')", logger: logger)
                }
                try await connection.query("COMMIT", logger: logger)
                return (added, deleted)
            } catch {
                _ = try? await connection.query("ROLLBACK", logger: logger)
                throw error
            }
        }
        if !added.isEmpty {
            state.updateStatus { $0.keysPublished += added.count }
        }
        for (name, window) in added {
            logger.info(
                "published ticket key",
                metadata: [
                    "key": "\(name)",
                    "activates_in": "\(String(format: "%.1f", window.activatesAt.timeIntervalSince(now))) s",
                ])
        }
        if deleted > 0 {
            logger.debug("deleted expired ticket keys", metadata: ["count": "\(deleted)"])
        }
        if !added.isEmpty || deleted > 0 {
            _ = try await refresh(connection)
        }
    }

    /// Runs `body`; if it has not finished after `statementTimeout` (or the caller is cancelled),
    /// throws at once and closes the connection. No database step can hang the store.
    ///
    /// Not a task group: a group waits for every child, and a postgres-nio query written to a channel
    /// that has just closed may never complete, which would hang the group (and `shutdown()`). The
    /// work runs in its own task instead, and is abandoned if it never finishes.
    private func withDeadline<T: Sendable>(
        _ connection: PostgresConnection, _ what: String, _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        guard !connection.isClosed else {
            throw FleetError.database("\(what): the connection to \(address) is closed")
        }
        let seconds = configuration.statementTimeout
        return try await Self.race(
            seconds: seconds,
            timeout: FleetError.database("\(what) took longer than \(seconds) s; dropped the connection"),
            onTimeout: { try? await connection.close() },
            body)
    }

    /// `body`'s result, or `timeout` thrown after `seconds` (then `onTimeout` runs and `body` is
    /// cancelled and abandoned), or `CancellationError` as soon as the caller is cancelled.
    static func race<T: Sendable>(
        seconds: TimeInterval, timeout: any Error, onTimeout: @escaping @Sendable () async -> Void,
        _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        let race = FirstResult<T>()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
                let work = Task {
                    do {
                        race.finish(.success(try await body()))
                    } catch {
                        race.finish(.failure(error))
                    }
                }
                let timer = Task {
                    try await Task.sleep(for: .seconds(seconds))
                    if race.finish(.failure(timeout)) {
                        work.cancel()
                        await onTimeout()
                    }
                }
                race.start(continuation) { timer.cancel() }
            }
        } onCancel: {
            race.finish(.failure(CancellationError()))
        }
    }

    /// A database error without query binds: the server's message and SQLSTATE when there is one.
    static func describe(_ error: any Error) -> String {
        if let error = error as? PSQLError {
            if let info = error.serverInfo, let message = info[.message] {
                let code = info[.sqlState].map { " (SQLSTATE \($0))" } ?? ""
                return message + code
            }
            if let underlying = error.underlying {
                return "\(error.code): \(underlying)"
            }
            return "\(error.code)"
        }
        if let error = error as? PostgresTransactionError {
            return describe(error.closureError ?? error.commitError ?? error.beginError ?? FleetError.database("transaction failed"))
        }
        return "\(error)"
    }
}

/// The first of several racers to finish resumes the continuation; the others are ignored.
/// A result that arrives before the continuation is installed is kept and delivered on `start`.
final class FirstResult<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var continuation: CheckedContinuation<T, any Error>?
    private var result: Result<T, any Error>?
    private var onFinish: (@Sendable () -> Void)?
    private var delivered = false

    func start(_ continuation: CheckedContinuation<T, any Error>, onFinish: @escaping @Sendable () -> Void) {
        lock.lock()
        if let result, !delivered {
            delivered = true
            lock.unlock()
            onFinish()
            continuation.resume(with: result)
            return
        }
        self.continuation = continuation
        self.onFinish = onFinish
        lock.unlock()
    }

    /// True when this call decided the race.
    @discardableResult
    func finish(_ outcome: Result<T, any Error>) -> Bool {
        lock.lock()
        guard result == nil else {
            lock.unlock()
            return false
        }
        result = outcome
        guard let continuation, !delivered else {
            lock.unlock()
            return true
        }
        delivered = true
        let onFinish = self.onFinish
        self.continuation = nil
        self.onFinish = nil
        lock.unlock()
        onFinish?()
        continuation.resume(with: outcome)
        return true
    }
}
