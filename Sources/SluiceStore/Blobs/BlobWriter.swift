import Foundation

/// Receives the bytes of one blob, checks them against the declared size and SHA-256, and
/// publishes the blob durably on ``finish()``.
///
/// A writer is used by one task: calls must not overlap (`Sendable` only lets the task hand it
/// to the threads doing the I/O). Any failure is final — the writer discards what it staged and
/// every later call throws ``BlobError/writerClosed(_:)`` — so a caller can simply report the
/// error; calling ``abort()`` afterwards is still allowed and does nothing.
public protocol BlobWriter: Sendable {
    /// Hashes and stages `bytes`. Throws ``BlobError/sizeMismatch(expected:received:)`` at once,
    /// without staging any of them, when they would take the blob past its declared size.
    ///
    /// Generic over `ContiguousBytes` so that `[UInt8]`, `ArraySlice<UInt8>` and `Data` (what a
    /// protobuf `bytes` field holds) are hashed and written where they are, without a copy.
    func write(_ bytes: some ContiguousBytes & Sendable) async throws

    /// Checks that exactly the declared size arrived and that it hashes to the key, then makes
    /// the blob durable and visible; only after this returns may the partition be acknowledged.
    /// Throws ``BlobError/sizeMismatch(expected:received:)`` or
    /// ``BlobError/checksumMismatch(expected:actual:)`` (and stores nothing) otherwise.
    func finish() async throws

    /// Discards the staged bytes. Idempotent, and runs even when the calling task is cancelled,
    /// because cleaning up after a cancelled upload is exactly when it is needed.
    func abort() async
}
