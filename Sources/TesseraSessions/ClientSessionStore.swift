import Foundation

/// Which server a client session belongs to. RFC 5077 §3.4 / RFC 8446 §4.6.1: a session may only be
/// offered to the server (name and port) that issued it.
public struct SessionKey: Sendable, Hashable {
    public var serverName: String
    public var port: Int

    public init(serverName: String, port: Int) {
        self.serverName = serverName
        self.port = port
    }
}

/// Where a client keeps sessions between connections (a process cache, a file, a shared store).
/// The client replaces a stored session only after verifying the server's Finished (DESIGN.md §3).
public protocol ClientSessionStore: Sendable {
    func session(for key: SessionKey) -> SessionState?
    func store(_ session: SessionState, for key: SessionKey)
    func remove(for key: SessionKey)
}

/// A bounded in-process store: one session per server, the oldest stored evicted first when full.
public final class InMemorySessionStore: ClientSessionStore, @unchecked Sendable {
    public let capacity: Int
    private let lock = NSLock()
    private var sessions: [SessionKey: SessionState] = [:]  // guarded by `lock`
    private var order: [SessionKey] = []  // insertion order, guarded by `lock`

    public convenience init() {
        self.init(capacity: 1024)
    }

    /// `capacity` below 1 is treated as 1.
    public init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    public func session(for key: SessionKey) -> SessionState? {
        lock.withLock { sessions[key] }
    }

    public func store(_ session: SessionState, for key: SessionKey) {
        lock.withLock {
            if sessions.updateValue(session, forKey: key) != nil {
                order.removeAll { $0 == key }
            }
            order.append(key)
            while order.count > capacity {
                sessions[order.removeFirst()] = nil
            }
        }
    }

    public func remove(for key: SessionKey) {
        lock.withLock {
            if sessions.removeValue(forKey: key) != nil {
                order.removeAll { $0 == key }
            }
        }
    }

    /// How many sessions are held.
    public var count: Int {
        lock.withLock { sessions.count }
    }
}
