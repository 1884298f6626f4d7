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
    /// The newest session for `key`, left in the store.
    func session(for key: SessionKey) -> SessionState?
    func store(_ session: SessionState, for key: SessionKey)
    func remove(for key: SessionKey)
    /// The session to offer on the next connection. A TLS 1.3 ticket is handed out once (RFC 8446
    /// Appendix C.4: clients should not reuse a ticket); a TLS 1.2 session stays.
    func takeSession(for key: SessionKey) -> SessionState?
}

extension ClientSessionStore {
    public func takeSession(for key: SessionKey) -> SessionState? {
        guard let session = session(for: key) else { return nil }
        if session.version == .tls13 { remove(for: key) }
        return session
    }
}

/// A bounded in-process store, the oldest server evicted first when full. For each server it keeps
/// one TLS 1.2 session or up to `ticketsPerServer` TLS 1.3 tickets, each handed out once.
public final class InMemorySessionStore: ClientSessionStore, @unchecked Sendable {
    public let capacity: Int
    public let ticketsPerServer = 8
    private let lock = NSLock()
    private var sessions: [SessionKey: [SessionState]] = [:]  // newest last, guarded by `lock`
    private var order: [SessionKey] = []  // insertion order, guarded by `lock`

    public convenience init() {
        self.init(capacity: 1024)
    }

    /// `capacity` below 1 is treated as 1.
    public init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    public func session(for key: SessionKey) -> SessionState? {
        lock.withLock { sessions[key]?.last }
    }

    public func takeSession(for key: SessionKey) -> SessionState? {
        lock.withLock {
            guard var list = sessions[key], let newest = list.last else { return nil }
            guard newest.version == .tls13 else { return newest }
            list.removeLast()
            if list.isEmpty {
                sessions[key] = nil
                order.removeAll { $0 == key }
            } else {
                sessions[key] = list
            }
            return newest
        }
    }

    public func store(_ session: SessionState, for key: SessionKey) {
        lock.withLock {
            var list = session.version == .tls13 ? (sessions[key] ?? []).filter { $0.version == .tls13 } : []
            list.append(session)
            if list.count > ticketsPerServer { list.removeFirst(list.count - ticketsPerServer) }
            if sessions.updateValue(list, forKey: key) != nil {
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

    /// How many servers have sessions.
    public var count: Int {
        lock.withLock { sessions.count }
    }
}
