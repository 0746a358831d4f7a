import SluiceRPC
import SluiceStore

/// Runs a storage operation and turns its refusals into gRPC statuses.
func mappingStorageErrors<Result>(_ body: () async throws -> Result) async throws -> Result {
    do {
        return try await body()
    } catch let error as StorageError {
        throw RPCError(statusCode(of: error), error.description)
    } catch let error as BlobError {
        throw RPCError(.internal, "the blob store failed: \(error)")
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
    case .corrupted: .internal
    }
}
