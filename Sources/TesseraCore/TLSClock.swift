import Foundation

/// Time as the connection sees it. Injected so that rotation and expiry run instantly in tests
/// (no `sleep`).
public protocol TLSClock: Sendable {
    func now() -> Date
}

/// The wall clock.
public struct SystemClock: TLSClock {
    public init() {}
    public func now() -> Date { Date() }
}

/// A clock that moves only when told to; for tests.
public final class ManualClock: TLSClock, @unchecked Sendable {
    private let lock = NSLock()
    private var current: Date

    public init(_ start: Date = Date(timeIntervalSince1970: 1_700_000_000)) {
        current = start
    }

    public func now() -> Date {
        lock.lock()
        defer { lock.unlock() }
        return current
    }

    public func advance(by seconds: TimeInterval) {
        lock.lock()
        current += seconds
        lock.unlock()
    }
}

extension Date {
    /// Session times are whole seconds, as OpenSSL's session encoding keeps them.
    var wholeSeconds: Date {
        Date(timeIntervalSince1970: timeIntervalSince1970.rounded(.down))
    }
}
