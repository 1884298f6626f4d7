import Foundation

/// Unbuffered writes to stdout/stderr, safe from any thread.
enum Output {
    private static let lock = NSLock()

    static func out(_ text: String) {
        write(text, to: FileHandle.standardOutput)
    }

    static func err(_ text: String) {
        write(text, to: FileHandle.standardError)
    }

    static func outBytes(_ bytes: [UInt8]) {
        lock.lock()
        defer { lock.unlock() }
        FileHandle.standardOutput.write(Data(bytes))
    }

    private static func write(_ text: String, to handle: FileHandle) {
        lock.lock()
        defer { lock.unlock() }
        handle.write(Data(text.utf8))
    }
}

struct CommandError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Reads stdin on its own thread and hands chunks to `deliver`; `end` at EOF.
final class StdinReader: @unchecked Sendable {
    private let deliver: @Sendable ([UInt8]) -> Void
    private let end: @Sendable () -> Void

    init(deliver: @escaping @Sendable ([UInt8]) -> Void, end: @escaping @Sendable () -> Void) {
        self.deliver = deliver
        self.end = end
    }

    func start() {
        let thread = Thread { [deliver, end] in
            var buffer = [UInt8](repeating: 0, count: 16384)
            while true {
                let count = buffer.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
                if count < 0, errno == EINTR { continue }
                if count <= 0 { break }
                deliver(Array(buffer[0..<count]))
            }
            end()
        }
        thread.start()
    }
}
