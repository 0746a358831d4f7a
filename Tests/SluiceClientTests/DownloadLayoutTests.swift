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
            partition.sha256 = Data(SHA256.hash([UInt8(index)]))
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

    @Test func destinationInADirectoryTakesTheObjectsLastName() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        #expect(Downloader.destination(of: "a/b/c.txt", at: directory.path) == directory.file("c.txt"))
        #expect(Downloader.destination(of: "c.txt", at: "/nonexistent/dir/") == "/nonexistent/dir/c.txt")
        #expect(Downloader.destination(of: "a/c.txt", at: directory.file("x.txt")) == directory.file("x.txt"))
        #expect(Uploader.objectName(for: "/tmp/x/file.bin", remote: "backups/") == "backups/file.bin")
        #expect(Uploader.objectName(for: "/tmp/x/file.bin", remote: "name") == "name")
    }
}
