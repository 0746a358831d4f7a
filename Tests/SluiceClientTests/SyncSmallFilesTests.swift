import Foundation
import SluiceOpenSSL
import SluiceProto
import Testing

@testable import SluiceClient

/// Which sync actions move a file in one call, and how a one-call download is verified.
@Suite struct SyncSmallFilesTests {
    static let mebibyte: Int64 = 1 << 20

    static func remote(size: Int64, partitionSize: Int64 = 8 << 20) -> RemoteFile {
        RemoteFile(version: 1, size: size, sha256: "", partitionSize: partitionSize)
    }

    @Test func filesUpToFourMebibytesInOnePartitionGoInOneCall() throws {
        #expect(SyncExecutor.uploadsInOneCall(size: 0, expected: nil))
        #expect(SyncExecutor.uploadsInOneCall(size: 4 * Self.mebibyte, expected: nil))
        #expect(!SyncExecutor.uploadsInOneCall(size: 4 * Self.mebibyte + 1, expected: nil))
        // Cut in 1 MiB partitions remotely: a 3 MiB file goes through a session, which sends
        // only the partitions that changed.
        let cut = Self.remote(size: 3 * Self.mebibyte, partitionSize: Self.mebibyte)
        #expect(!SyncExecutor.uploadsInOneCall(size: 3 * Self.mebibyte, expected: cut))
        #expect(SyncExecutor.uploadsInOneCall(size: Self.mebibyte, expected: cut))
        // A small object is stored as one partition of its own size: a file that grew is not
        // cut into partitions that small.
        let put = Self.remote(size: 6, partitionSize: 6)
        #expect(SyncExecutor.uploadsInOneCall(size: 11, expected: put))
        #expect(try SyncExecutor.partitionSize(matching: put, size: 20 << 20) == 8 << 20)
        #expect(SyncExecutor.downloadsInOneCall(Self.remote(size: 4 * Self.mebibyte)))
        #expect(!SyncExecutor.downloadsInOneCall(Self.remote(size: 4 * Self.mebibyte + 1)))
    }

    @Test func smallActionsAreThoseOfAFewCalls() {
        let stat = LocalStat(size: 10, modificationTime: 1, inode: 1)
        let local = LocalFileState(stat: stat, sha256: "a")
        let big = LocalFileState(stat: LocalStat(size: 5 * Self.mebibyte, modificationTime: 1, inode: 2), sha256: "b")
        #expect(SyncExecutor.isSmall(.upload("f", local: local, expected: nil)))
        #expect(!SyncExecutor.isSmall(.upload("f", local: big, expected: nil)))
        #expect(SyncExecutor.isSmall(.download("f", remote: Self.remote(size: 10), replacing: nil)))
        #expect(!SyncExecutor.isSmall(.download("f", remote: Self.remote(size: 5 * Self.mebibyte), replacing: nil)))
        #expect(SyncExecutor.isSmall(.deleteLocal("f", expected: stat)))
        #expect(!SyncExecutor.isSmall(.conflict("f", local: local, remote: Self.remote(size: 10))))
    }

    /// An object of two partitions as a server describes it.
    static func described(_ data: [UInt8], partitionSize: Int, wholeKnown: Bool = true) -> Sluice_V1_ObjectInfo {
        var object = Sluice_V1_ObjectInfo()
        object.name = "p/f"
        object.version = 3
        object.size = Int64(data.count)
        object.partitionSize = Int64(partitionSize)
        var digests: [[UInt8]] = []
        for (index, start) in stride(from: 0, to: data.count, by: partitionSize).enumerated() {
            let bytes = Array(data[start..<min(start + partitionSize, data.count)])
            digests.append(SHA256.hash(bytes))
            object.partitions.append(.with {
                $0.index = Int32(index)
                $0.offset = Int64(start)
                $0.size = Int64(bytes.count)
                $0.sha256 = Data(digests.last!)
            })
        }
        object.partitionCount = Int32(digests.count)
        object.compositeSha256 = Data(CompositeDigest.of(digests))
        if wholeKnown {
            object.sha256 = Data(SHA256.hash(data))
            object.sha256State = .verified
        } else {
            object.sha256State = .pending
        }
        return object
    }

    @Test func aOneCallDownloadIsCheckedPartitionByPartitionAndWhole() throws {
        let data = (0..<1000).map { UInt8($0 % 251) }
        let object = Self.described(data, partitionSize: 600)
        #expect(try SyncExecutor.verified(Data(data), as: object) == SHA256.hash(data))
        // Still pending on the server: the partitions (vouched for by the composite) decide.
        let pending = Self.described(data, partitionSize: 600, wholeKnown: false)
        #expect(try SyncExecutor.verified(Data(data), as: pending) == SHA256.hash(data))

        var damaged = data
        damaged[700] ^= 1
        #expect(throws: IntegrityError.self) { try SyncExecutor.verified(Data(damaged), as: object) }
        #expect(throws: IntegrityError.self) { try SyncExecutor.verified(Data(data.dropLast()), as: object) }
        var lying = object
        lying.sha256 = Data(SHA256.hash(damaged))
        #expect(throws: IntegrityError.self) { try SyncExecutor.verified(Data(data), as: lying) }
        var mismatch = object
        mismatch.sha256State = .mismatch
        #expect(throws: IntegrityError.self) { try SyncExecutor.verified(Data(data), as: mismatch) }
    }
}
