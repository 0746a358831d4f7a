import ArgumentParser
import Foundation
import SluiceRPC

/// What kind of failure an error is: the one place where gRPC status codes and local errors
/// are sorted into outcomes. Retries and exit codes both follow from it.
public enum FailureKind: Sendable, Equatable {
    /// The command line or configuration is wrong, or the server refused an argument
    /// (INVALID_ARGUMENT).
    case usage
    /// The object, version, session or local file does not exist, or the changes after a
    /// watch's cursor are no longer kept.
    case notFound
    /// The server does not accept who we are, or TLS failed to verify a side.
    case denied
    /// Bytes do not match their SHA-256.
    case integrity
    /// Worth trying again: the server or the network is briefly unable (also RESOURCE_EXHAUSTED
    /// of a rate or call limit, or an unmarked one without a negative pushback).
    case transient
    /// The server's storage is full (RESOURCE_EXHAUSTED with trailer `sluice-exhausted: space`):
    /// not retried, since only freeing space helps; an upload resumes afterwards.
    case serverOutOfSpace
    /// A quota of the principal is used up (RESOURCE_EXHAUSTED with trailer
    /// `sluice-exhausted: quota`): not retried, since only deleting or a larger quota helps.
    case quotaExceeded
    /// The owner of a folder synced with `--owner` no longer shares it (or part of it) with the
    /// caller; sync stops rather than take the vanished files for deleted ones.
    case accessLost
    /// The user interrupted the command.
    case interrupted
    /// Anything else, also a RESOURCE_EXHAUSTED no retry can pass (see `init`).
    case other

    /// Sorts an error.
    public init(_ error: any Error) {
        switch error {
        case let error as RPCError: self = Self(error)
        case let error as RetriesExhaustedError: self = Self(error.lastError)
        case is IntegrityError, is FileChangedError: self = .integrity
        case is SharedAccessLostError: self = .accessLost
        case let error as LocalFileError: self = error.code == ENOENT && !error.writing ? .notFound : .other
        case is UnresumableCursorError, is UnreadableCursorFileError, is NothingToShareError, is UnusableSyncStateError:
            self = .notFound
        case is UsageError, is ConfigFileError, is ValidationError, is EmptiedSideError, is TransferInProgressError:
            self = .usage
        case is CancellationError: self = .interrupted
        default: self = .other
        }
    }

    private init(_ error: RPCError) {
        switch error.code {
        case .notFound: self = .notFound
        case .unauthenticated, .permissionDenied: self = .denied
        case .dataLoss: self = .integrity
        case .invalidArgument: self = .usage
        case .cancelled: self = .interrupted
        case .unavailable where Self.isTLSFailure(error): self = .denied
        case .resourceExhausted where error.trailers.firstString("sluice-exhausted") == "space":
            self = .serverOutOfSpace
        case .resourceExhausted where error.trailers.firstString("sluice-exhausted") == "quota":
            self = .quotaExceeded
        // Unmarked, with a negative pushback: a fixed limit (a message larger than the server
        // takes) that the same request meets again however often it is sent.
        case .resourceExhausted where error.pushbackMilliseconds.map { $0 < 0 } ?? false: self = .other
        case .unavailable, .deadlineExceeded, .resourceExhausted, .aborted: self = .transient
        default: self = .other
        }
    }

    /// A failed TLS handshake (a certificate refused by either side) surfaces from the
    /// transport as UNAVAILABLE; retrying it cannot help.
    private static func isTLSFailure(_ error: RPCError) -> Bool {
        error.message.contains("TLS failed")
    }
}
