import Foundation
import Synchronization

/// The state of a running sync, shared by the actions running at once; written to its file
/// at most every `saveInterval` while actions complete, and on `flush`. A sync killed
/// between saves loses only the record of its last actions: the next pass finds both sides
/// holding the same content and records them again, moving nothing. Saves are written one
/// at a time, in order, and each first makes the renames of downloads it records durable
/// (an fsync per directory they went to, not per file), so that after a crash the state never
/// remembers a file as synced that the disk lost (which the next pass would take for a local
/// deletion).
final class SyncStateBox: Sendable {
    private struct Inner {
        var state: SyncState
        var dirty = false
        var lastSave = ContinuousClock.now
        /// Directories that downloads were renamed into since the last save (by bytes, as paths are).
        var renamedIn: Set<PathKey> = []
    }

    private let inner: Mutex<Inner>
    /// Held while a save is written, so that an older state never replaces a newer one.
    private let saving = Mutex(())
    private let file: SyncStateFile
    private static let saveInterval: Duration = .seconds(1)

    init(_ state: SyncState, file: SyncStateFile) {
        inner = Mutex(Inner(state: state))
        self.file = file
    }

    var state: SyncState { inner.withLock { $0.state } }

    func update(_ change: (inout SyncState) -> Void) throws {
        let due = inner.withLock { inner -> Bool in
            change(&inner.state)
            inner.dirty = true
            // One caller per interval saves (the clock restarts now, not when it is written).
            guard ContinuousClock.now - inner.lastSave >= Self.saveInterval else { return false }
            inner.lastSave = ContinuousClock.now
            return true
        }
        if due { try save() }
    }

    /// Makes the change and writes it before returning, for what must be on disk before a
    /// call is made. Changes made meanwhile by others go into the same write.
    func persist(_ change: (inout SyncState) -> Void) throws {
        inner.withLock { inner in
            change(&inner.state)
            inner.dirty = true
        }
        try save()
    }

    /// Records a path a download brought to the local side (see ``DeletionHold``).
    func setDownloaded(_ path: String, _ synced: SyncedFile) throws {
        try update { state in
            state.files[PathKey(path)] = synced
            state.deletionHold?.downloaded.insert(PathKey(path))
        }
    }

    /// Notes that an upload brought the path to the remote side (see ``DeletionHold``).
    func noteUploaded(_ path: String) throws {
        guard state.deletionHold != nil else { return }
        try update { $0.deletionHold?.uploaded.insert(PathKey(path)) }
    }

    /// Records the path as synced; a request id kept for it is spent.
    func set(_ path: String, _ synced: SyncedFile) throws {
        try update { state in
            state.files[PathKey(path)] = synced
            state.pendingPuts?[PathKey(path)] = nil
        }
    }

    /// Records an upload's result and, in the same state, the check of what it may have
    /// overtaken, so that no save holds the one without the other.
    func set(_ path: String, _ synced: SyncedFile, pending check: PendingConflictCheck) throws {
        try update { state in
            state.files[PathKey(path)] = synced
            state.pendingPuts?[PathKey(path)] = nil
            state.pendingConflictChecks = (state.pendingConflictChecks ?? []) + [check]
        }
    }

    /// Removes a conflict check that is done.
    func finished(_ check: PendingConflictCheck) throws {
        try update { state in
            state.pendingConflictChecks?.removeAll { $0 == check }
            if state.pendingConflictChecks?.isEmpty == true { state.pendingConflictChecks = nil }
        }
    }

    func forget(_ path: String) throws {
        try update { state in
            state.files[PathKey(path)] = nil
            state.pendingPuts?[PathKey(path)] = nil
        }
    }

    /// Notes a download renamed into `directory` (absolute), before its record is set.
    func renamed(in directory: String) {
        inner.withLock { _ = $0.renamedIn.insert(PathKey(directory)) }
    }

    /// Writes the state if anything changed since the last save.
    func flush() throws {
        try save()
    }

    private func save() throws {
        try saving.withLock { _ in
            let (due, directories) = inner.withLock { inner -> (SyncState?, Set<PathKey>) in
                guard inner.dirty else { return (nil, []) }
                inner.dirty = false
                defer { inner.renamedIn = [] }
                return (inner.state, inner.renamedIn)
            }
            guard let due else { return }
            for directory in directories { AtomicWrite.syncDirectory(directory.string) }
            do {
                try file.save(due)
            } catch {
                // Not written: the next save (or a `persist` waiting for this one) writes it.
                inner.withLock { $0.dirty = true }
                throw error
            }
        }
    }
}

/// Counts what a pass did, from many actions at once.
final class SyncTally: Sendable {
    private let summary = Mutex(SyncSummary())

    func add(_ change: (inout SyncSummary) -> Void) {
        summary.withLock { change(&$0) }
    }

    var value: SyncSummary { summary.withLock { $0 } }
}

/// A value many tasks of one pass add to (results of hashing, failures), behind a lock.
final class SyncCollector<Value: Sendable>: Sendable {
    private let value: Mutex<Value>

    init(_ initial: Value) {
        value = Mutex(initial)
    }

    func add(_ change: (inout Value) -> Void) {
        value.withLock { change(&$0) }
    }

    var current: Value { value.withLock { $0 } }
}
