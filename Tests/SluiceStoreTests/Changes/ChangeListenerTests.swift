import Foundation
import SluicePostgres
import SluiceStore
import SluiceTestSupport
import Testing

/// The change listener's own connection: how it comes back when the server ends it.
@Suite(.timeLimit(.minutes(5))) struct ChangeListenerTests {
    /// The listener's session ended by the server (a failover, pg_terminate_backend): it
    /// reconnects on its own, as the pool does (the backoff's first pause is at most 0.1 s),
    /// and wakes the watchers, which re-read what they may have missed. How soon is not
    /// asserted: these machines are shared, and a wall-clock bound would fail at random.
    @Test func aListenerWhoseSessionEndsReconnectsAndWakesTheWatchers() async throws {
        try await StorageHarness.with { harness in
            let url = Self.url(try await TestCluster.baseURL(), database: harness.databaseName)
            let listener = ChangeListener(url: url) { _ in }
            listener.start()
            defer { listener.stop() }
            let mine = "datname = current_database() AND application_name = 'sluiced-change-listener'"
            try await waitUntil("the listener listens", timeout: .seconds(10)) {
                try await harness.sql("SELECT count(*)::bigint AS n FROM pg_stat_activity WHERE \(mine) AND query LIKE 'LISTEN%'")
                    .rows[0].int("n") == 1
            }
            let generation = listener.signal.generation
            try await harness.sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE \(mine)")
            try await waitUntil("the listener has reconnected and woken the watchers", timeout: .seconds(30)) {
                listener.signal.generation > generation
            }
            try await waitUntil("the listener listens again", timeout: .seconds(30)) {
                try await harness.sql("SELECT count(*)::bigint AS n FROM pg_stat_activity WHERE \(mine) AND query LIKE 'LISTEN%'")
                    .rows[0].int("n") == 1
            }
        }
    }

    /// `base` (a libpq URI or key=value string) pointed at `database`.
    private static func url(_ base: String, database: String) -> String {
        guard base.contains("://") else { return "\(base) dbname=\(database)" }
        return base + (base.contains("?") ? "&" : "?") + "dbname=\(database)"
    }
}
