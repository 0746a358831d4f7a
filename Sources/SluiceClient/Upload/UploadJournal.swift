import Foundation
import SluiceOpenSSL

/// What the journal remembers of one unfinished upload: the file as it was hashed and the
/// session its partitions go to.
public struct UploadJournalEntry: Codable, Sendable, Equatable {
    /// The server, HOST:PORT, the session lives on.
    public var server: String
    /// The absolute path of the local file.
    public var path: String
    public var objectName: String
    public var size: Int64
    /// Modification time in nanoseconds since the epoch.
    public var modificationTime: Int64
    public var partitionSize: Int64
    /// Hex SHA-256 of each partition, in order.
    public var partitionSHA256: [String]
    /// Hex SHA-256 of the whole file, as declared to the session; empty when none was (a
    /// file of several partitions is not hashed whole: see `FileHashing.partitionDigests`).
    public var objectSHA256: String
    /// The session, once CreateSession has answered; empty before.
    public var sessionID: String
    /// The CreateSession request id, saved before the call: a run that dies before it
    /// learns (and saves) the session's id sends the same request id again and gets the
    /// same session back, instead of leaking one. Absent in journals of older versions.
    public var requestID: String?
    /// The handle of the owner the upload goes to (`--owner`); nil for the caller's own.
    public var owner: String? = nil
    /// true when the session was asked for no whole-object SHA-256 (`--no-whole-sha256`); nil
    /// otherwise (and in older journals).
    public var skipsWholeSHA256: Bool? = nil

    /// The request id this entry, an earlier run's, saved for a call whose answer that run never
    /// learned (no session id yet), when `current` is the same upload of the same file: sent
    /// again, it gets what that call made. The same request id must declare the same
    /// whole-file hash (an older client's entry has one), so that must agree too.
    func requestIDToSendAgain(for current: UploadJournalEntry) -> String? {
        guard sessionID.isEmpty, describesSameFile(as: current), objectSHA256 == current.objectSHA256 else { return nil }
        return requestID
    }

    /// Whether both entries describe the same file, hashed the same way, for the same
    /// object (the session and request ids aside). The whole file's SHA-256 counts only when
    /// both have one: the partition hashes decide (this client no longer hashes a file of
    /// several partitions whole; an entry an older one wrote still has it).
    func describesSameFile(as other: UploadJournalEntry) -> Bool {
        var left = self, right = other
        (left.sessionID, left.requestID, right.sessionID, right.requestID) = ("", nil, "", nil)
        if left.objectSHA256.isEmpty || right.objectSHA256.isEmpty { (left.objectSHA256, right.objectSHA256) = ("", "") }
        return left == right && Array(path.utf8) == Array(other.path.utf8)
            && Array(objectName.utf8) == Array(other.objectName.utf8)
    }
}

/// A directory of small JSON files, one per unfinished upload, keyed by server, absolute
/// path and object name, so that running the same upload again resumes its session.
/// Every write is atomic.
public struct UploadJournal: Sendable {
    public let directory: String

    public init(directory: String) {
        self.directory = directory
    }

    /// `$SLUICE_STATE_DIR/journal`, else `$XDG_STATE_HOME/sluice/journal`, else
    /// `~/.local/state/sluice/journal`.
    public static func defaultDirectory(
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> String {
        let state: String
        if let explicit = environment["SLUICE_STATE_DIR"], !explicit.isEmpty {
            state = explicit
        } else if let xdg = environment["XDG_STATE_HOME"], !xdg.isEmpty {
            state = (xdg as NSString).appendingPathComponent("sluice")
        } else {
            let home = environment["HOME"] ?? NSHomeDirectory()
            state = (home as NSString).appendingPathComponent(".local/state/sluice")
        }
        return (state as NSString).appendingPathComponent("journal")
    }

    /// The entry of an upload, if one was left behind and can be read.
    public func entry(server: String, path: String, objectName: String) -> UploadJournalEntry? {
        let file = self.file(server: server, path: path, objectName: objectName)
        guard let data = FileManager.default.contents(atPath: file),
              let entry = try? JSONDecoder().decode(UploadJournalEntry.self, from: data),
              entry.server == server, Array(entry.path.utf8) == Array(path.utf8),
              Array(entry.objectName.utf8) == Array(objectName.utf8)
        else { return nil }
        return entry
    }

    public func save(_ entry: UploadJournalEntry) throws {
        try createDirectory()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicWrite.write(
            try encoder.encode(entry), to: file(server: entry.server, path: entry.path, objectName: entry.objectName))
    }

    public func remove(server: String, path: String, objectName: String) {
        unlink(file(server: server, path: path, objectName: objectName))
    }

    /// Takes the lock of an upload's entry (its file with `.lock` for `.json`, removed when
    /// the lock goes) for the length of the upload: two runs of the same upload would feed one
    /// session, and whichever finished second would fail. The second is refused instead
    /// (``TransferInProgressError``).
    func lock(server: String, path: String, objectName: String) throws -> LockFile {
        try createDirectory()
        let lockPath = entryName(server: server, path: path, objectName: objectName) + ".lock"
        guard let lock = try LockFile.take(lockPath) else {
            throw TransferInProgressError(transfer: "upload of \(path) to \(objectName)", lockedFile: lockPath)
        }
        return lock
    }

    private func createDirectory() throws {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw LocalFileError(path: directory, operation: "create", code: 0, detail: "\(error)")
        }
    }

    /// The entry's file: the SHA-256 of its key, so any path and name fit a file name.
    func file(server: String, path: String, objectName: String) -> String {
        entryName(server: server, path: path, objectName: objectName) + ".json"
    }

    private func entryName(server: String, path: String, objectName: String) -> String {
        let key = Array([server, path, objectName].joined(separator: "\0").utf8)
        return (directory as NSString).appendingPathComponent(Hex.encode(SHA256.hash(key)))
    }
}
