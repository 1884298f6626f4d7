import Foundation
import TesseraSessions
import XCTest

final class ClientSessionStoreTests: XCTestCase {
    func testStoresOneSessionPerServerAndEvictsTheOldest() throws {
        let sessions = try SessionStateTests.syntheticSessions().map(\.1)
        let store = InMemorySessionStore(capacity: 2)
        let a = SessionKey(serverName: "a.example", port: 443)
        let b = SessionKey(serverName: "a.example", port: 8443)
        let c = SessionKey(serverName: "c.example", port: 443)

        XCTAssertNil(store.session(for: a))
        store.store(sessions[0], for: a)
        store.store(sessions[1], for: b)
        XCTAssertEqual(store.session(for: a), sessions[0])
        XCTAssertEqual(store.session(for: b), sessions[1], "the port is part of the key")

        store.store(sessions[2], for: a)  // replacing refreshes a's age
        XCTAssertEqual(store.session(for: a), sessions[2])
        store.store(sessions[0], for: c)  // evicts b, the oldest
        XCTAssertNil(store.session(for: b))
        XCTAssertEqual(store.count, 2)

        store.remove(for: a)
        XCTAssertNil(store.session(for: a))
        XCTAssertEqual(store.count, 1)
        store.remove(for: a)
        XCTAssertEqual(store.count, 1)
    }

    func testConcurrentUse() throws {
        let session = try SessionStateTests.syntheticSessions()[0].1
        let store: any ClientSessionStore = InMemorySessionStore()
        DispatchQueue.concurrentPerform(iterations: 8) { thread in
            for index in 0..<500 {
                let key = SessionKey(serverName: "host\(index % 50)", port: thread)
                store.store(session, for: key)
                _ = store.session(for: key)
                if index % 3 == 0 { store.remove(for: key) }
            }
        }
        XCTAssertEqual(store.session(for: SessionKey(serverName: "host1", port: 0)), session)
    }
}
