import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresNIO
import XCTest

@testable import TesseraFleet

/// Drives `scripts/postgres-test-server` for the tests.
enum PostgresTestServer {
    static let script: String = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("scripts/postgres-test-server").path

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs the script with a bounded wait (60 s: initdb and a start take about 3 s here).
    static func run(_ command: String, instance: String = "default") -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [script, command]
        var environment = ProcessInfo.processInfo.environment
        environment["TESSERA_PG_INSTANCE"] = instance
        process.environment = environment
        // Files, not pipes: the server the script starts outlives it, and must not hold our pipe.
        let directory = FileManager.default.temporaryDirectory
        let outURL = directory.appendingPathComponent("pg-script-\(UUID().uuidString).out")
        let errURL = directory.appendingPathComponent("pg-script-\(UUID().uuidString).err")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        defer {
            try? FileManager.default.removeItem(at: outURL)
            try? FileManager.default.removeItem(at: errURL)
        }
        guard let out = try? FileHandle(forWritingTo: outURL), let err = try? FileHandle(forWritingTo: errURL) else {
            return Result(status: -1, stdout: "", stderr: "cannot create temporary files")
        }
        defer {
            try? out.close()
            try? err.close()
        }
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            return Result(status: -1, stdout: "", stderr: "cannot run \(script): \(error)")
        }
        let deadline = Date().addingTimeInterval(60)
        while process.isRunning, Date() < deadline { usleep(20_000) }
        if process.isRunning {
            process.terminate()
            return Result(status: -1, stdout: "", stderr: "\(script) \(command) did not finish in 60 s")
        }
        let stdout = (try? String(contentsOf: outURL, encoding: .utf8)) ?? ""
        let stderr = (try? String(contentsOf: errURL, encoding: .utf8)) ?? ""
        return Result(status: process.terminationStatus, stdout: stdout.trimmingCharacters(in: .whitespacesAndNewlines), stderr: stderr)
    }

    static var isCI: Bool {
        guard let value = ProcessInfo.processInfo.environment["CI"]?.lowercased() else { return false }
        return !value.isEmpty && value != "0" && value != "false"
    }

    enum Availability {
        case available(url: String, startedByUs: Bool)
        /// No PostgreSQL binaries and not on CI: skip.
        case missing(String)
        /// Anything else (or missing binaries on CI): fail.
        case broken(String)
    }

    /// Starts (or finds) an instance.
    static func start(instance: String = "default") -> Availability {
        let wasRunning = run("url", instance: instance).status == 0
        let result = run("start", instance: instance)
        switch result.status {
        case 0 where result.stdout.hasPrefix("postgres://"):
            return .available(url: result.stdout, startedByUs: !wasRunning)
        case 3:
            let message = "PostgreSQL server binaries not found (apt-get install -y postgresql): " + result.stderr
            return isCI ? .broken(message + " [CI is set: a missing PostgreSQL is a failure]") : .missing(message)
        default:
            return .broken("scripts/postgres-test-server start failed (\(result.status)): \(result.stderr)")
        }
    }
}

/// Polls `condition` every 50 ms until it holds or `timeout` seconds pass. Never waits longer.
func eventually(timeout: TimeInterval, _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while true {
        if try await condition() { return true }
        if Date() >= deadline { return false }
        try? await Task.sleep(for: .milliseconds(50))
    }
}

/// An admin connection to the test server, for creating databases and looking behind the store's back.
struct AdminConnection {
    let connection: PostgresConnection
    let logger: Logger

    static func connect(_ address: FleetDatabaseAddress) async throws -> AdminConnection {
        let logger = Logger(label: "fleet-test-admin")
        let configuration = PostgresConnection.Configuration(
            host: address.host, port: address.port, username: address.username, password: address.password,
            database: address.database, tls: .disable)
        let connection = try await PostgresConnection.connect(
            on: MultiThreadedEventLoopGroup.singleton.any(), configuration: configuration, id: 9999, logger: logger)
        return AdminConnection(connection: connection, logger: logger)
    }

    func execute(_ query: PostgresQuery) async throws {
        _ = try await connection.query(query, logger: logger).collect()
    }

    func rows(_ query: PostgresQuery) async throws -> [PostgresRow] {
        try await connection.query(query, logger: logger).collect()
    }

    func close() async {
        try? await connection.close()
    }
}
