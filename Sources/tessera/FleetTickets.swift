import Foundation
import Logging
import NIOCore
import NIOPosix
import TesseraFleet
import TesseraSessions

/// `s_server -ticket_store postgres://... -ticket_kek_file F`: ticket keys shared by a fleet through
/// PostgreSQL (DESIGN.md §6) instead of the in-process ring.
enum FleetTickets {
    /// The store and its event loop live as long as the process; when it exits, its database session
    /// ends and the rotator's advisory lock (if it held it) passes to another server.
    nonisolated(unsafe) private static var running: (FleetTicketKeyStore, MultiThreadedEventLoopGroup)?

    static func start(
        url: String, kekFile: String, rotate: TimeInterval, expire: TimeInterval, renewal: RenewalPolicy, quiet: Bool
    ) throws -> FleetTicketKeyStore {
        var logger = Logger(label: "tessera.fleet", factory: { label in StreamLogHandler.standardError(label: label) })
        logger.logLevel = quiet ? .warning : .notice
        let fleetLogger = logger
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        do {
            let store = try group.any().makeFutureWithTask {
                try await FleetTicketKeyStore.start(
                    url: url, kekFile: kekFile, rotate: rotate, expire: expire, renewal: renewal,
                    eventLoopGroup: group, logger: fleetLogger)
            }.wait()
            running = (store, group)
            return store
        } catch {
            try? group.syncShutdownGracefully()
            throw CommandError("-ticket_store: \(error)")
        }
    }
}
