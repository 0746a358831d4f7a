import SluiceDirectIO
import Synchronization

/// Writes the bytes of one partition, or of a run of consecutive ones read with one call, as
/// they arrive, into the download's file at their place: past the page cache in whole pages
/// when they start on a page boundary and are large enough (``DirectIO``; the file is fsync'ed
/// before it is renamed onto the target, so caching the pages buys nothing), gathered into
/// one device write per pool buffer however small the pieces they arrive in
/// (``GatheredDirectWrites``), the last partial page through the cache at ``finish()``.
///
/// An attempt that starts again (offset 0) starts the run again; pages the failed attempt
/// wrote are written over.
final class PartitionWriter: Sendable {
    private let file: LocalFile
    private let start: Int64
    /// The run of direct writes; nil when the partition is written through the cache.
    private let run: Mutex<GatheredDirectWrites?>

    init(file: LocalFile, start: Int64, size: Int64) {
        self.file = file
        self.start = start
        let direct = file.writesDirectly && size >= DirectIO.threshold && DirectIO.isAligned(start)
        self.run = Mutex(direct ? GatheredDirectWrites(startingAt: start) : nil)
    }

    /// Writes `bytes` at `offset` from the writer's start; offsets run on from the previous
    /// call's end, or start again at 0.
    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws {
        try run.withLock { run in
            guard run != nil else { return try file.write(bytes, at: start + offset) }
            if offset == 0 { run = GatheredDirectWrites(startingAt: start) }
            try run!.append(bytes) { pages, at in try file.writePages(pages, at: at) }
        }
    }

    /// Writes what the run gathered; the file then holds every byte written.
    func finish() throws {
        try run.withLock { run in
            guard let direct = run else { return }
            let tail = try direct.finish { pages, at in try file.writePages(pages, at: at) }
            guard !tail.bytes.isEmpty else { return }
            try tail.bytes.withUnsafeBytes { try file.write($0, at: tail.offset) }
        }
    }
}
