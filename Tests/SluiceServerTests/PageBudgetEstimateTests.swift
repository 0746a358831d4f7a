import Foundation
import SluiceProto
@testable import SluiceServer
@testable import SluiceStore
import SwiftProtobuf
import Testing

/// The store bounds a listing page by its own estimate of each item's encoded size
/// (``PageBudget``, which knows nothing of the messages); these check that the estimate is an
/// upper bound of the real encoding, for the largest items the limits allow and for small ones,
/// so a page's real size stays under ``PageBudget/maxBytes``.
struct PageBudgetEstimateTests {
    /// The most user metadata a declaration may carry: 64 entries, 128-byte keys, 1 KiB values,
    /// in multi-byte characters where it matters.
    static let metadata = Dictionary(uniqueKeysWithValues: (0..<64).map { index in
        (String(format: "%03d", index) + String(repeating: "k", count: 125),
         String(repeating: "é", count: 512))
    })

    static func version(name: String, metadata: [String: String], handles: String) -> ObjectVersionRecord {
        ObjectVersionRecord(
            name: name, version: .max, size: .max, sha256: Array(repeating: 0xFF, count: 32), sha256State: .mismatch,
            compositeSHA256: Array(repeating: 0xFF, count: 32), contentType: String(repeating: "t", count: 256),
            userMetadata: metadata, createdAt: Date(timeIntervalSince1970: 4_000_000_000.999),
            committedAt: Date(timeIntervalSince1970: 4_000_000_000.999), partitionSize: .max, partitionCount: .max,
            isCurrent: true, restoredFrom: .max, partitions: [], owner: handles, writtenBy: handles)
    }

    /// The size a repeated message field adds per item: the item, its tag and its length.
    static func asListed(_ message: some SwiftProtobuf.Message) throws -> Int {
        let bytes = try message.serializedBytes() as [UInt8]
        var length = bytes.count
        var prefix = 1
        while length >= 0x80 { length >>= 7; prefix += 1 }
        return 1 + prefix + bytes.count
    }

    @Test func anObjectsEstimateIsAtLeastItsEncoding() throws {
        let largest = Self.version(
            name: String(repeating: "n", count: 1024), metadata: Self.metadata, handles: String(repeating: "h", count: 200))
        let smallest = Self.version(name: "a", metadata: [:], handles: "")
        for record in [largest, smallest] {
            let encoded = try Self.asListed(Sluice_V1_ObjectInfo(record))
            #expect(PageBudget.encodedSize(of: record) >= encoded, "\(record.name.prefix(8)): \(encoded) bytes")
        }
        #expect(PageBudget.encodedSize(of: largest) < PageBudget.maxBytes / 8, "a page holds several of the largest")
    }

    @Test func aSessionsEstimateIsAtLeastItsEncodingWithStoredPartitions() throws {
        let session = SessionRecord(
            id: SessionID.random(), objectName: String(repeating: "n", count: 1024), totalSize: 10_000 * 64 << 20,
            partitionSize: 64 << 20, partitionSHA256: [], objectSHA256: Array(repeating: 1, count: 32),
            contentType: String(repeating: "t", count: 256), userMetadata: Self.metadata, state: .expired,
            createdAt: Date(timeIntervalSince1970: 4_000_000_000.999),
            expiresAt: Date(timeIntervalSince1970: 4_000_000_000.999), committedVersion: .max,
            committedObjectID: .max, storedPartitions: Array(0..<10_000), storedBytes: .max,
            ownerHandle: String(repeating: "h", count: 200))
        let encoded = try Self.asListed(Sluice_V1_UploadSession(session))
        #expect(PageBudget.encodedSize(of: session) >= encoded, "\(encoded) bytes")
        var withHashes = session
        withHashes.partitionSHA256 = Array(repeating: Array(repeating: 7, count: 32), count: 10_000)
        let encodedWithHashes = try Self.asListed(Sluice_V1_UploadSession(withHashes))
        #expect(PageBudget.encodedSize(of: withHashes) >= encodedWithHashes, "\(encodedWithHashes) bytes")
    }

    @Test func aPrincipalsEstimateIsAtLeastItsEncodingWithEveryLimitSet() throws {
        let view = PrincipalRecordView(
            principal: Principal(id: 1, name: String(repeating: "i", count: 20_000), handle: String(repeating: "h", count: 64)),
            createdAt: Date(timeIntervalSince1970: 4_000_000_000.999),
            settings: PrincipalSettings(
                overrides: Dictionary(uniqueKeysWithValues: LimitKind.allCases.map { ($0, Int64.max) }), disabled: true))
        var record = Sluice_V1_PrincipalRecord()
        record.handle = view.principal.handle
        record.identity = view.principal.name
        record.createTime = Google_Protobuf_Timestamp(date: view.createdAt)
        record.disabled = true
        record.admin = true
        record.overrides = LimitKind.allCases.map { _ in
            .with { $0.limit = .bytesOutPerSecond; $0.value = .max }
        }
        record.quotas = .with { $0.bytes = .max; $0.objects = .max; $0.sessions = .max }
        record.rateLimits = .with {
            $0.requestsPerSecond = .max; $0.bytesInPerSecond = .max; $0.bytesOutPerSecond = .max
        }
        let encoded = try Self.asListed(record)
        #expect(PageBudget.encodedSize(of: view) >= encoded, "\(encoded) bytes")
    }

    @Test func aPageHoldsAtLeastOneItemAndStopsAtItsCountOrBudget() {
        var byCount = ListingPage<Int>(size: 2)
        let twoFit = byCount.add(1, bytes: 10) && byCount.add(2, bytes: 10)
        let thirdFits = byCount.add(3, bytes: 10)
        #expect(twoFit && !thirdFits && byCount.hasMore && byCount.items == [1, 2])

        var byBytes = ListingPage<Int>(size: 1000)
        let halvesFit = byBytes.add(1, bytes: PageBudget.maxBytes / 2) && byBytes.add(2, bytes: PageBudget.maxBytes / 2)
        let oneMoreByteFits = byBytes.add(3, bytes: 1)
        #expect(halvesFit && !oneMoreByteFits && byBytes.hasMore && byBytes.items == [1, 2])

        var oversized = ListingPage<Int>(size: 1000)
        let firstFits = oversized.add(1, bytes: PageBudget.maxBytes * 2)
        let secondFits = oversized.add(2, bytes: 1)
        #expect(firstFits, "the first item always fits")
        #expect(!secondFits && oversized.hasMore)

        var complete = ListingPage<Int>(size: 3)
        let added = complete.add(1, bytes: 1)
        #expect(added && !complete.hasMore)
    }
}
