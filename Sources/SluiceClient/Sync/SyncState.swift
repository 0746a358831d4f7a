import Foundation

/// What sync remembers of one path as it last left it in step: the local file's stat and
/// the SHA-256 both sides had, and the remote version. The base of the three-way decision.
public struct SyncedFile: Codable, Sendable, Equatable {
    public var local: LocalStat
    /// Hex SHA-256 of the content both sides had.
    public var sha256: String
    public var remoteVersion: Int64

    public init(local: LocalStat, sha256: String, remoteVersion: Int64) {
        self.local = local
        self.sha256 = sha256
        self.remoteVersion = remoteVersion
    }
}

/// The state file of one sync (a local directory paired with a remote prefix): the last
/// synced state of every path and the change-feed cursor to watch from.
///
/// Paths are keys of ``PathKey`` (bytes): since format 2 the maps keyed by path are written
/// as arrays of alternating paths and values, so that two names that differ only in Unicode
/// normalization stay two entries. Format 1 wrote them as JSON objects; it is still read.
public struct SyncState: Codable, Sendable, Equatable {
    /// The format this code writes.
    static let currentFormat = 2
    public var format = SyncState.currentFormat
    public var server: String
    public var owner: String
    public var remotePrefix: String
    public var localRoot: String
    /// Where the change feed was last read up to; "" before the first sync.
    public var cursor = ""
    /// Relative path → its last synced state.
    public var files: [PathKey: SyncedFile] = [:]
    /// Local changes kept on this device because the owner shares them for reading only, by
    /// the stat they were reported under (reported again only when they change); nil when
    /// there are none (and in state files written before read-only folders synced).
    public var keptLocally: [PathKey: LocalStat]?
    /// Relative path → the request id of its PutObject, kept from before the call until its
    /// result is recorded; nil when there is none (and in state files written before).
    public var pendingPuts: [PathKey: PendingPut]?
    /// Uploads recorded whose overtaken versions are still to be kept as conflict copies;
    /// nil when there are none (and in state files written before).
    public var pendingConflictChecks: [PendingConflictCheck]?
    /// The random marker in the name of every temporary file this pairing makes, by which a
    /// leftover one is known as its own (and removed) and a user's look-alike left alone
    /// (``SyncNames/downloadTemporary(for:marker:)``); nil until the first pass that acts.
    public var temporaryMarker: String?
    /// Set while a watch holds deletions back (``DeletionHold``); nil otherwise (and in state
    /// files written before).
    public var deletionHold: DeletionHold?

    public init(server: String, owner: String, remotePrefix: String, localRoot: String) {
        self.server = server
        self.owner = owner
        self.remotePrefix = remotePrefix
        self.localRoot = localRoot
    }

    private enum CodingKeys: String, CodingKey {
        case format, server, owner, remotePrefix, localRoot, cursor, files, keptLocally, pendingPuts
        case pendingConflictChecks, temporaryMarker, deletionHold
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let format = try container.decode(Int.self, forKey: .format)
        guard (1...Self.currentFormat).contains(format) else {
            throw DecodingError.dataCorruptedError(
                forKey: .format, in: container, debugDescription: "unknown format \(format)")
        }
        /// A map keyed by path: an object in format 1, alternating paths and values since.
        func byPath<Value: Decodable>(_ key: CodingKeys) throws -> [PathKey: Value]? {
            guard format == 1 else { return try container.decodeIfPresent([PathKey: Value].self, forKey: key) }
            return try container.decodeIfPresent([String: Value].self, forKey: key).map { old in
                Dictionary(uniqueKeysWithValues: old.map { (PathKey($0.key), $0.value) })
            }
        }
        server = try container.decode(String.self, forKey: .server)
        owner = try container.decode(String.self, forKey: .owner)
        remotePrefix = try container.decode(String.self, forKey: .remotePrefix)
        localRoot = try container.decode(String.self, forKey: .localRoot)
        cursor = try container.decode(String.self, forKey: .cursor)
        // Always written (empty or not): a state without it is damaged, and taking it for "nothing
        // synced yet" would bring back every file deleted on one side since.
        guard let files: [PathKey: SyncedFile] = try byPath(.files) else {
            throw DecodingError.keyNotFound(
                CodingKeys.files, DecodingError.Context(codingPath: [], debugDescription: "the state has no files"))
        }
        self.files = files
        keptLocally = try byPath(.keptLocally)
        pendingPuts = try byPath(.pendingPuts)
        pendingConflictChecks = try container.decodeIfPresent([PendingConflictCheck].self, forKey: .pendingConflictChecks)
        temporaryMarker = try container.decodeIfPresent(String.self, forKey: .temporaryMarker)
        deletionHold = try container.decodeIfPresent(DeletionHold.self, forKey: .deletionHold)
    }

    /// Whether the state was written for this same pairing (else it is not used).
    func pairs(_ other: SyncState) -> Bool {
        server == other.server && owner == other.owner && remotePrefix == other.remotePrefix
            && localRoot == other.localRoot
    }
}

/// Where a sync's state lives: `--state-file`, else one file per server, owner, remote
/// prefix and local directory under `$SLUICE_STATE_DIR/sync` (else
/// `$XDG_STATE_HOME/sluice/sync`, else `~/.local/state/sluice/sync`). Written atomically.
public struct SyncStateFile: Sendable {
    public let path: String

    /// A relative `path` is taken from the working directory now (a bare file name has no
    /// directory of its own to make or to sync).
    public init(path: String) {
        self.path = URL(fileURLWithPath: path).standardizedFileURL.path
    }

    public static func standard(
        server: String, owner: String, remotePrefix: String, localRoot: String,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> SyncStateFile {
        let journal = UploadJournal.defaultDirectory(environment: environment) as NSString
        let state = journal.deletingLastPathComponent as NSString
        let key = [server, owner, remotePrefix, localRoot].joined(separator: "\u{0}")
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in key.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        let name = String(hash, radix: 16) + ".json"
        return SyncStateFile(path: (state.appendingPathComponent("sync") as NSString).appendingPathComponent(name))
    }

    /// The saved state for this pairing; a fresh one when there is none (or the file is
    /// another pairing's, which only `--state-file` can name).
    ///
    /// - Throws: ``UnusableSyncStateError`` when the file exists but cannot be read or is no
    ///   state this code reads.
    public func load(fresh: SyncState) throws -> SyncState {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return fresh }
        guard !isDirectory.boolValue, let data = FileManager.default.contents(atPath: path) else {
            throw UnusableSyncStateError(path: path, reason: isDirectory.boolValue ? "it is a directory" : "it cannot be read")
        }
        let saved: SyncState
        do {
            saved = try JSONDecoder().decode(SyncState.self, from: data)
        } catch DecodingError.dataCorrupted(let context) where context.codingPath.last?.stringValue == "format" {
            throw UnusableSyncStateError(path: path, reason: "\(context.debugDescription); it was written by a newer sluice")
        } catch {
            throw UnusableSyncStateError(
                path: path, reason: data.isEmpty ? "it is empty" : "it is not a whole sync state (truncated or damaged)")
        }
        return saved.pairs(fresh) ? saved : fresh
    }

    /// Takes the state file's lock (`STATE.lock`, flock) for the life of the process, so that
    /// two syncs of one pairing never interleave their writes; the kernel drops it when the
    /// process ends, however it ends. A second sync is refused with a usage error.
    public func lock() throws {
        let directory = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        // The descriptor is deliberately left open: the lock lasts as long as the process.
        guard try FileLock.lockFile(path + ".lock") != nil else {
            throw UsageError("another sync of this directory and prefix is running (it holds \(path).lock)")
        }
    }

    public func save(_ state: SyncState) throws {
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try AtomicWrite.write(try encoder.encode(state), to: path)
    }
}
