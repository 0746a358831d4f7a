import Foundation
import SluiceOpenSSL
import Synchronization
import Testing

@testable import SluiceClient

/// The first pass of an upload: every partition's SHA-256 and the whole file's, in one read.
@Suite struct FileHashingTests {
    static func bytes(_ count: Int) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 8) }
    }

    @Test(arguments: [0, 1, 4096, 4097, 3 * (1 << 20) + 5])
    func digestsMatchHashingEachPiece(size: Int) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let content = Self.bytes(size)
        let file = try LocalFile.openForReading(try directory.write(content, to: "f"))
        let plan = try PartitionPlan.upload(totalSize: Int64(size), partitionSize: 4096)
        let reported = Mutex<Int64>(0)
        let digests = try await FileHashing.digests(of: file, plan: plan) { bytes in reported.withLock { $0 = bytes } }
        #expect(digests.object == SHA256.hash(content))
        #expect(digests.partitions.count == plan.count)
        for index in 0..<plan.count {
            let range = Int(plan.offset(of: index))..<Int(plan.offset(of: index) + plan.size(of: index))
            #expect(digests.partitions[index] == SHA256.hash(Array(content[range])))
        }
        #expect(reported.withLock { $0 } == Int64(size))
        // An upload hashes each byte once: the same partition hashes, and the whole file's only
        // where it is the one partition's (or the empty file's).
        let once = try await FileHashing.partitionDigests(of: file, plan: plan) { _ in }
        #expect(once.partitions == digests.partitions)
        #expect(once.object == (plan.count <= 1 ? digests.object : []))
    }

    @Test func aFileShorterThanPlannedIsAnError() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let file = try LocalFile.openForReading(try directory.write(Self.bytes(100), to: "f"))
        let plan = try PartitionPlan.upload(totalSize: 200, partitionSize: 64)
        let error = await #expect(throws: FileChangedError.self) {
            _ = try await FileHashing.digests(of: file, plan: plan) { _ in }
        }
        #expect(error?.endsAt == 100)
        #expect(error.map { FailureKind($0) } == .integrity)
    }

    @Test func rangeDigest() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let content = Self.bytes(10_000)
        let file = try LocalFile.openForReading(try directory.write(content, to: "f"))
        let flag = BlockingWork.CancellationFlag()
        #expect(try FileHashing.digest(of: file, offset: 100, length: 5000, flag: flag)
            == SHA256.hash(Array(content[100..<5100])))
        #expect(try FileHashing.digest(of: file, offset: 9000, length: 5000, flag: flag) == nil)
    }

    @Test func cancellationStopsHashing() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let file = try LocalFile.openForReading(try directory.write(Self.bytes(4 << 20), to: "f"))
        let plan = try PartitionPlan.upload(totalSize: 4 << 20, partitionSize: 1 << 20)
        // The hasher reports its first progress, then waits until the test has cancelled it,
        // so the cancellation always lands mid-way, however loaded the machine is.
        let started = BlockingWork.CancellationFlag()
        let cancelled = BlockingWork.CancellationFlag()
        let task = Task {
            try await FileHashing.digests(of: file, plan: plan) { _ in
                started.cancel()
                for _ in 0..<500 where !cancelled.isCancelled { usleep(10_000) }
            }
        }
        for _ in 0..<500 where !started.isCancelled {
            try await Task.sleep(for: .milliseconds(10))
        }
        task.cancel()
        cancelled.cancel()
        await #expect(throws: CancellationError.self) { _ = try await task.value }
    }
}
