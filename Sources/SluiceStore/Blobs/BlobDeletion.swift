/// What ``BlobStore/delete(_:before:)`` did.
public enum BlobDeletion: Sendable, Equatable {
    /// The deadline passed first; the blob stays.
    case notMade
    /// The blob is gone.
    case made
    /// The blob is gone, but an earlier request for it has an unknown fate (S3 behind a gateway:
    /// an attempt timed out, or got a 5xx, before the one that was answered). That request may
    /// still arrive and remove bytes stored under the key meanwhile, so they must be fenced off
    /// for the store's ``StorageLimits/lingeringDeleteFence`` (``BlobReclaimer/forget(_:)``).
    case madeWithARequestInDoubt
}
