import Foundation
import SluicePostgres
import SluiceTestSupport
import Testing

/// A database that refuses connections (all slots taken: 53300), has no socket, or hangs while
/// connecting: every waiting call fails promptly with a connection failure, none waits for ever
/// nor for an attempt of its own, and the pool reconnects by itself once connecting works again.
@Suite(.timeLimit(.minutes(5))) struct ConnectionRefusalTests {
    /// `calls` calls at once on a pool whose every connection is refused: all fail within
    /// `limit`, as connection failures whose text names the cause (for the log).
    private static func expectEveryCallRefused(
        _ pool: PostgresPool, calls: Int = 20, within limit: Duration, cause: String
    ) async {
        let clock = ContinuousClock()
        let began = clock.now
        let outcomes = await withTaskGroup(of: Result<Int, any Error>.self) { group in
            for n in 0..<calls {
                group.addTask { await Result(awaiting: { try await pool.withConnection { _ in n } }) }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        let elapsed = clock.now - began
        #expect(elapsed < limit, "the last refused call was answered after \(elapsed)")
        for outcome in outcomes {
            let error = #expect(throws: PostgresError.self) { try outcome.get() }
            #expect(error?.isConnectionFailure == true)
            #expect(error?.description.contains(cause) == true, "\(String(describing: error))")
        }
    }

    /// How many sessions named `application` the server has.
    private static func sessions(_ application: String, _ observer: PostgresPool) async throws -> Int64 {
        try await observer.withConnection { c in
            try c.execute(
                "SELECT count(*)::bigint AS n FROM pg_stat_activity WHERE application_name = $1", [.text(application)]
            ).rows[0].int("n")
        }
    }

    /// Waits until calls work again. The session of the pool's own attempt shows on the server
    /// a moment before the attempt is over (the session is set up); a call then is still refused.
    private static func waitUntilServing(_ pool: PostgresPool) async throws {
        try await waitUntil("the pool serves calls again", timeout: .seconds(5)) {
            (try? await pool.withConnection { _ in true }) ?? false
        }
    }

    /// The server refuses with 53300 (a role whose only connection slot is taken): the calls fail
    /// at once; when the slot frees, the pool connects again without waiting for a call.
    @Test func tooManyClientsFailsEveryWaiterAndThePoolReconnectsByItself() async throws {
        let admin = try await TestCluster.admin()
        let role = "refused_" + String(UInt32.random(in: 0...UInt32.max), radix: 16)
        try await admin.withConnection { _ = try $0.execute("CREATE ROLE \(role) LOGIN CONNECTION LIMIT 1") }
        do {
            try await TestDatabase.with { db in
                let occupant = try db.pool(size: 1, connection: ["user": role])
                try await occupant.withConnection { _ in }  // the role's only slot
                let pool = try db.pool(size: 1, applicationName: "refused", connection: ["user": role])
                await Self.expectEveryCallRefused(pool, within: .seconds(20), cause: "too many connections")

                await occupant.closeAndWait()
                let observer = try db.pool(size: 1)
                try await waitUntil("the refused pool has reconnected by itself", timeout: .seconds(20)) {
                    try await Self.sessions("refused", observer) > 0
                }
                try await Self.waitUntilServing(pool)
            }
        } catch {
            try? await admin.withConnection { _ = try $0.execute("DROP ROLE IF EXISTS \(role)") }
            throw error
        }
        try await admin.withConnection { _ = try $0.execute("DROP ROLE IF EXISTS \(role)") }
    }

    /// No socket where the pool looks: the calls fail at once; once the socket is there (a link
    /// to the test cluster's), the pool connects without waiting for a call.
    @Test func aMissingSocketFailsEveryWaiterAndThePoolConnectsOnceItAppears() async throws {
        let settings = try PostgresConnection.settings(of: try await TestCluster.baseURL())
        let clusterDirectory = try #require(
            settings["host"].flatMap { $0.hasPrefix("/") ? $0 : nil }, "the test cluster must listen on a Unix socket")
        let port = settings["port"] ?? "5432"
        let directory = "/tmp/sluice-nosocket-" + String(UInt32.random(in: 0...UInt32.max), radix: 16)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await TestDatabase.with { db in
            let pool = try db.pool(size: 2, applicationName: "socketless", connection: ["host": directory, "port": port])
            await Self.expectEveryCallRefused(pool, within: .seconds(20), cause: "No such file or directory")

            try FileManager.default.createSymbolicLink(
                atPath: "\(directory)/.s.PGSQL.\(port)", withDestinationPath: "\(clusterDirectory)/.s.PGSQL.\(port)")
            let observer = try db.pool(size: 1)
            try await waitUntil("the socketless pool has connected by itself", timeout: .seconds(20)) {
                try await Self.sessions("socketless", observer) > 0
            }
            try await Self.waitUntilServing(pool)
        }
    }

    /// A database that hangs while connecting: one attempt runs into `connect_timeout` (2 s), and
    /// every caller queued behind it fails with it, rather than each waiting for attempts of its
    /// own (two per call, one after another: over half a minute for the last of eight).
    @Test func waitersFailTogetherWhenConnectingHangs() async throws {
        let silent = try SilentSocket()
        let pool = try PostgresPool(
            url: "postgresql:///sluice?host=\(silent.directory)&port=\(silent.port)&connect_timeout=2", size: 1)
        defer { pool.close() }
        await Self.expectEveryCallRefused(pool, calls: 8, within: .seconds(20), cause: "timeout expired")
    }
}

extension Result where Failure == any Error {
    /// The outcome of an async call, for collecting failures from a task group.
    init(awaiting body: () async throws -> Success) async {
        do {
            self = .success(try await body())
        } catch {
            self = .failure(error)
        }
    }
}
