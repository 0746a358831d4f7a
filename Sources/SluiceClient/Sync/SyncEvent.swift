import Foundation
import SluiceDuration

/// What a sync reports as it goes: one event per action done (or, with `--dry-run`, that
/// would be done), per skipped path, per failure, and a summary per pass.
public struct SyncEvent: Sendable, Equatable {
    /// What happened; the raw value is the `event` field of `--json`.
    public enum Kind: String, Sendable {
        case upload, download
        case deleteRemote = "delete_remote"
        case deleteLocal = "delete_local"
        /// The same path changed on both sides; `detail` names the conflict copy.
        case conflict
        case skip
        /// An action not taken this pass because its file changed meanwhile; the next pass decides again.
        case deferred
        case failed
        /// A transient failure of a whole pass (watch mode tries again), or a file sent again
        /// because it changed while it was uploaded.
        case retrying
        case summary
    }

    public var kind: Kind
    public var path: String
    /// Bytes moved (upload/download: bytes actually sent or received).
    public var bytes: Int64 = 0
    public var detail: String = ""
    public var dryRun = false
    public var summary: SyncSummary? = nil
    /// `path` is escaped already (``TerminalText/escaped(bytes:)``: a local name that is not
    /// UTF-8, which no `String` can hold); the JSON shows it so too.
    public var pathIsEscaped = false

    public init(
        kind: Kind, path: String, bytes: Int64 = 0, detail: String = "", dryRun: Bool = false, pathIsEscaped: Bool = false
    ) {
        self.kind = kind
        self.path = path
        self.bytes = bytes
        self.detail = detail
        self.dryRun = dryRun
        self.pathIsEscaped = pathIsEscaped
    }

    /// One human line, escaped for a terminal: the path and the detail (names and messages
    /// from others) through ``TerminalText/escaped(_:)``, except a path escaped already, which
    /// escaping again would show with every escape's backslash doubled.
    public var text: String {
        if let summary { return summary.text(dryRun: dryRun) }
        let prefix = dryRun ? "would " : ""
        let verb: String
        switch kind {
        case .upload: verb = "\(prefix)upload"
        case .download: verb = "\(prefix)download"
        case .deleteRemote: verb = "\(prefix)delete remote"
        case .deleteLocal: verb = "\(prefix)delete local"
        case .conflict: verb = dryRun ? "would keep both (conflict)" : "conflict"
        case .skip: verb = "skip"
        case .deferred: verb = "later"
        case .failed: verb = "failed"
        case .retrying: verb = "retrying"
        case .summary: verb = "summary"
        }
        let shown = pathIsEscaped ? path : TerminalText.escaped(path)
        var line = "\(verb) \(shown)"
        if bytes > 0 && !dryRun { line += " (\(Format.bytes(bytes)) sent)" }
        if kind == .download, bytes > 0, !dryRun { line = "\(verb) \(shown) (\(Format.bytes(bytes)) received)" }
        if !detail.isEmpty { line += ": " + TerminalText.escaped(detail) }
        return line
    }

    /// One JSON object.
    public var json: String {
        var object: [String: Any] = ["event": kind.rawValue]
        if let summary {
            object.merge(summary.jsonObject) { $1 }
        } else {
            object["path"] = path
            if bytes > 0 { object["bytes"] = bytes }
            if !detail.isEmpty { object["detail"] = detail }
        }
        if dryRun { object["dry_run"] = true }
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]))
            ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}

/// What one pass did.
public struct SyncSummary: Sendable, Equatable {
    public var uploaded = 0
    public var downloaded = 0
    public var deletedRemote = 0
    public var deletedLocal = 0
    public var conflicts = 0
    public var skipped = 0
    public var deferred = 0
    public var failed = 0
    /// Payload bytes sent and received.
    public var bytesSent: Int64 = 0
    public var bytesReceived: Int64 = 0
    /// Calls made to the server (listing pages, lookups, session and partition calls).
    public var calls = 0
    /// Local paths the pass looked at: every file in a full pass, only those in scope in a
    /// watch round.
    public var scanned = 0
    public var elapsed: Duration = .zero

    public init() {}

    /// Whether the pass left the two sides in step (nothing deferred or failed).
    public var converged: Bool { deferred == 0 && failed == 0 }

    func text(dryRun: Bool) -> String {
        let seconds = String(format: "%.2f", elapsed.inSeconds)
        return (dryRun ? "would sync: " : "synced: ")
            + "\(uploaded) up, \(downloaded) down, \(deletedRemote) deleted remotely, \(deletedLocal) deleted locally, "
            + "\(conflicts) conflict\(conflicts == 1 ? "" : "s"), \(skipped) skipped, \(deferred) left for later, "
            + "\(failed) failed; \(Format.bytes(bytesSent)) sent, \(Format.bytes(bytesReceived)) received, "
            + "\(calls) calls, \(seconds) s"
    }

    var jsonObject: [String: Any] {
        [
            "uploaded": uploaded, "downloaded": downloaded, "deleted_remote": deletedRemote,
            "deleted_local": deletedLocal, "conflicts": conflicts, "skipped": skipped, "deferred": deferred,
            "failed": failed, "bytes_sent": bytesSent, "bytes_received": bytesReceived, "calls": calls,
            "scanned": scanned,
            "elapsed_seconds": (elapsed.inSeconds * 1000).rounded() / 1000,
        ]
    }
}
