import Foundation
import SluiceOpenSSL
import SluicePostgres
import SluiceStore
import SluiceTestSupport
import Synchronization
import Testing

// Support for the storage tests: a fresh PostgreSQL database and a fresh disk blob store per
// test, driven through the public `Storage` API. Names here avoid those of Blobs/ (the blob
// store's own tests share this module).

/// One test's world: an empty database of its own (migrated unless asked not to), a disk blob
/// store in a temporary directory, and a `Storage` on both. Everything goes when the test ends.
final class StorageHarness: Sendable {
    let databaseName: String
    let pool: PostgresPool
    let blobRoot: URL
    let blobs: DiskBlobStore
    let limits: StorageLimits
    let storage: Storage

    private init(databaseName: String, pool: PostgresPool, blobRoot: URL, blobs: DiskBlobStore, limits: StorageLimits) {
        self.databaseName = databaseName
        self.pool = pool
        self.blobRoot = blobRoot
        self.blobs = blobs
        self.limits = limits
        self.storage = Storage(database: pool, blobs: blobs, limits: limits)
    }

    /// Runs `body` with a fresh database and blob store.
    static func with(
        limits: StorageLimits = StorageLimits(), migrate: Bool = true, poolSize: Int = 4,
        _ body: (StorageHarness) async throws -> Void
    ) async throws {
        let baseURL = try await TestCluster.baseURL()
        let admin = try await TestCluster.admin()
        let name = "store_" + (0..<6).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
        try await admin.withConnection { try $0.execute("CREATE DATABASE \(name)") }
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-storage-\(UUID().uuidString)")
        let pool = try PostgresPool(
            url: baseURL, overrides: ["dbname": name, "application_name": "sluice-store-tests"], size: poolSize)
        func cleanUp() async {
            await pool.closeAndWait()
            do {
                try await admin.withConnection { try $0.execute("DROP DATABASE IF EXISTS \(name) WITH (FORCE)") }
            } catch {
                Issue.record("could not drop test database \(name): \(error)")
            }
            try? FileManager.default.removeItem(at: root)
        }
        do {
            if migrate { try await Storage.migrate(pool) }
            let blobs = try await DiskBlobStore(root: root)
            let harness = StorageHarness(databaseName: name, pool: pool, blobRoot: root, blobs: blobs, limits: limits)
            try await body(harness)
        } catch {
            await cleanUp()
            throw error
        }
        await cleanUp()
    }

    /// Another `Storage` over the same database and blobs, with other limits (for example a
    /// collector with a different grace period).
    func storage(with limits: StorageLimits) -> Storage {
        Storage(database: pool, blobs: blobs, limits: limits)
    }

    func principal(_ name: String) async throws -> Principal {
        try await storage.principals.principal(named: name)
    }

    /// alice, and bob her WRITE grantee on `inbox/`: the owner and grantee of the sharing tests.
    func aliceSharingInboxWithBob() async throws -> (alice: Principal, bob: Principal) {
        let alice = try await principal("CN=alice")
        let bob = try await principal("CN=bob")
        _ = try await storage.grants.grant(by: alice, to: bob.handle, scope: .prefix, path: "inbox/", access: .write)
        return (alice, bob)
    }

    /// Runs one SQL statement on the test database.
    @discardableResult
    func sql(_ text: String, _ parameters: [PostgresValue] = []) async throws -> PostgresResult {
        try await pool.withConnection { try $0.execute(text, parameters) }
    }

    /// Holds every blob for an hour, as uploads of their bytes in flight would.
    func holdEveryBlob() async throws {
        try await sql(
            "INSERT INTO blob_holds (scope, sha256, expires_at) SELECT scope, sha256, now() + interval '1 hour' FROM blobs")
    }

    /// Finished blob files, relative to `<root>/blobs`, sorted.
    func blobFiles() -> [String] { regularFiles(under: blobRoot.appendingPathComponent("blobs")) }

    /// Staging files, relative to `<root>/staging`, sorted.
    func stagingFiles() -> [String] { regularFiles(under: blobRoot.appendingPathComponent("staging")) }

    /// The path of a finished blob, relative to `<root>/blobs`.
    func blobFile(scope: String, sha256: [UInt8]) -> String {
        let hex = hexString(sha256)
        return "\(scope)/\(hex.prefix(2))/\(hex)"
    }

    /// The rows of the blobs table as "scope/hex", sorted.
    func blobRows() async throws -> [String] {
        try await sql("SELECT scope, sha256 FROM blobs").rows
            .map { "\(try $0.string("scope"))/\(hexString(try $0.bytes("sha256")))" }.sorted()
    }
}

/// The regular files under a directory, as sorted relative paths.
func regularFiles(under directory: URL) -> [String] {
    guard let enumerator = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: [.isRegularFileKey]) else {
        return []
    }
    let base = directory.standardizedFileURL.path + "/"
    return enumerator.compactMap { item -> String? in
        guard let url = item as? URL, (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true else {
            return nil
        }
        return String(url.standardizedFileURL.path.dropFirst(base.count))
    }.sorted()
}

func hexString(_ bytes: [UInt8]) -> String {
    bytes.map { String(format: "%02x", $0) }.joined()
}

// MARK: - Bytes and declarations

/// Deterministic pseudo-random bytes, different for each seed (splitmix64).
func sampleBytes(_ count: Int, seed: UInt64) -> [UInt8] {
    var state = seed &+ 0x1234_5678
    var result: [UInt8] = []
    result.reserveCapacity(count)
    while result.count < count {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        withUnsafeBytes(of: z) { result.append(contentsOf: $0.prefix(count - result.count)) }
    }
    return result
}

/// The partitions `bytes` are cut into.
func cut(_ bytes: [UInt8], partitionSize: Int) -> [[UInt8]] {
    stride(from: 0, to: bytes.count, by: partitionSize).map { Array(bytes[$0..<min(bytes.count, $0 + partitionSize)]) }
}

/// A declaration for `bytes`, with correct partition hashes.
func declaration(
    _ name: String, _ bytes: [UInt8], partitionSize: Int, objectSHA256: [UInt8]? = nil,
    contentType: String = "application/octet-stream", metadata: [String: String] = [:]
) -> SessionDeclaration {
    SessionDeclaration(
        objectName: name, totalSize: Int64(bytes.count), partitionSize: Int64(partitionSize),
        partitionSHA256: cut(bytes, partitionSize: partitionSize).map { SHA256.hash($0) },
        objectSHA256: objectSHA256, contentType: contentType, userMetadata: metadata)
}

/// Chunks of bytes as an async sequence: `bytes` in pieces of `pieceSize`. With `failAfter`, the
/// sequence throws `InterruptedUpload` after that many pieces (a connection lost midway). With a
/// `gate`, it yields the first piece, reports `firstPieceTaken`, and waits for the gate to open
/// before the rest.
struct ChunkSequence: AsyncSequence, Sendable {
    typealias Element = [UInt8]

    let pieces: [[UInt8]]
    var failAfter: Int? = nil
    var gate: Gate? = nil

    init(_ bytes: [UInt8], pieceSize: Int = 4096, failAfter: Int? = nil, gate: Gate? = nil) {
        pieces = bytes.isEmpty ? [] : cut(bytes, partitionSize: Swift.max(1, pieceSize))
        self.failAfter = failAfter
        self.gate = gate
    }

    struct AsyncIterator: AsyncIteratorProtocol {
        let sequence: ChunkSequence
        var position = 0

        mutating func next() async throws -> [UInt8]? {
            if let failAfter = sequence.failAfter, position >= failAfter { throw InterruptedUpload() }
            if position == 1, let gate = sequence.gate {
                gate.firstPieceTaken.open()
                await gate.proceed.wait()
            }
            guard position < sequence.pieces.count else { return nil }
            defer { position += 1 }
            return sequence.pieces[position]
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(sequence: self) }
}

struct InterruptedUpload: Error, Equatable {}

/// Two one-shot signals for pausing an upload midway.
struct Gate: Sendable {
    let firstPieceTaken = Signal()
    let proceed = Signal()
}

/// A one-shot signal: `wait()` returns once `open()` was called (before or after).
final class Signal: Sendable {
    private let state = Mutex<(isOpen: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func open() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.isOpen = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    func wait() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resumeNow = state.withLock { state -> Bool in
                if state.isOpen { return true }
                state.waiters.append(continuation)
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }
}

// MARK: - Uploads through the API

extension Storage {
    /// Creates a session for `bytes`, stores every partition (in order, one piece per chunk of
    /// `pieceSize`), and commits it.
    @discardableResult
    func upload(
        _ name: String, _ bytes: [UInt8], partitionSize: Int = 1024, by principal: Principal,
        contentType: String = "application/octet-stream", metadata: [String: String] = [:]
    ) async throws -> ObjectVersionRecord {
        let session = try await sessions.create(
            declaration(name, bytes, partitionSize: partitionSize, contentType: contentType, metadata: metadata),
            by: principal)
        try await storeAll(bytes, partitionSize: partitionSize, in: session.id, by: principal)
        return try await sessions.commit(session.id, by: principal, objects: objects)
    }

    /// Stores every partition of `bytes` into a session.
    func storeAll(_ bytes: [UInt8], partitionSize: Int, in id: SessionID, by principal: Principal) async throws {
        for (index, partition) in cut(bytes, partitionSize: partitionSize).enumerated() {
            _ = try await sessions.storePartition(index, of: id, by: principal, chunks: ChunkSequence(partition))
        }
    }

    /// The bytes of `range` of a version (all of it when nil), read in chunks of `chunkSize`;
    /// also checks that no chunk is empty or larger than `chunkSize`.
    func read(_ version: ObjectVersionRecord, range: Range<Int64>? = nil, chunkSize: Int = 700) async throws -> [UInt8] {
        var result: [UInt8] = []
        for try await chunk in try ObjectBytes(version, range: range ?? 0..<version.size, blobs: blobs, chunkSize: chunkSize) {
            #expect(!chunk.isEmpty && chunk.count <= chunkSize, "chunk of \(chunk.count) bytes (chunk size \(chunkSize))")
            result += chunk
        }
        return result
    }
}

// MARK: - Errors

/// The cases of `StorageError`, without their messages.
enum StorageErrorKind: String, Sendable {
    case invalidArgument, notFound, permissionDenied, failedPrecondition, dataLoss, resourceExhausted, aborted, outOfRange, corrupted, unavailable,
        storageFailed
}

extension StorageError {
    var kind: StorageErrorKind {
        switch self {
        case .invalidArgument: .invalidArgument
        case .notFound: .notFound
        case .permissionDenied: .permissionDenied
        case .failedPrecondition: .failedPrecondition
        case .dataLoss: .dataLoss
        case .resourceExhausted, .quotaExceeded: .resourceExhausted
        case .aborted: .aborted
        case .outOfRange: .outOfRange
        case .corrupted: .corrupted
        case .unavailable: .unavailable
        case .storageFailed: .storageFailed
        }
    }

    var message: String { description }
}

/// Expects `body` to throw a `StorageError` of `kind` whose message contains every one of
/// `mentioning`; returns the error.
@discardableResult
func expectStorageError<T>(
    _ kind: StorageErrorKind, mentioning: [String] = [], _ comment: String? = nil,
    sourceLocation: SourceLocation = #_sourceLocation, _ body: () async throws -> T
) async -> StorageError? {
    let context = comment.map { " (\($0))" } ?? ""
    func fail(_ text: String) { Issue.record(Comment(rawValue: text + context), sourceLocation: sourceLocation) }
    do {
        let value = try await body()
        fail("expected StorageError.\(kind), got the value \(value)")
        return nil
    } catch let error as StorageError {
        if error.kind != kind { fail("expected StorageError.\(kind), got .\(error.kind): \(error.message)") }
        for word in mentioning where !error.message.contains(word) {
            fail("the message \"\(error.message)\" does not mention \"\(word)\"")
        }
        return error
    } catch {
        fail("expected StorageError.\(kind), got \(type(of: error)): \(error)")
        return nil
    }
}

/// Polls `condition` every 100 ms until it holds or `timeout` passes; returns whether it held.
func eventually(timeout: Duration = .seconds(10), _ condition: () async throws -> Bool) async throws -> Bool {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while clock.now < deadline {
        if try await condition() { return true }
        try await Task.sleep(for: .milliseconds(100))
    }
    return try await condition()
}

/// Byte-wise (UTF-8) ordering of strings: what `COLLATE "C"` and the listing promise.
func utf8Less(_ left: String, _ right: String) -> Bool {
    left.utf8.lexicographicallyPrecedes(right.utf8)
}

/// A transaction of the test holding an advisory lock until ``release()``. With a deferred
/// trigger that takes the same lock (``StorageHarness/holdCommits(inserting:when:on:)``), it
/// holds other transactions at their COMMIT, after their statements ran.
final class HeldAdvisoryLock: Sendable {
    private let held = DispatchSemaphore(value: 0)
    private let released = DispatchSemaphore(value: 0)
    private let holder: Mutex<Task<Void, any Error>?> = Mutex(nil)

    /// Takes lock `key` in a transaction of `harness`'s database; returns once it is held.
    static func take(_ key: Int64, in harness: StorageHarness) async -> HeldAdvisoryLock {
        let lock = HeldAdvisoryLock()
        let task = Task {
            try await harness.pool.transaction { connection in
                _ = try connection.execute("SELECT pg_advisory_xact_lock($1)", [.int(key)])
                lock.held.signal()
                lock.released.wait()
            }
        }
        lock.holder.withLock { $0 = task }
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                lock.held.wait()
                continuation.resume()
            }
        }
        return lock
    }

    /// Ends the holding transaction.
    func release() async throws {
        released.signal()
        try await holder.withLock { $0 }?.value
    }
}

extension StorageHarness {
    /// Makes every transaction that inserts into `table` a row for which `condition` holds
    /// (NEW is the row) wait at its COMMIT for advisory lock `key` (see ``HeldAdvisoryLock``).
    func holdCommits(inserting table: String, when condition: String = "true", on key: Int64) async throws {
        try await pool.withConnection { connection in
            _ = try connection.executeScript("""
                CREATE FUNCTION hold_commits_\(table)() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF \(condition) THEN PERFORM pg_advisory_xact_lock(\(key)); END IF;
                    RETURN NULL;
                END $$;
                CREATE CONSTRAINT TRIGGER hold_commits AFTER INSERT OR UPDATE ON \(table)
                    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION hold_commits_\(table)();
                """)
        }
    }

    /// Waits until a transaction of this harness's database waits for advisory lock `key` (the
    /// cluster is shared with every other suite, so only this database's lock counts).
    func waitUntilAdvisoryLockIsAwaited(_ key: Int64) async throws {
        while try await pool.withConnection({ connection in
            try connection.execute("""
                SELECT count(*)::bigint AS n FROM pg_locks
                WHERE locktype = 'advisory' AND NOT granted AND objid = $1
                  AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
                """, [.int(key)]).rows[0].int("n")
        }) == 0 {
            try await Task.sleep(for: .milliseconds(10))
        }
    }
}
