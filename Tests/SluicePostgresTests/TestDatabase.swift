import Foundation
import SluicePostgres
import SluiceTestSupport
import Synchronization
import Testing

/// A database of its own for one test: created empty, dropped (with any sessions left) at the end.
final class TestDatabase: Sendable {
    let name: String
    let baseURL: String
    private let pools = Mutex<[PostgresPool]>([])

    private init(name: String, baseURL: String) {
        self.name = name
        self.baseURL = baseURL
    }

    /// Connection keywords that point the base URL at this database.
    var overrides: [String: String] { ["dbname": name] }

    /// A pool on this database, closed when the test ends; `connection` adds or replaces
    /// connection keywords (`user`, `host`, `connect_timeout`...).
    func pool(
        size: Int = 3, maxTransactionAttempts: Int = 5, applicationName: String? = nil, lockTimeout: Duration? = nil,
        connection: [String: String] = [:]
    ) throws -> PostgresPool {
        var overrides = self.overrides.merging(connection) { $1 }
        if let applicationName { overrides["application_name"] = applicationName }
        let pool = try PostgresPool(
            url: baseURL, overrides: overrides, size: size, maxTransactionAttempts: maxTransactionAttempts,
            lockTimeout: lockTimeout)
        pools.withLock { $0.append(pool) }
        return pool
    }

    /// Runs `body` with a fresh database.
    static func with(_ body: (TestDatabase) async throws -> Void) async throws {
        let baseURL = try await TestCluster.baseURL()
        let admin = try await TestCluster.admin()
        let name = "test_" + (0..<6).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
        try await admin.withConnection { try $0.execute("CREATE DATABASE \(name)") }
        let database = TestDatabase(name: name, baseURL: baseURL)
        do {
            try await body(database)
        } catch {
            await database.drop(admin)
            throw error
        }
        await database.drop(admin)
    }

    private func drop(_ admin: PostgresPool) async {
        for pool in pools.withLock({ $0 }) { await pool.closeAndWait() }
        let name = self.name
        do {
            try await admin.withConnection { try $0.execute("DROP DATABASE IF EXISTS \(name) WITH (FORCE)") }
        } catch {
            Issue.record("could not drop test database \(name): \(error)")
        }
    }
}

/// A thread-safe counter for bodies running on pool threads.
final class Counter: Sendable {
    private let value = Atomic<Int>(0)

    @discardableResult
    func increment() -> Int { value.add(1, ordering: .sequentiallyConsistent).newValue }
    var current: Int { value.load(ordering: .sequentiallyConsistent) }
}

/// A flag shared with pool threads and escaping closures.
final class Flag: Sendable {
    private let value = Atomic<Bool>(false)

    func set() { value.store(true, ordering: .sequentiallyConsistent) }
    var isSet: Bool { value.load(ordering: .sequentiallyConsistent) }
}

/// A value shared with pool threads and escaping closures.
final class Locked<Value: Sendable>: Sendable {
    private let value: Mutex<Value>

    init(_ value: Value) { self.value = Mutex(value) }

    func withLock<R: Sendable>(_ body: (inout Value) -> R) -> R { value.withLock { body(&$0) } }
    var current: Value { value.withLock { $0 } }
}

/// Blocks pool threads until `parties` of them arrived (or the timeout passed; returns false then).
// Safe because `arrived` is read and written only while holding `condition`.
final class Barrier: @unchecked Sendable {
    private let condition = NSCondition()
    private let parties: Int
    private var arrived = 0

    init(parties: Int) { self.parties = parties }

    @discardableResult
    func arrive(timeout: TimeInterval = 10) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        arrived += 1
        condition.broadcast()
        let deadline = Date(timeIntervalSinceNow: timeout)
        while arrived < parties {
            if !condition.wait(until: deadline) { return false }
        }
        return true
    }
}
