import Foundation
import Synchronization

/// The state of a running sync, shared by the actions running at once; written to its file
/// at most every `saveInterval` while actions complete, and on `flush`. A sync killed
/// between saves loses only the record of its last actions: the next pass finds both sides
/// holding the same content and records them again, moving nothing.
final class SyncStateBox: Sendable {
    private struct Inner {
        var state: SyncState
        var dirty = false
        var lastSave = ContinuousClock.now
    }

    private let inner: Mutex<Inner>
    private let file: SyncStateFile
    private static let saveInterval: Duration = .seconds(1)

    init(_ state: SyncState, file: SyncStateFile) {
        inner = Mutex(Inner(state: state))
        self.file = file
    }

    var state: SyncState { inner.withLock { $0.state } }

    func update(_ change: (inout SyncState) -> Void) throws {
        let due: SyncState? = inner.withLock { inner in
            change(&inner.state)
            inner.dirty = true
            guard ContinuousClock.now - inner.lastSave >= Self.saveInterval else { return nil }
            inner.lastSave = ContinuousClock.now
            inner.dirty = false
            return inner.state
        }
        if let due { try file.save(due) }
    }

    func set(_ path: String, _ synced: SyncedFile) throws {
        try update { $0.files[path] = synced }
    }

    func forget(_ path: String) throws {
        try update { $0.files[path] = nil }
    }

    /// Writes the state if anything changed since the last save.
    func flush() throws {
        let due: SyncState? = inner.withLock { inner in
            guard inner.dirty else { return nil }
            inner.dirty = false
            inner.lastSave = ContinuousClock.now
            return inner.state
        }
        if let due { try file.save(due) }
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
