import Foundation
import SluiceRPC

/// Bytes that do not match their SHA-256: a partition or a whole object, received or sent.
public struct IntegrityError: Error, CustomStringConvertible, Sendable {
    public var message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { "integrity failure: \(message)" }
}

/// A local file operation that failed.
public struct LocalFileError: Error, CustomStringConvertible, Sendable {
    public var path: String
    public var operation: String
    /// The `errno` of the failure; 0 when the problem is not a system error.
    public var code: Int32
    public var detail: String?
    /// The failure was in making or replacing a file the command writes (a download's
    /// target, a journal), not in finding one it reads. A missing path there (ENOENT: its
    /// directory does not exist) is a local error, not the "not found" of a missing input
    /// or object, which a script takes to mean the thing asked for does not exist.
    public var writing: Bool

    public init(path: String, operation: String, code: Int32, detail: String? = nil, writing: Bool = false) {
        self.path = path
        self.operation = operation
        self.code = code
        self.detail = detail
        self.writing = writing
    }

    public var description: String {
        let reason = detail ?? String(cString: strerror(code))
        return "cannot \(operation) \(path): \(reason)"
    }
}

/// The local file ended sooner than it did when it was hashed: it changed during the
/// transfer, so what was declared can no longer be sent. An integrity failure.
public struct FileChangedError: Error, CustomStringConvertible, Sendable {
    public var path: String
    /// Where a read found the file's end: it ends there or, read in parallel, before.
    public var endsAt: Int64

    public var description: String {
        "\(path) changed while it was being read (it is shorter now: it ends at or before byte \(endsAt)); "
            + "nothing was committed, run the command again to send its current content"
    }
}

/// A transient failure that went on after every retry the policy allows.
public struct RetriesExhaustedError: Error, CustomStringConvertible, Sendable {
    /// What was being attempted, for example "upload of partition 3".
    public var operation: String
    public var attempts: Int
    public var lastError: RPCError

    public var description: String {
        "\(operation) failed after \(attempts) attempt\(attempts == 1 ? "" : "s"), giving up: \(lastError)"
    }
}

/// A request the command line or the caller got wrong, found after argument parsing.
public struct UsageError: Error, CustomStringConvertible, Sendable {
    public var message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}

/// Another run of the same transfer holds its files (``FileLock``): a download into the same
/// target, an upload of the same file to the same name. A usage error to the command line;
/// `sluice sync` leaves the file for a later pass.
public struct TransferInProgressError: Error, CustomStringConvertible, Sendable {
    /// What the other run is doing ("a download into /home/me/out").
    public var transfer: String
    /// The file it holds locked.
    public var lockedFile: String

    public var description: String {
        "another \(transfer) is running (it holds \(lockedFile)); let it finish, or stop it"
    }
}
