import SluiceRPC

/// The body bytes waiting to go out on one stream, and how the stream ends.
///
/// nghttp2 pulls from it through the data provider whenever the peer's flow-control window
/// allows, which is how a slow reader slows down the writer.
final class OutboundData {
    private var chunks: [[UInt8]] = []
    private var offsetInFirst = 0
    /// Bytes queued and not yet taken by nghttp2.
    private(set) var bufferedBytes = 0
    /// Set when no more data will be queued.
    private(set) var isComplete = false
    /// Trailers to send after the data, if the stream ends with trailers.
    private(set) var trailers: [HeaderField]?

    func append(_ bytes: [UInt8]) {
        guard !bytes.isEmpty else { return }
        chunks.append(bytes)
        bufferedBytes += bytes.count
    }

    /// Marks the end of the data, optionally followed by trailers.
    func complete(trailers: [HeaderField]?) {
        isComplete = true
        self.trailers = trailers
    }

    /// Copies up to `target.count` queued bytes into `target`, returning how many.
    func take(into target: UnsafeMutableRawBufferPointer) -> Int {
        var written = 0
        while written < target.count, !chunks.isEmpty {
            let chunk = chunks[0]
            let count = min(chunk.count - offsetInFirst, target.count - written)
            chunk.withUnsafeBytes { source in
                target.baseAddress!.advanced(by: written)
                    .copyMemory(from: source.baseAddress!.advanced(by: offsetInFirst), byteCount: count)
            }
            written += count
            offsetInFirst += count
            if offsetInFirst == chunk.count {
                chunks.removeFirst()
                offsetInFirst = 0
            }
        }
        bufferedBytes -= written
        return written
    }
}
