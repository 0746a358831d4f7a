import Foundation
import Testing
@testable import SluiceStore

/// Every rejected write leaves nothing behind: no blob, no staging file.
@Suite struct DiskBlobWriterFailureTests {
    @Test func checksumMismatchStoresNothing() async throws {
        try await withTemporaryStore { blobs, root in
            let bytes = testBytes(5000)
            let declared = try key(for: testBytes(5000, seed: 99))
            let writer = try await blobs.makeWriter(for: declared, size: 5000)
            try await writer.write(bytes)
            await #expect(throws: BlobError.checksumMismatch(expected: declared.sha256, actual: try key(for: bytes).sha256)) {
                try await writer.finish()
            }
            #expect(files(under: root) == ["layout"], "a blob or staging file was left")
            #expect(try await !blobs.contains(declared))
        }
    }

    /// A staging directory removed under the running store (a temporary-file cleaner, an
    /// operator) is made again by the next write, which then succeeds.
    @Test func aRemovedStagingDirectoryIsMadeAgain() async throws {
        try await withTemporaryStore { blobs, root in
            for seed: UInt64 in [1, 2] {  // a blob in pieces, and one whole
                try FileManager.default.removeItem(at: root.appendingPathComponent("staging"))
                let bytes = testBytes(5000, seed: seed)
                let writer = try await blobs.makeWriter(for: try key(for: bytes), size: 5000)
                if seed == 1 {
                    try await writer.write(bytes[0..<2000])
                    try await writer.write(bytes[2000...])
                } else {
                    try await writer.write(bytes)
                }
                try await writer.finish()
                #expect(try await blobs.contains(try key(for: bytes)))
            }
        }
    }

    /// The blob directory removed under the running store, after it made (and remembered) the
    /// fan-out directories of a blob: storing into them again makes the chain again and succeeds.
    @Test func aRemovedBlobDirectoryIsMadeAgain() async throws {
        try await withTemporaryStore { blobs, root in
            let first = testBytes(5000, seed: 1)
            for bytes in [first, first, testBytes(5000, seed: 2)] {
                let writer = try await blobs.makeWriter(for: try key(for: bytes), size: 5000)
                try await writer.write(bytes)
                try await writer.finish()
                #expect(try await blobs.contains(try key(for: bytes)))
                try FileManager.default.removeItem(at: root.appendingPathComponent("blobs"))
            }
        }
    }

    @Test func tooShortIsRejectedAtFinish() async throws {
        try await withTemporaryStore { blobs, root in
            let bytes = testBytes(100)
            let writer = try await blobs.makeWriter(for: try key(for: bytes), size: 100)
            try await writer.write(bytes[0..<99])
            await #expect(throws: BlobError.sizeMismatch(expected: 100, received: 99)) { try await writer.finish() }
            #expect(files(under: root) == ["layout"], "a blob or staging file was left")
        }
    }

    @Test func tooLongIsRejectedAtTheWriteThatOverflows() async throws {
        try await withTemporaryStore { blobs, root in
            let bytes = testBytes(100)
            let writer = try await blobs.makeWriter(for: try key(for: bytes), size: 100)
            try await writer.write(bytes[0..<60])
            #expect(!files(under: root.appendingPathComponent("staging")).isEmpty)
            await #expect(throws: BlobError.sizeMismatch(expected: 100, received: 120)) { try await writer.write(bytes[0..<60]) }
            #expect(files(under: root) == ["layout"], "a blob or staging file was left")
        }
    }

    @Test func failedWriterStaysClosed() async throws {
        try await withTemporaryStore { blobs, root in
            let bytes = testBytes(10)
            let key = try key(for: bytes)
            let writer = try await blobs.makeWriter(for: key, size: 10)
            await #expect(throws: BlobError.sizeMismatch(expected: 10, received: 11)) { try await writer.write(testBytes(11)) }
            await #expect(throws: BlobError.writerClosed(key)) { try await writer.write(bytes) }
            await #expect(throws: BlobError.writerClosed(key)) { try await writer.finish() }
            await writer.abort()
            #expect(files(under: root) == ["layout"], "a blob or staging file was left")
        }
    }

    @Test func finishedWriterStaysClosed() async throws {
        try await withTemporaryStore { blobs, _ in
            let bytes = testBytes(10)
            let key = try key(for: bytes)
            let writer = try await blobs.makeWriter(for: key, size: 10)
            try await writer.write(bytes)
            try await writer.finish()
            await #expect(throws: BlobError.writerClosed(key)) { try await writer.finish() }
            await writer.abort()
            #expect(try await blobs.contains(key))
        }
    }

    @Test func abortIsIdempotentAndRemovesStaging() async throws {
        try await withTemporaryStore { blobs, root in
            let bytes = testBytes(10)
            let writer = try await blobs.makeWriter(for: try key(for: bytes), size: 10)
            try await writer.write(bytes[0..<5])
            await writer.abort()
            await writer.abort()
            #expect(files(under: root) == ["layout"], "a blob or staging file was left")
        }
    }

    @Test func abortRunsInACancelledTask() async throws {
        try await withTemporaryStore { blobs, root in
            let bytes = testBytes(10)
            let writer = try await blobs.makeWriter(for: try key(for: bytes), size: 10)
            try await writer.write(bytes[0..<5])
            let task = Task {
                while !Task.isCancelled { await Task.yield() }
                await writer.abort()
            }
            task.cancel()
            await task.value
            #expect(files(under: root) == ["layout"], "a blob or staging file was left")
        }
    }

    @Test func droppedWriterCleansUpEventually() async throws {
        try await withTemporaryStore { blobs, root in
            let bytes = testBytes(10)
            var writer: (any BlobWriter)? = try await blobs.makeWriter(for: try key(for: bytes), size: 10)
            try await writer?.write(bytes[0..<5])
            writer = nil
            let staging = root.appendingPathComponent("staging")
            for _ in 0..<200 where !files(under: staging).isEmpty {
                try await Task.sleep(for: .milliseconds(10))
            }
            #expect(files(under: staging).isEmpty)
        }
    }

    @Test func rejectsNegativeSize() async throws {
        try await withTemporaryStore { blobs, _ in
            await #expect(throws: BlobError.invalidSize(-1)) {
                try await blobs.makeWriter(for: try key(for: []), size: -1)
            }
        }
    }

    @Test func messagesNameTheNumbers() throws {
        #expect(BlobError.sizeMismatch(expected: 100, received: 120).description.contains("100 bytes were declared but at least 120"))
        #expect(BlobError.sizeMismatch(expected: 100, received: 99).description.contains("send the missing 1 bytes"))
        #expect(BlobError.invalidScope("A").description.contains("a-z, 0-9 and -"))
        #expect(BlobError.io(operation: "open", path: "/x", errno: 2).description == "open /x failed: No such file or directory (errno 2)")
        let mismatch = BlobError.checksumMismatch(expected: [UInt8](repeating: 0, count: 32), actual: [UInt8](repeating: 255, count: 32))
        #expect(mismatch.description.contains(String(repeating: "ff", count: 32)))
    }
}
