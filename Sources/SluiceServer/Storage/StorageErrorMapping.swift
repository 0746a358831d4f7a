import SluicePostgres
import SluiceRPC
import SluiceStore

/// The trailer that tells a client a RESOURCE_EXHAUSTED means the server's storage is full
/// (value `space`), as opposed to a per-principal quota (`quota`) or rate limit (`rate`).
let exhaustedResourceTrailer = "sluice-exhausted"

/// The trailer that tells a client an UNAVAILABLE comes from the server itself, which answered,
/// and what it lacks: `database` (its metadata database cannot be reached). Without it, the
/// server may not have been reached at all.
let unavailableResourceTrailer = "sluice-unavailable"

/// Runs a storage operation and turns its failures into gRPC statuses: the store's refusals
/// and S3's answers with their own message; resource shortages with a status that says what to
/// do; and every internal failure (database, local I/O with its paths) as a `ConcealedError`,
/// whose cause only the server log sees. `StorageCallInterceptor` runs every call through it,
/// so handlers throw the store's errors as they come.
func mappingStorageErrors<Result>(_ body: () async throws -> Result) async throws -> Result {
    do {
        return try await body()
    } catch StorageError.quotaExceeded(let exceeded) {
        throw LimitRefusals.refuse(.quota(exceeded))
    } catch let error as StorageError {
        throw RPCError(statusCode(of: error), error.description)
    } catch let error as BlobError {
        throw mapped(error)
    } catch let error as PostgresError {
        throw mapped(error)
    }
}

private func mapped(_ error: BlobError) -> any Error {
    switch error.resourceShortage {
    case .space:
        return RPCError(
            .resourceExhausted,
            "the blob store is out of space; nothing was acknowledged, what was stored before is intact. "
                + "Free space on the server (or ask its operator to; deleting objects and aborting sessions frees "
                + "their bytes at once), then send it again: an upload resumes",
            trailers: outOfSpace)
    case .transient:
        return ConcealedError(
            .unavailable, "the server is short of resources (open files or memory) for now; try again", cause: error)
    case nil:
        break
    }
    switch error {
    case .storageUnavailable(let summary, _):
        // The kind of failure (no key, bucket or library text: those go to the log).
        return ConcealedError(
            .unavailable, "the blob store is unavailable for now (\(summary)); nothing was acknowledged, try again",
            cause: error)
    case .storageFailed(let summary, _):
        // S3's error code (AccessDenied, NoSuchBucket): the operator's cue, named in the README.
        return ConcealedError(.internal, "the blob store failed: \(summary)", cause: error)
    case .notFound, .truncated, .rangeOutOfBounds:
        // Only bytes the metadata says are stored are ever read: these mean they were lost. The
        // store's readers say whose bytes, or that the object was deleted meanwhile
        // (`DamageLedger.refusal`); a read that could not lands here, and the blob's key is the
        // server's business, for the log only.
        return ConcealedError(.dataLoss, "stored bytes are missing or damaged", cause: error)
    default:
        // System calls with the server's paths and errno: for the log only.
        return ConcealedError(.internal, "internal storage error", cause: error)
    }
}

private func mapped(_ error: PostgresError) -> any Error {
    if error.isConnectionFailure || error.kind == .poolClosed {
        return ConcealedError(
            .unavailable, "the metadata database is unavailable for now; try again",
            trailers: [unavailableResourceTrailer: .string("database")], cause: error)
    }
    if error.isDiskFull {
        // Logged all the same (as `cause`): the operator has to free space on the database's disk.
        return ConcealedError(
            .resourceExhausted,
            "the server's metadata database is out of disk space; nothing was acknowledged, what was stored "
                + "before is intact and can still be read. Ask the server's operator to free space, then send it "
                + "again: an upload resumes",
            trailers: outOfSpace, cause: error)
    }
    if error.isShortOfResources {
        return ConcealedError(
            .unavailable, "the metadata database is short of resources (memory, locks) for now; try again",
            cause: error)
    }
    if error.isTimeout {
        return ConcealedError(
            .unavailable, "the metadata database did not answer in time (busy, or held up elsewhere); try again",
            cause: error)
    }
    if error.kind == .encoding {
        // A parameter PostgreSQL text cannot hold: a NUL in the client's text that no check
        // refused before the query (each field's own check says more). The client's doing,
        // never the server's; logged all the same, as a check is missing.
        return ConcealedError(
            .invalidArgument,
            "a text field of the request contains a NUL character (U+0000), which the server cannot store; remove it",
            cause: error)
    }
    if error.isSerializationFailure {
        // The pool retried the transaction and it kept losing to concurrent ones.
        return ConcealedError(
            .aborted, "the request conflicted with concurrent changes and was not applied; send it again",
            cause: error)
    }
    return ConcealedError(.internal, "internal database error", cause: error)
}

/// The trailers of a RESOURCE_EXHAUSTED that means the server's storage is full, the blob store's
/// or the database's: the CLI does not retry it but says to run the same transfer again once
/// space is freed.
private let outOfSpace: Metadata = [exhaustedResourceTrailer: .string("space")]

private func statusCode(of error: StorageError) -> StatusCode {
    switch error {
    case .invalidArgument: .invalidArgument
    case .notFound: .notFound
    case .permissionDenied: .permissionDenied
    case .failedPrecondition: .failedPrecondition
    case .dataLoss: .dataLoss
    case .resourceExhausted, .quotaExceeded: .resourceExhausted
    case .aborted: .aborted
    case .outOfRange: .outOfRange
    case .corrupted, .storageFailed: .internal
    case .unavailable: .unavailable
    }
}
