import Foundation
import SluiceOpenSSL
import SluicePostgres
import SluiceStore
import Testing

/// Migrations, and opening upload sessions: validation of the declaration and the limit on
/// open sessions per principal.
@Suite(.timeLimit(.minutes(5))) struct MigrationTests {
    static let tables = [
        "principals", "blobs", "upload_sessions", "session_partitions", "objects", "object_versions",
        "version_partitions",
    ]

    func appliedVersions(_ harness: StorageHarness) async throws -> [Int64] {
        try await harness.sql("SELECT version::bigint AS version FROM schema_migrations ORDER BY version").rows
            .map { try $0.int("version") }
    }

    func missingTables(_ harness: StorageHarness) async throws -> [String] {
        var missing: [String] = []
        for table in Self.tables {
            let found = try await harness.sql("SELECT to_regclass($1) IS NOT NULL AS found", [.text(table)])
            if try !found.rows[0].bool("found") { missing.append(table) }
        }
        return missing
    }

    @Test func applyOnAnEmptyDatabaseAndAreIdempotent() async throws {
        try await StorageHarness.with(migrate: false) { harness in
            #expect(try await missingTables(harness) == Self.tables)
            try await Storage.migrate(harness.pool)
            #expect(try await missingTables(harness).isEmpty)
            let versions = try await appliedVersions(harness)
            #expect(versions == Schema.migrations.map { Int64($0.version) })

            // Again, and again: nothing changes, nothing fails.
            try await Storage.migrate(harness.pool)
            try await Storage.migrate(harness.pool)
            #expect(try await appliedVersions(harness) == versions)

            // The schema works.
            let alice = try await harness.principal("CN=alice")
            let record = try await harness.storage.upload("after-migration", sampleBytes(10, seed: 1), by: alice)
            #expect(record.version == 1)
        }
    }

    @Test func concurrentMigratorsApplyEachMigrationOnce() async throws {
        try await StorageHarness.with(migrate: false, poolSize: 4) { harness in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<4 { group.addTask { try await Storage.migrate(harness.pool) } }
                try await group.waitForAll()
            }
            #expect(try await missingTables(harness).isEmpty)
            #expect(try await appliedVersions(harness) == Schema.migrations.map { Int64($0.version) })
        }
    }
}

@Suite(.timeLimit(.minutes(5))) struct SessionValidationTests {
    static var limits: StorageLimits {
        var limits = StorageLimits()
        limits.maxPartitionSize = 1024
        limits.maxPartitionsPerSession = 8
        limits.maxUserMetadataEntries = 3
        limits.maxUserMetadataKeyBytes = 8
        limits.maxUserMetadataValueBytes = 16
        return limits
    }

    static let hash = [UInt8](repeating: 0xab, count: 32)

    /// Valid: 10 bytes in partitions of 4, so three hashes.
    static func valid() -> SessionDeclaration {
        SessionDeclaration(
            objectName: "v/ok", totalSize: 10, partitionSize: 4, partitionSHA256: [hash, hash, hash],
            objectSHA256: nil, contentType: "text/plain", userMetadata: ["k": "v"])
    }

    static func with(_ change: (inout SessionDeclaration) -> Void) -> SessionDeclaration {
        var declaration = valid()
        change(&declaration)
        return declaration
    }

    /// Each invalid declaration, and words its message must contain (the field it names).
    static let invalid: [(String, SessionDeclaration, [String])] = [
        ("empty name", with { $0.objectName = "" }, ["name", "empty"]),
        ("1025-byte name", with { $0.objectName = String(repeating: "x", count: 1025) }, ["name", "1025", "1024"]),
        ("1026-byte name of 2-byte characters", with { $0.objectName = String(repeating: "é", count: 513) }, ["name", "1026"]),
        ("NUL inside the name", with { $0.objectName = "a\u{0}b" }, ["name", "NUL"]),
        ("name is NUL", with { $0.objectName = "\u{0}" }, ["name", "NUL"]),
        ("negative total size", with { $0.totalSize = -1 }, ["total_size", "-1"]),
        ("partition size 0", with { $0.partitionSize = 0 }, ["partition_size", "1024"]),
        ("negative partition size", with { $0.partitionSize = -4 }, ["partition_size"]),
        ("partition size over the limit", with {
            $0.partitionSize = 1025
            $0.partitionSHA256 = [hash]
        }, ["partition_size", "1025", "1024"]),
        ("too many partitions", with {
            $0.totalSize = 36
            $0.partitionSHA256 = Array(repeating: hash, count: 9)
        }, ["9 partitions", "8", "at least 5 bytes"]),
        ("larger than one session takes", with {
            $0.totalSize = 8 * 1024 + 1
            $0.partitionSize = 1024
            $0.partitionSHA256 = Array(repeating: hash, count: 9)
        }, ["9 partitions", "8 partitions of 1024 bytes (8192 bytes)"]),
        ("too few hashes", with { $0.partitionSHA256 = [hash, hash] }, ["partition_sha256", "2", "3"]),
        ("too many hashes", with { $0.partitionSHA256 = [hash, hash, hash, hash] }, ["partition_sha256", "4", "3"]),
        ("a hash for an empty object", with {
            $0.totalSize = 0
            $0.partitionSHA256 = [hash]
        }, ["partition_sha256"]),
        ("31-byte partition hash", with { $0.partitionSHA256[1] = Array(hash.prefix(31)) }, ["partition_sha256[1]", "31"]),
        ("33-byte partition hash", with { $0.partitionSHA256[2] = hash + [0] }, ["partition_sha256[2]", "33"]),
        ("31-byte object hash", with { $0.objectSHA256 = Array(hash.prefix(31)) }, ["object_sha256", "31"]),
        ("64-byte object hash", with { $0.objectSHA256 = hash + hash }, ["object_sha256", "64"]),
        ("too many metadata entries", with { $0.userMetadata = ["a": "1", "b": "2", "c": "3", "d": "4"] },
         ["user_metadata", "4", "3"]),
        ("empty metadata key", with { $0.userMetadata = ["": "v"] }, ["user_metadata"]),
        ("metadata key over the limit", with { $0.userMetadata = ["123456789": "v"] }, ["user_metadata", "8"]),
        ("NUL in a metadata key", with { $0.userMetadata = ["a\u{0}": "v"] }, ["user_metadata", "NUL"]),
        ("metadata value over the limit", with { $0.userMetadata = ["k": String(repeating: "v", count: 17)] },
         ["user_metadata", "16"]),
        ("NUL in a metadata value", with { $0.userMetadata = ["k": "a\u{0}b"] }, ["user_metadata", "NUL"]),
        ("content type over 256 bytes", with { $0.contentType = String(repeating: "t", count: 257) }, ["content_type"]),
    ]

    @Test func eachInvalidDeclarationIsInvalidArgumentNamingTheField() async throws {
        try await StorageHarness.with(limits: Self.limits) { harness in
            let alice = try await harness.principal("CN=alice")
            for (label, declaration, words) in Self.invalid {
                await expectStorageError(.invalidArgument, mentioning: words, label) {
                    try await harness.storage.sessions.create(declaration, by: alice)
                }
            }
            // Nothing was created by any of them.
            let listed = try await harness.storage.sessions.list(of: alice, pageSize: 100, pageToken: "", openOnly: false)
            #expect(listed.sessions.isEmpty)
            #expect(try await harness.sql("SELECT count(*)::bigint AS n FROM upload_sessions").rows[0].int("n") == 0)
        }
    }

    /// The limits themselves are allowed, and names are data, not paths.
    @Test func boundaryDeclarationsAreAccepted() async throws {
        let accepted: [(String, SessionDeclaration)] = [
            ("1024-byte name", Self.with { $0.objectName = String(repeating: "x", count: 1024) }),
            ("1024-byte name of 2-byte characters", Self.with { $0.objectName = String(repeating: "é", count: 512) }),
            ("path-like name", Self.with { $0.objectName = "../../etc/passwd" }),
            ("partition size at the limit", Self.with {
                $0.totalSize = 2048
                $0.partitionSize = 1024
                $0.partitionSHA256 = [Self.hash, Self.hash]
            }),
            ("as many partitions as allowed", Self.with {
                $0.totalSize = 32
                $0.partitionSHA256 = Array(repeating: Self.hash, count: 8)
            }),
            ("empty object", Self.with {
                $0.totalSize = 0
                $0.partitionSHA256 = []
            }),
            ("metadata at the limits", Self.with {
                $0.userMetadata = ["12345678": String(repeating: "v", count: 16), "b": "", "é": "ü"]
            }),
            ("object hash given", Self.with { $0.objectSHA256 = Self.hash }),
            ("content type of 256 bytes", Self.with { $0.contentType = String(repeating: "t", count: 256) }),
        ]
        try await StorageHarness.with(limits: Self.limits) { harness in
            let alice = try await harness.principal("CN=alice")
            for (label, declaration) in accepted {
                do {
                    let session = try await harness.storage.sessions.create(declaration, by: alice)
                    #expect(session.state == .open, "\(label)")
                    #expect(session.objectName == declaration.objectName, "\(label)")
                    #expect(session.totalSize == declaration.totalSize, "\(label)")
                    #expect(session.partitionSHA256 == declaration.partitionSHA256, "\(label)")
                    #expect(session.objectSHA256 == declaration.objectSHA256, "\(label)")
                    #expect(session.userMetadata == declaration.userMetadata, "\(label)")
                    #expect(session.contentType == declaration.contentType, "\(label)")
                    #expect(session.storedPartitions.isEmpty && session.storedBytes == 0, "\(label)")
                    #expect(session.expiresAt > session.createdAt, "\(label)")
                } catch {
                    Issue.record("\(label): \(error)")
                }
            }
        }
    }

    /// A total size near Int64.max must be refused, not crash the process: the partition
    /// count (and the hint in its message) must not overflow. Run in a child process, since
    /// an overflow traps.
    @Test(arguments: [
        (Int64.max, Int64(1024)),
        (Int64.max, Int64(1)),
        (Int64.max - 10, Int64(1)),
    ])
    func hugeTotalSizeIsRefusedWithoutCrashing(totalSize: Int64, partitionSize: Int64) async {
        // Removed here: a child that traps never runs its own clean-up.
        let rootPath = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-overflow-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: rootPath) }
        await #expect(processExitsWith: .success) { [totalSize, partitionSize, rootPath = rootPath as String] in
            let blobs = try await DiskBlobStore(root: URL(fileURLWithPath: rootPath))
            // Never connects: validation comes first.
            let pool = try PostgresPool(url: "postgresql:///nonexistent?host=/nonexistent", size: 1)
            let sessions = UploadSessions(database: pool, blobs: blobs, limits: StorageLimits())
            let declaration = SessionDeclaration(
                objectName: "huge", totalSize: totalSize, partitionSize: partitionSize, partitionSHA256: [],
                objectSHA256: nil, contentType: "", userMetadata: [:])
            do {
                _ = try await sessions.create(declaration, by: Principal(id: 1, name: "CN=alice"))
                exit(3)
            } catch let error as StorageError {
                guard case .invalidArgument = error else { exit(4) }
            } catch {
                exit(5)
            }
        }
    }
}

@Suite(.timeLimit(.minutes(5))) struct OpenSessionLimitTests {
    static var limits: StorageLimits {
        var limits = StorageLimits()
        limits.maxOpenSessionsPerPrincipal = 3
        return limits
    }

    static func small(_ name: String) -> SessionDeclaration {
        declaration(name, sampleBytes(10, seed: 7), partitionSize: 4)
    }

    @Test func theFourthCreateIsResourceExhausted() async throws {
        try await StorageHarness.with(limits: Self.limits) { harness in
            let sessions = harness.storage.sessions
            let alice = try await harness.principal("CN=alice")
            var opened: [SessionRecord] = []
            for index in 0..<3 { opened.append(try await sessions.create(Self.small("n\(index)"), by: alice)) }
            await expectStorageError(.resourceExhausted, mentioning: ["3"]) {
                try await sessions.create(Self.small("n3"), by: alice)
            }
            // Another principal has a limit of its own.
            let bob = try await harness.principal("CN=bob")
            _ = try await sessions.create(Self.small("b0"), by: bob)

            // Closing a session makes room: aborting one, and committing one.
            _ = try await sessions.abort(opened[0].id, of: alice)
            let fourth = try await sessions.create(Self.small("n3"), by: alice)
            await expectStorageError(.resourceExhausted) { try await sessions.create(Self.small("n4"), by: alice) }
            try await harness.storage.storeAll(sampleBytes(10, seed: 7), partitionSize: 4, in: fourth.id, by: alice)
            _ = try await sessions.commit(fourth.id, by: alice, objects: harness.storage.objects)
            _ = try await sessions.create(Self.small("n4"), by: alice)
            await expectStorageError(.resourceExhausted) { try await sessions.create(Self.small("n5"), by: alice) }

            let open = try await sessions.list(of: alice, pageSize: 100, pageToken: "", openOnly: true).sessions
            #expect(open.count == 3)
        }
    }

    @Test func concurrentCreatesNeverExceedTheLimit() async throws {
        try await StorageHarness.with(limits: Self.limits, poolSize: 6) { harness in
            let sessions = harness.storage.sessions
            let alice = try await harness.principal("CN=alice")
            let outcomes = await withTaskGroup(of: Result<SessionRecord, any Error>.self) { group in
                for index in 0..<10 {
                    group.addTask {
                        do { return .success(try await sessions.create(Self.small("c\(index)"), by: alice)) }
                        catch { return .failure(error) }
                    }
                }
                var outcomes: [Result<SessionRecord, any Error>] = []
                for await outcome in group { outcomes.append(outcome) }
                return outcomes
            }
            let created = outcomes.compactMap { try? $0.get() }
            #expect(created.count == 3)
            for case .failure(let error) in outcomes {
                #expect((error as? StorageError)?.kind == .resourceExhausted, "\(error)")
            }
            let open = try await sessions.list(of: alice, pageSize: 100, pageToken: "", openOnly: true).sessions
            #expect(open.count == 3)
            #expect(try await harness.sql("SELECT count(*)::bigint AS n FROM upload_sessions").rows[0].int("n") == 3)
        }
    }

    /// An expired session no longer counts as open.
    @Test func expiredSessionsDoNotCount() async throws {
        var limits = Self.limits
        limits.maxOpenSessionsPerPrincipal = 1
        limits.sessionLifetime = .seconds(3)  // room for a loaded machine
        try await StorageHarness.with(limits: limits) { harness in
            let sessions = harness.storage.sessions
            let alice = try await harness.principal("CN=alice")
            let first = try await sessions.create(Self.small("e0"), by: alice)
            await expectStorageError(.resourceExhausted) { try await sessions.create(Self.small("e1"), by: alice) }
            #expect(try await eventually { try await sessions.get(first.id, of: alice).state == .expired })
            _ = try await sessions.create(Self.small("e1"), by: alice)
        }
    }

    /// The session lifetime is a Duration and is honoured to the millisecond, not truncated to
    /// whole seconds.
    @Test func sessionLifetimeKeepsFractionsOfASecond() async throws {
        var limits = StorageLimits()
        limits.sessionLifetime = .milliseconds(1500)
        try await StorageHarness.with(limits: limits) { harness in
            let alice = try await harness.principal("CN=alice")
            let session = try await harness.storage.sessions.create(Self.small("lifetime"), by: alice)
            let lifetime = session.expiresAt.timeIntervalSince(session.createdAt)
            #expect(abs(lifetime - 1.5) < 0.05, "a lifetime of 1.5 s gave a session that lives \(lifetime) s")
        }
    }

    /// A session that has stored nothing reports the expiry the collector gives it
    /// (the empty-session lifetime), and the full session lifetime once a partition is stored.
    @Test func anEmptySessionReportsItsEarlierExpiry() async throws {
        var limits = StorageLimits()
        limits.sessionLifetime = .seconds(86_400)
        limits.emptySessionLifetime = .seconds(600)
        try await StorageHarness.with(limits: limits) { harness in
            let sessions = harness.storage.sessions
            let alice = try await harness.principal("CN=alice")
            let bytes = sampleBytes(100, seed: 3)
            func lifetime(_ session: SessionRecord) -> Double { session.expiresAt.timeIntervalSince(session.createdAt) }

            let created = try await sessions.create(declaration("early", bytes, partitionSize: 100), by: alice)
            let listed = try await sessions.list(of: alice, pageSize: 0, pageToken: "", openOnly: true).sessions
            for (label, session) in [
                ("create", created), ("get", try await sessions.get(created.id, of: alice)), ("list", listed[0]),
            ] {
                #expect(abs(lifetime(session) - 600) < 1, "\(label): an empty session lives \(lifetime(session)) s")
            }
            _ = try await sessions.storePartition(0, of: created.id, by: alice, chunks: ChunkSequence(bytes))
            let stored = try await sessions.get(created.id, of: alice)
            #expect(abs(lifetime(stored) - 86_400) < 1, "a session with a partition lives \(lifetime(stored)) s")
        }
    }
}

/// Listing sessions: newest first, paged, isolated.
@Suite(.timeLimit(.minutes(5))) struct SessionListingTests {
    @Test func pagesNewestFirstAndOpenOnly() async throws {
        try await StorageHarness.with { harness in
            let sessions = harness.storage.sessions
            let alice = try await harness.principal("CN=alice")
            var created: [SessionRecord] = []
            for index in 0..<5 {
                created.append(try await sessions.create(OpenSessionLimitTests.small("s\(index)"), by: alice))
            }
            _ = try await sessions.abort(created[1].id, of: alice)
            var walked: [SessionID] = []
            var token = ""
            repeat {
                let page = try await sessions.list(of: alice, pageSize: 2, pageToken: token, openOnly: false)
                #expect(page.sessions.count <= 2)
                walked += page.sessions.map(\.id)
                token = page.nextPageToken
            } while !token.isEmpty
            #expect(walked == created.reversed().map(\.id))
            let open = try await sessions.list(of: alice, pageSize: 0, pageToken: "", openOnly: true)
            #expect(open.sessions.map(\.id) == created.reversed().map(\.id).filter { $0 != created[1].id })
            await expectStorageError(.invalidArgument, mentioning: ["page_token"]) {
                try await sessions.list(of: alice, pageSize: 2, pageToken: "%%%", openOnly: false)
            }
            await expectStorageError(.invalidArgument, mentioning: ["page_size"]) {
                try await sessions.list(of: alice, pageSize: 1001, pageToken: "", openOnly: false)
            }
        }
    }

    /// The owner's listing merges its own sessions with those a grantee opened into its folder
    /// (each from its own index): every page size walks all of them once, newest first and by
    /// id within one instant, also when a page ends inside a run of sessions created at the
    /// same microsecond; the grantee's own sessions and a stranger's stay out.
    @Test func pagesOwnAndGranteesSessionsTogetherInOrder() async throws {
        try await StorageHarness.with { harness in
            let sessions = harness.storage.sessions
            let alice = try await harness.principal("CN=alice")
            let bob = try await harness.principal("CN=bob")
            let carol = try await harness.principal("CN=carol")
            _ = try await harness.storage.grants.grant(
                by: alice, to: bob.handle, scope: .prefix, path: "inbox/", access: .write)
            var listed: [SessionRecord] = []
            for index in 0..<12 {
                listed.append(index % 3 == 1
                    ? try await sessions.create(OpenSessionLimitTests.small("inbox/b\(index)"), by: bob, owner: alice)
                    : try await sessions.create(OpenSessionLimitTests.small("a\(index)"), by: alice))
            }
            _ = try await sessions.abort(listed[4].id, of: alice)
            let bobsOwn = try await sessions.create(OpenSessionLimitTests.small("bob"), by: bob)
            let carols = try await sessions.create(OpenSessionLimitTests.small("carol"), by: carol)
            // Runs of three made at one instant, so that pages end inside them.
            _ = try await harness.sql("""
                UPDATE upload_sessions SET created_at = timestamptz '2026-01-01 00:00:00.123456+00'
                    + (CASE WHEN id = ANY($1) THEN array_position($1, id) - 1 ELSE 0 END / 3) * interval '1 second'
                """, [.bytesArray(listed.map(\.id.bytes))])
            let expected = listed.indices.sorted { left, right in
                left / 3 != right / 3
                    ? left / 3 > right / 3 : listed[left].id.bytes.lexicographicallyPrecedes(listed[right].id.bytes)
            }.map { listed[$0].id }

            for pageSize in [1, 2, 3, 5, 100] {
                var walked: [SessionID] = []
                var token = ""
                repeat {
                    let page = try await sessions.list(of: alice, pageSize: pageSize, pageToken: token, openOnly: false)
                    #expect(page.sessions.count <= pageSize)
                    walked += page.sessions.map(\.id)
                    token = page.nextPageToken
                } while !token.isEmpty
                #expect(walked == expected, "page size \(pageSize)")
            }
            let open = try await sessions.list(of: alice, pageSize: 0, pageToken: "", openOnly: true).sessions
            #expect(open.map(\.id) == expected.filter { $0 != listed[4].id })
            let bobs = try await sessions.list(of: bob, pageSize: 0, pageToken: "", openOnly: false).sessions
            #expect(Set(bobs.map(\.id)) == Set(listed.enumerated().filter { $0.offset % 3 == 1 }.map(\.element.id) + [bobsOwn.id]))
            #expect(!expected.contains(bobsOwn.id) && !expected.contains(carols.id))
        }
    }
}
