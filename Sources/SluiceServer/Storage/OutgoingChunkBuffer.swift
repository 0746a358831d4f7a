import Foundation

/// The `data` of the messages a read stream sends, kept in one reused buffer: a message is
/// serialized when it is written (``ServerResponseWriter/write(_:)``), so once the write
/// returns and the message is dropped the buffer is unshared again, and the next chunk is
/// copied into it without allocating (a fresh 1 MiB `Data` per chunk made reads page-fault
/// their way through memory). Should a message still hold it, copy-on-write keeps it safe.
struct OutgoingChunkBuffer {
    private var storage = Data()

    /// `chunk`'s bytes, in the reused buffer.
    mutating func data(copying chunk: [UInt8]) -> Data {
        if storage.count == chunk.count {
            storage.withUnsafeMutableBytes { target in
                chunk.withUnsafeBytes { target.copyMemory(from: $0) }
            }
        } else {
            storage = Data(chunk)
        }
        return storage
    }
}
