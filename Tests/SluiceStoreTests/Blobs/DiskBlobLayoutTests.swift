import Foundation
import Testing
@testable import SluiceStore

/// A new store records one fan-out level; a store made before the layout file existed keeps
/// its two levels (its blobs stay readable, new ones go beside them, the listing finds both),
/// and one whose layout file was lost keeps the level its blobs were stored with;
/// a layout this build does not know stops the store from opening.
@Suite struct DiskBlobLayoutTests {
    @Test func aNewStoreRecordsOneLevel() async throws {
        try await withTemporaryStore { blobs, root in
            let key = try await store(testBytes(100), in: blobs)
            #expect(try String(contentsOf: root.appendingPathComponent("layout"), encoding: .utf8) == "fan-out levels: 1\n")
            #expect(files(under: root.appendingPathComponent("blobs")) == ["alice/\(key.hex.prefix(2))/\(key.hex)"])
            // Opened again, it reads the file rather than looking at what blobs/ holds.
            let reopened = try await DiskBlobStore(root: root)
            #expect(try await reopened.contains(key))
        }
    }

    /// sluiced's default root is `.data/blobs` under the working directory, which in a fresh
    /// directory has no `.data` yet: the store makes the missing parents too.
    @Test func aRootWhoseParentsAreMissingIsMadeWithThem() async throws {
        let top = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-blobs-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: top) }
        let root = top.appendingPathComponent(".data/blobs")
        let blobs = try await DiskBlobStore(root: root)
        let key = try await store(testBytes(100), in: blobs)
        #expect(try await blobs.contains(key))
        #expect(try String(contentsOf: root.appendingPathComponent("layout"), encoding: .utf8) == "fan-out levels: 1\n")
    }

    @Test func aStoreWithoutTheLayoutFileKeepsTwoLevels() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-blobs-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let old = testBytes(300, seed: 7)
        let oldKey = try key(for: old)
        let oldFolder = root.appendingPathComponent(
            "blobs/alice/\(oldKey.hex.prefix(2))/\(oldKey.hex.dropFirst(2).prefix(2))")
        try FileManager.default.createDirectory(at: oldFolder, withIntermediateDirectories: true)
        try Data(old).write(to: oldFolder.appendingPathComponent(oldKey.hex))

        let blobs = try await DiskBlobStore(root: root)
        #expect(try String(contentsOf: root.appendingPathComponent("layout"), encoding: .utf8) == "fan-out levels: 2\n")
        #expect(try await readAll(blobs.read(oldKey, range: 0..<300, chunkSize: 4096)).flatMap { $0 } == old)
        let newKey = try await store(testBytes(200, seed: 8), in: blobs)
        #expect(
            files(under: root.appendingPathComponent("blobs")).contains(
                "alice/\(newKey.hex.prefix(2))/\(newKey.hex.dropFirst(2).prefix(2))/\(newKey.hex)"))
        let listed = try await blobs.keys(olderThan: Date().addingTimeInterval(60), after: nil, limit: 10)
        #expect(listed == [oldKey, newKey].sorted { $0.hex < $1.hex })
        #expect(try await blobs.keys(olderThan: Date().addingTimeInterval(60), after: listed[0], limit: 10) == [listed[1]])
    }

    /// Two sluiced instances starting at once on a fresh folder (test_two_instances.py): the
    /// first to record the layout wins, the others read it; none fails.
    @Test func aOneLevelStoreWhoseLayoutFileWasLostKeepsOneLevel() async throws {
        try await withTemporaryStore { blobs, root in
            let key = try await store(testBytes(100), in: blobs)
            try FileManager.default.removeItem(at: root.appendingPathComponent("layout"))
            let reopened = try await DiskBlobStore(root: root)
            #expect(try String(contentsOf: root.appendingPathComponent("layout"), encoding: .utf8) == "fan-out levels: 1\n")
            #expect(try await readAll(reopened.read(key, range: 0..<100, chunkSize: 4096)).flatMap { $0 } == testBytes(100))
            let newKey = try await store(testBytes(200, seed: 9), in: reopened)
            #expect(files(under: root.appendingPathComponent("blobs")).contains("alice/\(newKey.hex.prefix(2))/\(newKey.hex)"))
        }
    }

    @Test func storesOpenedAtOnceOnAFreshRootAgree() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-blobs-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let stores = try await withThrowingTaskGroup(of: DiskBlobStore.self) { group in
            for _ in 0..<8 { group.addTask { try await DiskBlobStore(root: root) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let key = try await store(testBytes(64), in: stores[0])
        for other in stores { #expect(try await other.contains(key)) }
        #expect(files(under: root) == ["blobs/alice/\(key.hex.prefix(2))/\(key.hex)", "layout"])
    }

    @Test func anUnknownLayoutStopsTheStore() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-blobs-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        try Data("fan-out levels: 3\n".utf8).write(to: root.appendingPathComponent("layout"))
        await #expect(throws: BlobError.unknownLayout(path: root.path + "/layout", content: "fan-out levels: 3")) {
            _ = try await DiskBlobStore(root: root)
        }
    }
}
