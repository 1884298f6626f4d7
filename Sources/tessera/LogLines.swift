import Foundation
import Logging

/// `s_server`'s swift-log output: one line per event, on stderr or appended to `-log F`:
/// `2026-11-26T18:00:00Z notice tessera: ticket key rotated: a new key encrypts key_name=... live_keys=3`.
/// The library never logs key material, so neither does this.
final class LogSink: @unchecked Sendable {
    private let lock = NSLock()
    private let file: FileHandle?
    private let formatter = ISO8601DateFormatter()
    /// True when lines go to a file, so problems must also be told on stderr.
    var isFile: Bool { file != nil }

    /// Lines go to `path` (created if missing, appended to) or, when nil, to stderr.
    init(path: String?) throws {
        guard let path else {
            file = nil
            return
        }
        if !FileManager.default.fileExists(atPath: path) {
            guard FileManager.default.createFile(atPath: path, contents: nil) else {
                throw CommandError("cannot create log file \(path)")
            }
        }
        guard let handle = FileHandle(forWritingAtPath: path) else {
            throw CommandError("cannot open log file \(path)")
        }
        handle.seekToEndOfFile()
        file = handle
    }

    func logger(label: String, level: Logger.Level) -> Logger {
        var logger = Logger(label: label) { label in LineLogHandler(label: label, sink: self) }
        logger.logLevel = level
        return logger
    }

    fileprivate func write(_ event: LogEvent, label: String, metadata: Logger.Metadata) {
        var line = lock.withLock { formatter.string(from: Date()) }
        line += " \(event.level) \(label): \(event.message)"
        let merged = metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 })
        for key in merged.keys.sorted() {
            if let value = merged[key] { line += " \(key)=\(value)" }
        }
        line += "\n"
        if let file {
            lock.withLock { file.write(Data(line.utf8)) }
        } else {
            Output.err(line)
        }
    }
}

private struct LineLogHandler: LogHandler {
    let label: String
    let sink: LogSink
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .info

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        sink.write(event, label: label, metadata: metadata)
    }
}
