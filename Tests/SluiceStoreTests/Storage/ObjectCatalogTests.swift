import Foundation
import SluiceOpenSSL
import SluicePostgres
import SluiceStore
import Testing

/// Committed objects: versions, restore, delete, listing, and reading bytes back.
@Suite(.timeLimit(.minutes(5))) struct ObjectCatalogTests {
    @Test func versionZeroOrNilIsTheCurrentOne() async throws {
        try await StorageHarness.with { harness in
            let objects = harness.storage.objects
            let alice = try await harness.principal("CN=alice")
            try await harness.storage.upload("v", sampleBytes(10, seed: 1), by: alice)
            let second = try await harness.storage.upload("v", sampleBytes(20, seed: 2), partitionSize: 10, by: alice)
            #expect(try await objects.version("v", 0, of: alice) == second)
            #expect(try await objects.version("v", nil, of: alice) == second)
            #expect(try await objects.version("v", 1, of: alice).size == 10)
            await expectStorageError(.notFound, mentioning: ["'v'", "3"]) { try await objects.version("v", 3, of: alice) }
            await expectStorageError(.notFound, mentioning: ["'w'"]) { try await objects.version("w", 0, of: alice) }
            await expectStorageError(.invalidArgument, mentioning: ["version"]) { try await objects.version("v", -1, of: alice) }
            await expectStorageError(.invalidArgument, mentioning: ["name"]) { try await objects.version("", 0, of: alice) }
            // One partition of a version.
            let partition = try await objects.partition(1, of: "v", version: 0, principal: alice)
            #expect(partition == second.partitions[1])
            await expectStorageError(.invalidArgument, mentioning: ["partition_index", "0 to 1"]) {
                try await objects.partition(2, of: "v", version: 0, principal: alice)
            }
        }
    }

    @Test func consecutivePartitionsAreReadTogetherAndStopAtTheLast() async throws {
        try await StorageHarness.with { harness in
            let objects = harness.storage.objects
            let alice = try await harness.principal("CN=alice")
            let bob = try await harness.principal("CN=bob")
            let version = try await harness.storage.upload("runs", sampleBytes(55, seed: 3), partitionSize: 10, by: alice)
            let read = { (first: Int, count: Int) in
                try await objects.partitions(from: first, count: count, of: "runs", version: 0, principal: alice)
            }
            #expect(try await read(0, 6) == version.partitions)
            #expect(try await read(2, 3) == Array(version.partitions[2..<5]))
            #expect(try await read(4, 1024) == Array(version.partitions[4...]), "a count past the end stops at the last")
            #expect(try await read(5, 1) == [version.partitions[5]])
            await expectStorageError(.invalidArgument, mentioning: ["partition_index 6", "0 to 5"]) { try await read(6, 2) }
            await expectStorageError(.invalidArgument, mentioning: ["partition_index -1"]) { try await read(-1, 2) }
            for count in [0, -1, ObjectCatalog.maxPartitionsPerRead + 1] {
                await expectStorageError(.invalidArgument, mentioning: ["partition_count \(count)", "1 to 1024"]) {
                    try await read(0, count)
                }
            }
            await expectStorageError(.notFound, mentioning: ["'runs'"]) {
                try await objects.partitions(from: 0, count: 2, of: "runs", version: 0, principal: bob)
            }
        }
    }

    @Test func versionsArePagedNewestFirst() async throws {
        try await StorageHarness.with { harness in
            let objects = harness.storage.objects
            let alice = try await harness.principal("CN=alice")
            for seed in 1...5 { try await harness.storage.upload("paged", sampleBytes(seed * 10, seed: UInt64(seed)), by: alice) }

            for pageSize in [1, 2, 3, 5, 6] {
                var walked: [Int64] = []
                var token = ""
                var pages = 0
                repeat {
                    let page = try await objects.versions(of: "paged", principal: alice, pageSize: pageSize, pageToken: token)
                    #expect(page.versions.count <= pageSize)
                    #expect(!page.versions.isEmpty)
                    walked += page.versions.map(\.version)
                    token = page.nextPageToken
                    pages += 1
                } while !token.isEmpty && pages < 10
                #expect(walked == [5, 4, 3, 2, 1], "page size \(pageSize)")
                #expect(pages == (5 + pageSize - 1) / pageSize, "page size \(pageSize)")
            }
            let all = try await objects.versions(of: "paged", principal: alice, pageSize: 0, pageToken: "")
            #expect(all.versions.map(\.version) == [5, 4, 3, 2, 1])
            #expect(all.versions.map(\.isCurrent) == [true, false, false, false, false])
            #expect(all.versions.map(\.size) == [50, 40, 30, 20, 10])
            #expect(all.nextPageToken.isEmpty)
            await expectStorageError(.invalidArgument, mentioning: ["page_token"]) {
                try await objects.versions(of: "paged", principal: alice, pageSize: 2, pageToken: "not base64!")
            }
            await expectStorageError(.invalidArgument, mentioning: ["page_size"]) {
                try await objects.versions(of: "paged", principal: alice, pageSize: -1, pageToken: "")
            }
            await expectStorageError(.notFound) {
                try await objects.versions(of: "missing", principal: alice, pageSize: 2, pageToken: "")
            }
        }
    }

    @Test func restoreMakesANewVersionSharingTheBytes() async throws {
        try await StorageHarness.with { harness in
            let objects = harness.storage.objects
            let alice = try await harness.principal("CN=alice")
            let first = sampleBytes(2500, seed: 51)
            let second = sampleBytes(1200, seed: 52)
            let v1 = try await harness.storage.upload("r", first, partitionSize: 1000, by: alice)
            try await harness.storage.upload("r", second, partitionSize: 1000, by: alice)
            let filesBefore = harness.blobFiles()
            #expect(filesBefore.count == 5)

            let v3 = try await objects.restore("r", version: 1, of: alice)
            #expect(v3.version == 3)
            #expect(v3.isCurrent)
            #expect(v3.restoredFrom == 1)
            #expect(v3.sha256 == v1.sha256 && v3.size == v1.size)
            #expect(v3.partitions == v1.partitions)
            #expect(harness.blobFiles() == filesBefore)
            #expect(try await harness.storage.read(v3) == first)
            #expect(try await objects.version("r", 0, of: alice).version == 3)
            #expect(try await objects.version("r", 1, of: alice).isCurrent == false)

            await expectStorageError(.notFound, mentioning: ["'r'", "7"]) { try await objects.restore("r", version: 7, of: alice) }
            await expectStorageError(.invalidArgument) { try await objects.restore("r", version: 0, of: alice) }
            await expectStorageError(.notFound) { try await objects.restore("nothing", version: 1, of: alice) }
            // The failed restores changed nothing.
            #expect(try await objects.version("r", 0, of: alice).version == 3)
            let next = try await harness.storage.upload("r", first, partitionSize: 1000, by: alice)
            #expect(next.version == 4)
        }
    }

    @Test func deleteRemovesEveryVersion() async throws {
        try await StorageHarness.with { harness in
            let objects = harness.storage.objects
            let alice = try await harness.principal("CN=alice")
            for seed in 1...2 { try await harness.storage.upload("d", sampleBytes(100, seed: UInt64(seed)), by: alice) }
            _ = try await objects.restore("d", version: 1, of: alice)
            try await harness.storage.upload("keep", sampleBytes(10, seed: 9), by: alice)
            #expect(try await objects.delete("d", of: alice) == 3)
            await expectStorageError(.notFound, mentioning: ["'d'"]) { try await objects.version("d", 0, of: alice) }
            await expectStorageError(.notFound) { try await objects.version("d", 1, of: alice) }
            await expectStorageError(.notFound) { try await objects.versions(of: "d", principal: alice, pageSize: 10, pageToken: "") }
            await expectStorageError(.notFound) { try await objects.delete("d", of: alice) }
            await expectStorageError(.notFound) { try await objects.restore("d", version: 1, of: alice) }
            let listing = try await objects.list(prefix: "", delimiter: "", principal: alice, pageSize: 10, pageToken: "")
            #expect(listing.objects.map(\.name) == ["keep"])
            #expect(try await harness.sql("SELECT count(*)::bigint AS n FROM object_versions").rows[0].int("n") == 1)
            // The name can be used again, carrying on from its last version number (3).
            #expect(try await harness.storage.upload("d", sampleBytes(5, seed: 3), by: alice).version == 4)
        }
    }

    static let names = [
        "a", "a/b", "a/b/c", "a/c", "a/d/e", "a/d/f", "a-1", "a.b", "ab", "a/é", "b", "b/", "b//c", "c/x/y",
        "Z", "z", "\u{E9}", "e\u{301}", "日本/語", "日本/x", "日本語", "😀", "\u{FFFD}", "\u{FF5E}/x", "~", "x y", "%2F",
    ]

    /// An entry of a listing as bytes: "O" or "P" (object or common prefix), then the name's
    /// UTF-8. Bytes, because Swift compares strings by canonical equivalence ("é" == "e\u{301}")
    /// while names are data compared byte for byte.
    typealias Entry = [UInt8]

    static func object(_ name: String) -> Entry { [UInt8(ascii: "O")] + Array(name.utf8) }
    static func commonPrefix(_ name: some Collection<UInt8>) -> Entry { [UInt8(ascii: "P")] + Array(name) }

    static func inByteOrder(_ entries: [Entry]) -> [Entry] {
        entries.sorted { $0.dropFirst().lexicographicallyPrecedes($1.dropFirst()) }
    }

    /// What a listing must contain, computed independently: objects and common prefixes in
    /// byte order.
    static func expected(prefix: String, delimiter: String) -> [Entry] {
        var entries = Set<Entry>()
        let prefixBytes = Array(prefix.utf8)
        let needle = Array(delimiter.utf8)
        for name in names where name.utf8.starts(with: prefixBytes) {
            let bytes = Array(name.utf8)
            var entry = object(name)
            if !needle.isEmpty, bytes.count >= prefixBytes.count + needle.count {
                for start in prefixBytes.count...(bytes.count - needle.count)
                where Array(bytes[start..<(start + needle.count)]) == needle {
                    entry = commonPrefix(bytes[..<(start + needle.count)])
                    break
                }
            }
            entries.insert(entry)
        }
        return inByteOrder(Array(entries))
    }

    /// A page's entries, merged in byte order.
    static func entries(_ page: ObjectListingPage) -> [Entry] {
        inByteOrder(page.objects.map { object($0.name) } + page.commonPrefixes.map { commonPrefix($0.utf8) })
    }

    static func describe(_ entries: [Entry]) -> String {
        entries.map { String(decoding: $0, as: UTF8.self).debugDescription }.joined(separator: " ")
    }

    @Test func listingWalksMatchTheFullListingInByteOrder() async throws {
        try await StorageHarness.with { harness in
            let objects = harness.storage.objects
            let alice = try await harness.principal("CN=alice")
            let bob = try await harness.principal("CN=bob")
            for (index, name) in Self.names.enumerated() {
                try await harness.storage.upload(name, index % 3 == 0 ? sampleBytes(index + 1, seed: UInt64(index)) : [], by: alice)
            }
            try await harness.storage.upload("a/b", [], by: alice)  // a second version lists once
            try await harness.storage.upload("a/zz-bob", [], by: bob)  // someone else's name never shows

            // Byte order, not Unicode collation or UTF-16 order; canonically equivalent names
            // are distinct objects.
            let full = try await objects.list(prefix: "", delimiter: "", principal: alice, pageSize: 1000, pageToken: "")
            let sortedNames = Self.names.map { Array($0.utf8) }.sorted { $0.lexicographicallyPrecedes($1) }
            #expect(full.objects.map { Array($0.name.utf8) } == sortedNames)
            #expect(full.commonPrefixes.isEmpty)
            #expect(full.nextPageToken.isEmpty)
            let ab = full.objects.first(where: { $0.name == "a/b" })
            #expect(ab?.version == 2)
            let allCurrent = full.objects.allSatisfy { $0.isCurrent }
            #expect(allCurrent)
            #expect(sortedNames.firstIndex(of: Array("\u{FFFD}".utf8))! < sortedNames.firstIndex(of: Array("😀".utf8))!)
            #expect(sortedNames.firstIndex(of: Array("Z".utf8))! < sortedNames.firstIndex(of: Array("a".utf8))!)
            let precomposed = try await objects.version("\u{E9}", 0, of: alice)
            let decomposed = try await objects.version("e\u{301}", 0, of: alice)
            #expect(Array(precomposed.name.utf8) == [0xC3, 0xA9])
            #expect(Array(decomposed.name.utf8) == [0x65, 0xCC, 0x81])

            let cases: [(String, String)] = [
                ("", ""), ("", "/"), ("a/", "/"), ("a", "/"), ("a/", ""), ("a/d/", "/"), ("日本", "/"), ("", "本/"),
                ("b/", "/"), ("", "//"), ("", "\u{E9}"), ("zzz", "/"), ("\u{FF5E}", "/"), ("e", "\u{301}"),
            ]
            for (prefix, delimiter) in cases {
                let label = "prefix \(prefix.debugDescription) delimiter \(delimiter.debugDescription)"
                let expected = Self.expected(prefix: prefix, delimiter: delimiter)
                let whole = try await objects.list(prefix: prefix, delimiter: delimiter, principal: alice, pageSize: 1000, pageToken: "")
                #expect(Self.entries(whole) == expected, "\(label): \(Self.describe(Self.entries(whole))) != \(Self.describe(expected))")
                #expect(whole.nextPageToken.isEmpty)
                for pageSize in [1, 2, 3] {
                    var walked: [Entry] = []
                    var token = ""
                    var pages = 0
                    repeat {
                        let page = try await objects.list(
                            prefix: prefix, delimiter: delimiter, principal: alice, pageSize: pageSize, pageToken: token)
                        let entries = Self.entries(page)
                        if !page.nextPageToken.isEmpty {
                            #expect(entries.count == pageSize, "\(label): a page before the last is full")
                        } else {
                            #expect(entries.count <= pageSize)
                        }
                        walked += entries
                        token = page.nextPageToken
                        pages += 1
                    } while !token.isEmpty && pages <= expected.count + 1
                    #expect(walked == expected, "\(label) page size \(pageSize): \(Self.describe(walked))")
                }
            }
        }
    }

    @Test func listingRejectsBadArguments() async throws {
        try await StorageHarness.with { harness in
            let objects = harness.storage.objects
            let alice = try await harness.principal("CN=alice")
            await expectStorageError(.invalidArgument, mentioning: ["page_size", "1000"]) {
                try await objects.list(prefix: "", delimiter: "", principal: alice, pageSize: 1001, pageToken: "")
            }
            await expectStorageError(.invalidArgument, mentioning: ["page_token"]) {
                try await objects.list(prefix: "", delimiter: "", principal: alice, pageSize: 1, pageToken: "***")
            }
            await expectStorageError(.invalidArgument, mentioning: ["page_token"]) {
                try await objects.list(prefix: "", delimiter: "", principal: alice, pageSize: 1,
                                       pageToken: Data("xname".utf8).base64EncodedString())
            }
            await expectStorageError(.invalidArgument, mentioning: ["prefix"]) {
                try await objects.list(prefix: "a\u{0}", delimiter: "", principal: alice, pageSize: 1, pageToken: "")
            }
            await expectStorageError(.invalidArgument, mentioning: ["delimiter"]) {
                try await objects.list(prefix: "", delimiter: String(repeating: "/", count: 17), principal: alice, pageSize: 1, pageToken: "")
            }
            let empty = try await objects.list(prefix: "", delimiter: "/", principal: alice, pageSize: 0, pageToken: "")
            #expect(empty.objects.isEmpty && empty.commonPrefixes.isEmpty && empty.nextPageToken.isEmpty)
        }
    }

    @Test func objectBytesReadsFullAndRangedReadsAcrossPartitions() async throws {
        try await StorageHarness.with { harness in
            let alice = try await harness.principal("CN=alice")
            let bytes = sampleBytes(3 * 1000 + 234, seed: 61)
            let version = try await harness.storage.upload("read", bytes, partitionSize: 1000, by: alice)
            for chunkSize in [1 << 20, 1000, 333, 7] {
                #expect(try await harness.storage.read(version, chunkSize: chunkSize) == bytes, "chunk size \(chunkSize)")
            }
            let ranges: [(Int64, Int64)] = [
                (0, 1), (0, 1000), (999, 2), (1000, 1000), (500, 2000), (1, 3232), (2999, 0), (3000, 0), (3233, 0),
                (3233, 10), (3234, 0), (3234, 5), (0, 0), (10, Int64.max), (1500, 1),
            ]
            for (offset, length) in ranges {
                let range = try ReadRange.resolve(offset: offset, length: length, size: version.size)
                let read = try await harness.storage.read(version, range: range, chunkSize: 400)
                #expect(read == Array(bytes[Int(range.lowerBound)..<Int(range.upperBound)]), "offset \(offset) length \(length)")
            }
            // A version read from its own record, as a service would after version(name, n).
            let fetched = try await harness.storage.objects.version("read", 1, of: alice)
            #expect(try await harness.storage.read(fetched, range: 999..<2001) == Array(bytes[999..<2001]))
        }
    }

    @Test func readRangeResolvesEdgeCases() throws {
        #expect(try ReadRange.resolve(offset: 0, length: 0, size: 0) == 0..<0)
        #expect(try ReadRange.resolve(offset: 0, length: 5, size: 0) == 0..<0)
        #expect(try ReadRange.resolve(offset: 0, length: 0, size: 10) == 0..<10)
        #expect(try ReadRange.resolve(offset: 3, length: 0, size: 10) == 3..<10)
        #expect(try ReadRange.resolve(offset: 3, length: 4, size: 10) == 3..<7)
        #expect(try ReadRange.resolve(offset: 3, length: 7, size: 10) == 3..<10)
        #expect(try ReadRange.resolve(offset: 8, length: 100, size: 10) == 8..<10)
        #expect(try ReadRange.resolve(offset: 10, length: 0, size: 10) == 10..<10)
        #expect(try ReadRange.resolve(offset: 10, length: 5, size: 10) == 10..<10)
        #expect(try ReadRange.resolve(offset: 5, length: Int64.max, size: 10) == 5..<10)
        #expect(try ReadRange.resolve(offset: 1, length: Int64.max, size: Int64.max) == 1..<Int64.max)
        #expect(try ReadRange.resolve(offset: Int64.max, length: Int64.max, size: Int64.max) == Int64.max..<Int64.max)
        #expect(throws: StorageError.self) { try ReadRange.resolve(offset: 11, length: 0, size: 10) }
        #expect(throws: StorageError.self) { try ReadRange.resolve(offset: -1, length: 0, size: 10) }
        #expect(throws: StorageError.self) { try ReadRange.resolve(offset: 0, length: -1, size: 10) }
        do {
            _ = try ReadRange.resolve(offset: 11, length: 0, size: 10)
        } catch {
            #expect(error.kind == .invalidArgument)
            #expect(error.message.contains("11") && error.message.contains("10"))
        }
        do {
            _ = try ReadRange.resolve(offset: -4, length: -6, size: 10)
        } catch {
            #expect(error.kind == .invalidArgument)
            #expect(error.message.contains("-4") && error.message.contains("-6"))
        }
        // A partition's read names the partition, not "the object" (whose size is another).
        do {
            _ = try ReadRange.resolve(offset: 65, length: 0, size: 64, of: "partition 3")
        } catch {
            #expect(error.message == "offset 65 is past the end of the 64-byte partition 3")
        }
    }
}
