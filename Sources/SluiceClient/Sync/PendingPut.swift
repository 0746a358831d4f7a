import Foundation

/// The request id of a PutObject sync makes, saved in the state before the call and
/// cleared when the path's result is recorded. A sync killed while the call was in flight
/// may find, on its next run, that the server has not committed it yet (its listing still
/// shows the old version): sending the same content under the same id then answers the
/// killed call's version instead of making a second, identical one.
public struct PendingPut: Codable, Sendable, Equatable {
    public var requestID: String
    /// Hex SHA-256 of the bytes the id is for: the server refuses the id for other bytes,
    /// and a file that changed is a new upload.
    public var sha256: String
    /// What the put was planned to replace: a later run that finds the put's version
    /// already committed (and only records it) still checks what it overtook.
    public var planned: PlannedReplacement

    public init(requestID: String = UUID().uuidString, sha256: String, planned: PlannedReplacement) {
        self.requestID = requestID
        self.sha256 = sha256
        self.planned = planned
    }

    /// The ids for a pass's uploads that go in one PutObject, merged into those kept from
    /// earlier runs: a path whose content is unchanged keeps its id (and what its first
    /// attempt was planned to replace), any other gets a new one. Reserved together, in one
    /// save before the pass's calls, rather than a save of the whole state per file.
    static func reserved(
        for actions: [SyncAction], keeping kept: [PathKey: PendingPut], listingCursor: String
    ) -> [PathKey: PendingPut] {
        var reserved = kept
        for case .upload(let path, let local, let expected) in actions
        where SyncNames.isMarker(path) || SyncExecutor.uploadsInOneCall(size: local.stat.size, expected: expected) {
            if kept[PathKey(path)]?.sha256 == local.sha256 { continue }
            reserved[PathKey(path)] = PendingPut(
                sha256: local.sha256, planned: PlannedReplacement(replacing: expected, listingCursor: listingCursor))
        }
        return reserved
    }
}
