import Foundation
import TesseraCrypto
import TesseraSessions
import XCTest

/// The key ring on a fake clock with the report's values: rotate 10 s, expire 20 s.
final class TicketKeyRingTests: XCTestCase {
    let start = Date(timeIntervalSince1970: 1_800_000_000)

    func at(_ seconds: TimeInterval) -> Date { start.addingTimeInterval(seconds) }

    func key(_ ring: TicketKeyRing, in state: KeyState, at seconds: TimeInterval, file: StaticString = #filePath, line: UInt = #line) throws -> TicketKey {
        let matches = ring.keys(at: at(seconds)).filter { $0.state(at: at(seconds)) == state }
        XCTAssertEqual(matches.count, 1, "one \(state) key at t=\(seconds)", file: file, line: line)
        return try XCTUnwrap(matches.first?.key, file: file, line: line)
    }

    func testEveryWindowFromStagedToExpired() throws {
        let ring = TicketKeyRing(rotate: 10, expire: 20, renewal: .whenKeyRetiring, start: start)

        // t=0: A encrypts, B is staged.
        let keyA = try XCTUnwrap(ring.encryptionKey(at: at(0)))
        XCTAssertEqual(try key(ring, in: .active, at: 0), keyA)
        let keyB = try key(ring, in: .staged, at: 0)
        XCTAssertNotEqual(keyA.name, keyB.name)
        XCTAssertEqual(try ring.lookup(keyName: keyA.name, at: at(0)), .valid(keyA))
        // The staged key decrypts before it encrypts (a fleet peer may already use it).
        XCTAssertEqual(try ring.lookup(keyName: keyB.name, at: at(5)), .valid(keyB))
        XCTAssertEqual(ring.encryptionKey(at: at(9.999)), keyA)
        XCTAssertEqual(ring.keys(at: at(0)).count, 2)

        // t=10: B encrypts, A is retiring (renewed), C is staged.
        XCTAssertEqual(ring.encryptionKey(at: at(10)), keyB)
        XCTAssertEqual(try ring.lookup(keyName: keyA.name, at: at(10)), .validRenew(keyA))
        XCTAssertEqual(try ring.lookup(keyName: keyB.name, at: at(10)), .valid(keyB))
        XCTAssertEqual(try key(ring, in: .retiring, at: 10), keyA)
        let keyC = try key(ring, in: .staged, at: 10)
        XCTAssertEqual(ring.keys(at: at(10)).count, 3)
        XCTAssertEqual(try ring.lookup(keyName: keyA.name, at: at(19.999)), .validRenew(keyA))

        // t=20: A is gone (and remembered as ours), B retiring, C encrypts.
        XCTAssertEqual(ring.encryptionKey(at: at(20)), keyC)
        XCTAssertEqual(try ring.lookup(keyName: keyA.name, at: at(20)), .notFound(.expiredKey))
        XCTAssertEqual(try ring.lookup(keyName: keyB.name, at: at(20)), .validRenew(keyB))
        XCTAssertFalse(ring.keys(at: at(20)).contains { $0.key == keyA })

        // t=30: B gone too.
        XCTAssertEqual(try ring.lookup(keyName: keyB.name, at: at(30)), .notFound(.expiredKey))
        XCTAssertEqual(try ring.lookup(keyName: keyC.name, at: at(30)), .validRenew(keyC))
    }

    func testManagedKeyScheduleMatchesTheRotation() throws {
        let ring = TicketKeyRing(rotate: 10, expire: 20, start: start)
        let keys = ring.keys(at: at(0))
        XCTAssertEqual(keys.map(\.activatesAt), [at(0), at(10)])
        XCTAssertEqual(keys.map(\.encryptsUntil), [at(10), at(20)])
        XCTAssertEqual(keys.map(\.decryptsUntil), [at(20), at(30)])
        let first = keys[0]
        XCTAssertEqual(first.state(at: at(-1)), .staged)
        XCTAssertEqual(first.state(at: at(0)), .active)
        XCTAssertEqual(first.state(at: at(10)), .retiring)
        XCTAssertEqual(first.state(at: at(20)), .expired)
        XCTAssertEqual(ring.renewal, .whenKeyRetiring)
    }

    func testRenewalPolicies() throws {
        for policy in [RenewalPolicy.whenKeyRetiring, .always, .never] {
            let ring = TicketKeyRing(rotate: 10, expire: 20, renewal: policy, start: start)
            let keyA = try XCTUnwrap(ring.encryptionKey(at: at(0)))
            let keyB = try XCTUnwrap(ring.encryptionKey(at: at(10)))
            let retiring = try ring.lookup(keyName: keyA.name, at: at(10))
            let active = try ring.lookup(keyName: keyB.name, at: at(10))
            switch policy {
            case .whenKeyRetiring:
                XCTAssertEqual(retiring, .validRenew(keyA))
                XCTAssertEqual(active, .valid(keyB))
            case .always:
                XCTAssertEqual(retiring, .validRenew(keyA))
                XCTAssertEqual(active, .validRenew(keyB))
            case .never:
                XCTAssertEqual(retiring, .valid(keyA))
                XCTAssertEqual(active, .valid(keyB))
            }
        }
    }

    func testLifetimeHintNeverOutlivesTheDecryptWindow() throws {
        let ring = TicketKeyRing(rotate: 10, expire: 20, start: start)
        for tenth in 0..<600 {
            let seconds = Double(tenth) / 10
            let now = at(seconds)
            let key = try XCTUnwrap(ring.encryptionKey(at: now))
            let managed = try XCTUnwrap(ring.keys(at: now).first { $0.key == key })
            let hint = ring.lifetimeHint(at: now)
            XCTAssertLessThanOrEqual(TimeInterval(hint), managed.decryptsUntil.timeIntervalSince(now), "t=\(seconds)")
            XCTAssertGreaterThan(hint, 9, "t=\(seconds): at least the rest of the encrypt window")
            // A ticket issued now still opens in the last moment of its hint.
            let lastMoment = now.addingTimeInterval(TimeInterval(hint) - 0.001)
            XCTAssertNotEqual(managed.state(at: lastMoment), .expired, "t=\(seconds) hint \(hint)")
        }
        let fresh = TicketKeyRing(rotate: 10, expire: 20, start: start)
        XCTAssertEqual(fresh.lifetimeHint(at: at(0)), 20)
        XCTAssertEqual(fresh.lifetimeHint(at: at(10)), 20)
        XCTAssertEqual(fresh.lifetimeHint(at: at(15.5)), 14)
    }

    func testUnknownAndGarbageNames() throws {
        let ring = TicketKeyRing(rotate: 10, expire: 20, start: start)
        for name in [[], [0], Array(repeating: 0, count: 16), Array(repeating: 0xFF, count: 16), Array(repeating: 1, count: 64)] as [[UInt8]] {
            XCTAssertEqual(try ring.lookup(keyName: name, at: at(0)), .notFound(.unknownKey))
        }
        XCTAssertEqual(try ring.lookup(keyName: TicketKey.generate().name, at: at(25)), .notFound(.unknownKey))
    }

    /// `canEncrypt` answers what `encryptionKey` would, without the key: before the start, in
    /// every window, and through a reloadable provider; a provider without it gets the default.
    func testCanEncryptAgreesWithEncryptionKey() throws {
        let ring = TicketKeyRing(rotate: 10, expire: 20, start: start)
        let reloadable = ReloadableTicketKeyProvider(ring)
        let fixed = TicketKeyRing(keys: [.permanent(TicketKey.generate(), encrypts: false)], renewal: .whenKeyRetiring)
        var answers: Set<Bool> = []
        for seconds in stride(from: -15.0, through: 65.0, by: 2.5) {
            let now = at(seconds)
            XCTAssertEqual(ring.canEncrypt(at: now), ring.encryptionKey(at: now) != nil, "t=\(seconds)")
            XCTAssertEqual(reloadable.canEncrypt(at: now), ring.canEncrypt(at: now), "t=\(seconds)")
            XCTAssertFalse(fixed.canEncrypt(at: now), "a decrypt-only key never encrypts")
            answers.insert(ring.canEncrypt(at: now))
        }
        XCTAssertEqual(answers, [false, true], "both answers occur across the windows")
        XCTAssertFalse(DecryptOnly().canEncrypt(at: start), "the default follows encryptionKey")
    }

    func testBeforeStartNothingEncryptsButTheFirstKeyIsStaged() throws {
        let ring = TicketKeyRing(rotate: 10, expire: 20, start: start)
        XCTAssertNil(ring.encryptionKey(at: at(-5)))
        XCTAssertEqual(ring.lifetimeHint(at: at(-5)), 0)
        let staged = try key(ring, in: .staged, at: -5)
        XCTAssertEqual(try ring.lookup(keyName: staged.name, at: at(-5)), .valid(staged))
        XCTAssertEqual(ring.encryptionKey(at: at(0)), staged)
    }

    func testLongIdleJumpsMakeOnlyTheKeysNeeded() throws {
        let ring = TicketKeyRing(rotate: 10, expire: 20, start: start)
        let keyA = try XCTUnwrap(ring.encryptionKey(at: at(0)))
        let later = at(1_000_005)
        let current = try XCTUnwrap(ring.encryptionKey(at: later))
        XCTAssertNotEqual(current, keyA)
        XCTAssertEqual(ring.keys(at: later).count, 2, "the active key and the staged one")
        XCTAssertEqual(try ring.lookup(keyName: keyA.name, at: later), .notFound(.expiredKey))
        XCTAssertEqual(ring.lifetimeHint(at: later), 15)
        // Absurd dates neither trap nor hang.
        XCTAssertNotNil(ring.encryptionKey(at: .distantFuture))
        _ = ring.lifetimeHint(at: .distantFuture)
    }

    func testOddParametersAreRaisedNotTrapped() throws {
        let ring = TicketKeyRing(rotate: 0, expire: -5, start: start)
        XCTAssertNotNil(ring.encryptionKey(at: at(0)))
        let key = try XCTUnwrap(ring.keys(at: at(0)).first)
        XCTAssertEqual(key.encryptsUntil.timeIntervalSince(key.activatesAt), 1)
        XCTAssertGreaterThanOrEqual(key.decryptsUntil, key.encryptsUntil)
        let nan = TicketKeyRing(rotate: .nan, expire: .infinity, start: start)
        XCTAssertNotNil(nan.encryptionKey(at: at(0)))
    }

    func testFixedKeysFollowTheirOwnSchedules() throws {
        let keyA = TicketKey.generate()
        let keyB = TicketKey.generate()
        let ring = TicketKeyRing(
            keys: [
                ManagedTicketKey(key: keyA, activatesAt: at(0), encryptsUntil: at(10), decryptsUntil: at(20)),
                ManagedTicketKey(key: keyB, activatesAt: at(10), encryptsUntil: at(100), decryptsUntil: at(200)),
            ],
            renewal: .whenKeyRetiring
        )
        XCTAssertEqual(ring.encryptionKey(at: at(5)), keyA)
        XCTAssertEqual(try ring.lookup(keyName: keyB.name, at: at(5)), .valid(keyB))
        XCTAssertEqual(ring.encryptionKey(at: at(10)), keyB)
        XCTAssertEqual(try ring.lookup(keyName: keyA.name, at: at(15)), .validRenew(keyA))
        XCTAssertEqual(try ring.lookup(keyName: keyA.name, at: at(20)), .notFound(.expiredKey))
        XCTAssertEqual(ring.keys(at: at(20)).map(\.key), [keyB])
        XCTAssertNil(ring.encryptionKey(at: at(100)))
        XCTAssertEqual(ring.lifetimeHint(at: at(100)), 0)
        XCTAssertEqual(ring.lifetimeHint(at: at(50)), 150)
    }

    /// Many threads look keys up while others drive the clock across rotations: no crash, and every
    /// answer agrees with the schedule of the key it names.
    func testConcurrentLookupsDuringRotation() throws {
        let start = self.start
        let ring = TicketKeyRing(rotate: 10, expire: 20, renewal: .whenKeyRetiring, start: start)
        let clock = FakeClock()
        let failures = FailureCounter()
        let threads = 8
        let iterations = 4000
        DispatchQueue.concurrentPerform(iterations: threads) { thread in
            for step in 0..<iterations {
                if thread == 0 {
                    clock.advance(by: 0.05)  // 4000 * 0.05 = 200 s: twenty rotations
                }
                let seconds = clock.now
                let now = start.addingTimeInterval(seconds)
                let key = ring.encryptionKey(at: now)
                let answer = key.map { (try? ring.lookup(keyName: $0.name, at: now)) ?? .notFound(.unknownKey) }
                let hint = ring.lifetimeHint(at: now)
                // The ring promises answers to callers lagging the newest `now` by less than `rotate`;
                // a thread preempted for longer is outside that promise, so its answers are not judged.
                if clock.now - seconds < 10 {
                    // A ticket under the key that encrypts now must open now (never expired or unknown).
                    switch answer {
                    case .some(.valid(let found)), .some(.validRenew(let found)):
                        if found != key { failures.record("lookup returned another key at \(seconds)") }
                    case .some(.notFound(let reason)):
                        failures.record("fresh key not found at \(seconds): \(reason)")
                    case .none:
                        failures.record("no encryption key at \(seconds)")
                    }
                }
                if hint > 20 { failures.record("hint \(hint) above the decrypt window") }
                if step % 97 == 0 {
                    let live = ring.keys(at: now)
                    if live.count > 4 { failures.record("\(live.count) live keys") }
                    _ = try? ring.lookup(keyName: Array(repeating: UInt8(step & 0xFF), count: 16), at: now)
                }
            }
        }
        XCTAssertEqual(failures.messages, [])
    }
}

/// A thread-safe fake clock in seconds since the test's start.
final class FakeClock: @unchecked Sendable {
    private let lock = NSLock()
    private var seconds: TimeInterval = 0
    var now: TimeInterval { lock.withLock { seconds } }
    func advance(by delta: TimeInterval) { lock.withLock { seconds += delta } }
}

final class FailureCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var recorded: [String] = []
    func record(_ message: String) { lock.withLock { if recorded.count < 20 { recorded.append(message) } } }
    var messages: [String] { lock.withLock { recorded } }
}

/// A provider with no key to encrypt with and no `canEncrypt` of its own.
private final class DecryptOnly: TicketKeyProvider, Sendable {
    func encryptionKey(at now: Date) -> TicketKey? { nil }
    func lookup(keyName: [UInt8], at now: Date) throws -> TicketKeyLookup { .notFound(.unknownKey) }
    func lifetimeHint(at now: Date) -> UInt32 { 0 }
}
