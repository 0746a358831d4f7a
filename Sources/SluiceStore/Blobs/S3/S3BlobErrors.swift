import SluiceS3

/// Turns the S3 client's errors into the blob-store errors every store reports.
enum S3BlobErrors {
    /// Runs `body`, which works on the blob `key` (and the bytes `range` of it, for reads), or
    /// on no blob in particular (a listing) when `key` is nil.
    static func mapping<Result>(
        _ key: BlobKey?, range: Range<Int64>? = nil, _ body: () async throws -> Result
    ) async throws -> Result {
        do {
            return try await body()
        } catch let error as S3Error {
            throw blobError(error, key: key, range: range)
        }
    }

    static func blobError(_ error: S3Error, key: BlobKey?, range: Range<Int64>?) -> any Error {
        switch error {
        case .noSuchKey:
            return key.map(BlobError.notFound) ?? BlobError.storageFailed(summary: error.summary, detail: error.description)
        case .rangeNotSatisfiable(_, let size):
            return BlobError.rangeOutOfBounds(requested: range ?? 0..<0, size: size ?? 0)
        case .unavailable:
            return BlobError.storageUnavailable(summary: error.summary, detail: error.description)
        case .cancelled:
            return CancellationError()
        case .refused, .checksumNotConfirmed, .malformedResponse:
            return BlobError.storageFailed(summary: error.summary, detail: error.description)
        }
    }
}
