import SluiceS3

/// Publishes a blob by uploading its verified staging file to S3 with its SHA-256, which S3
/// checks before storing; S3 is durable once it answers, so nothing is synced locally.
///
/// Uploading a key that exists overwrites it with identical bytes and renews its Last-Modified,
/// which keeps the collector from offering, as stale, a blob an upload has just acknowledged
/// again (as the disk store's rename does).
struct S3BlobPublisher: StagedBlobPublisher {
    let client: S3Client
    let layout: S3BlobLayout

    var movesStagingFile: Bool { false }

    func publish(_ staged: StagedBlob) async throws {
        try await S3BlobErrors.mapping(staged.key) {
            try await client.putObject(layout.objectKey(of: staged.key), file: staged.path, length: staged.size, sha256: staged.key.sha256)
        }
    }
}
