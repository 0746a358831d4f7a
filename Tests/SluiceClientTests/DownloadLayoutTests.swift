import Foundation
import SluiceOpenSSL
import SluiceProto
import Testing

@testable import SluiceClient

/// Checking GetObject's description before trusting it, and the partial download's sidecar.
@Suite struct DownloadLayoutTests {
    /// An object of `size` bytes in partitions of `partitionSize`, described as a server would.
    static func object(size: Int64, partitionSize: Int64) -> Sluice_V1_ObjectInfo {
        let plan = PartitionPlan(totalSize: size, partitionSize: partitionSize)
        var object = Sluice_V1_ObjectInfo()
        object.name = "o"
        object.version = 3
        object.size = size
        object.partitionSize = partitionSize
        object.partitionCount = Int32(plan.count)
        object.sha256 = Data(SHA256.hash([1]))
        object.partitions = (0..<plan.count).map { index in
            var partition = Sluice_V1_PartitionInfo()
            partition.index = Int32(index)
            partition.offset = plan.offset(of: index)
            partition.size = plan.size(of: index)
            partition.sha256 = Data(SHA256.hash([UInt8(truncatingIfNeeded: index), UInt8(truncatingIfNeeded: index >> 8)]))
            return partition
        }
        return object
    }

    @Test func acceptsAWholeDescription() throws {
        let layout = try ObjectLayout(Self.object(size: 10, partitionSize: 4))
        #expect(layout.plan.count == 3)
        let sidecar = layout.sidecar()
        #expect(sidecar.partitionSHA256.count == 3)
        #expect(sidecar.verified.isEmpty)
    }

    /// A version without a whole hash is pending, not computed, or in a state a later server
    /// added; one that claims to have it (or comes from a server without states) needs it.
    @Test func anEmptyWholeHashNeedsAStateThatAllowsIt() throws {
        for state in [Sluice_V1_Sha256State.pending, .notComputed, .UNRECOGNIZED(9)] {
            var object = Self.object(size: 10, partitionSize: 4)
            object.sha256 = Data()
            object.sha256State = state
            #expect(try ObjectLayout(object).plan.count == 3)
        }
        for state in [Sluice_V1_Sha256State.unspecified, .verified, .undeclared, .mismatch] {
            var object = Self.object(size: 10, partitionSize: 4)
            object.sha256 = Data()
            object.sha256State = state
            #expect(throws: IntegrityError.self) { try ObjectLayout(object) }
        }
    }

    @Test func acceptsAnEmptyObject() throws {
        #expect(try ObjectLayout(Self.object(size: 0, partitionSize: 8 << 20)).plan.count == 0)
    }

    /// A size near Int64.max is refused as inconsistent, not a trap (found by fuzzing).
    @Test func refusesAHugeSizeWithoutTrapping() {
        var huge = Self.object(size: 10, partitionSize: 4)
        huge.size = .max
        #expect(throws: IntegrityError.self) { try ObjectLayout(huge) }
    }

    @Test func refusesMissingOrMisplacedPartitions() {
        var missing = Self.object(size: 10, partitionSize: 4)
        missing.partitions.removeLast()
        #expect(throws: IntegrityError.self) { try ObjectLayout(missing) }

        var moved = Self.object(size: 10, partitionSize: 4)
        moved.partitions[1].offset = 5
        #expect(throws: IntegrityError.self) { try ObjectLayout(moved) }

        var shortHash = Self.object(size: 10, partitionSize: 4)
        shortHash.partitions[2].sha256 = Data([1, 2, 3])
        #expect(throws: IntegrityError.self) { try ObjectLayout(shortHash) }

        var noPartitionSize = Self.object(size: 10, partitionSize: 4)
        noPartitionSize.partitionSize = 0
        #expect(throws: IntegrityError.self) { try ObjectLayout(noPartitionSize) }
    }

    @Test func sidecarRoundTripAndIdentity() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        var sidecar = try ObjectLayout(Self.object(size: 10, partitionSize: 4)).sidecar()
        sidecar.verified = [0, 2]
        let path = directory.file(".o.sluice-part.json")
        try sidecar.save(to: path)
        let loaded = try #require(DownloadSidecar.load(from: path))
        #expect(loaded == sidecar)

        var restored = sidecar
        restored.version = 4
        restored.verified = []
        #expect(loaded.describesSameBytes(as: restored))
        var changed = restored
        changed.objectSHA256 = "00"
        #expect(!loaded.describesSameBytes(as: changed))
    }

    /// The sidecar's bookkeeping grows linearly: 2,048 partitions recorded one by one write
    /// the description once plus a short line each (re-encoding the whole sidecar per
    /// partition wrote ~2,048 × 140 KB here), and the file reads back with all of them.
    @Test func sidecarRecordingIsLinearInPartitions() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let count = 2048
        let sidecar = try ObjectLayout(Self.object(size: Int64(count) * 16, partitionSize: 16)).sidecar()
        let path = directory.file(".o.sluice-part.json")
        let recorder = SidecarRecorder(sidecar, path: path)
        try await recorder.save()
        let header = await recorder.bytesWritten
        for index in (0..<count).reversed() { try await recorder.record(index) }
        let written = await recorder.bytesWritten
        #expect(header > count * 64, "the description lists every partition hash")
        #expect(written - header <= count * 6, "one short line per partition, not a rewrite")
        let loaded = try #require(DownloadSidecar.load(from: path))
        #expect(loaded.verified == Array(0..<count))
        #expect(loaded.describesSameBytes(as: sidecar))
    }

    /// A composite that the partition hashes do not make is refused before any byte is fetched.
    @Test func refusesAPartitionListTheCompositeDoesNotVouchFor() throws {
        var object = Self.object(size: 10, partitionSize: 4)
        var composite = SHA256()
        for partition in object.partitions { composite.update([UInt8](partition.sha256)) }
        object.compositeSha256 = Data(composite.finalize())
        #expect(try ObjectLayout(object).partitionsVouchForWhole)
        var tampered = object
        tampered.partitions[1].sha256 = Data(SHA256.hash([9]))
        #expect(throws: IntegrityError.self) { try ObjectLayout(tampered) }
        var mismatch = object
        mismatch.sha256State = .mismatch
        #expect(throws: IntegrityError.self) { try ObjectLayout(mismatch) }
        var pending = object
        pending.sha256 = Data()
        pending.sha256State = .pending
        #expect(try ObjectLayout(pending).partitionsVouchForWhole)
    }

    @Test func destinationInADirectoryTakesTheObjectsLastName() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        #expect(try Downloader.destination(of: "a/b/c.txt", at: directory.path) == directory.file("c.txt"))
        #expect(try Downloader.destination(of: "c.txt", at: "/nonexistent/dir/") == "/nonexistent/dir/c.txt")
        #expect(try Downloader.destination(of: "a/c.txt", at: directory.file("x.txt")) == directory.file("x.txt"))
        #expect(Uploader.objectName(for: "/tmp/x/file.bin", remote: "backups/") == "backups/file.bin")
        #expect(Uploader.objectName(for: "/tmp/x/file.bin", remote: "name") == "name")
    }

    @Test func aLastNameThatCannotNameAFileInTheDirectoryIsRefused() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        // "..", "." would put the file (or its temporary files) outside the directory.
        for name in ["a/..", "a/.", "..", "a/b/../"] {
            #expect(throws: UsageError.self) { try Downloader.destination(of: name, at: directory.path) }
        }
        let long = "a/" + String(repeating: "é", count: 128)
        #expect(throws: UsageError.self) { try Downloader.destination(of: long, at: directory.path) }
        // A file named explicitly is the user's choice.
        #expect(try Downloader.destination(of: "a/..", at: directory.file("x")) == directory.file("x"))
    }
}
