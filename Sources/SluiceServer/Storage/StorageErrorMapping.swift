import SluiceRPC
import SluiceStore

/// Runs a storage operation and turns its refusals into gRPC statuses.
func mappingStorageErrors<Result>(_ body: () async throws -> Result) async throws -> Result {
    do {
        return try await body()
    } catch let error as StorageError {
        throw RPCError(statusCode(of: error), error.description)
    } catch let error as BlobError {
        switch error {
        case .storageUnavailable:
            throw RPCError(.unavailable, error.description)
        case .notFound, .truncated, .rangeOutOfBounds:
            // Only bytes the metadata says are stored are ever read: these mean they were lost.
            throw RPCError(.dataLoss, "stored bytes are missing or damaged: \(error)")
        default:
            throw RPCError(.internal, "the blob store failed: \(error)")
        }
    }
}

private func statusCode(of error: StorageError) -> StatusCode {
    switch error {
    case .invalidArgument: .invalidArgument
    case .notFound: .notFound
    case .failedPrecondition: .failedPrecondition
    case .dataLoss: .dataLoss
    case .resourceExhausted: .resourceExhausted
    case .aborted: .aborted
    case .corrupted, .storageFailed: .internal
    case .unavailable: .unavailable
    }
}
