import Foundation
import Synchronization

/// A byte range of an S3 object, read as chunks by one streamed GET on a transfer thread of its own.
///
/// The transfer starts at the first ``next()`` and stays at most two chunks ahead of the
/// consumer. When the connection breaks, the GET is sent again for the bytes not yet received,
/// so a long download survives dropped connections without starting over; attempts that
/// received bytes do not count against the retry limit. A consumer that takes nothing for the
/// stall timeout makes the transfer step away and free its slot (so stalled readers cannot hold
/// every transfer slot); its next ``next()`` resumes from the following byte. Dropping the
/// stream stops the transfer, and so does cancelling a task waiting in ``next()``: that task
/// holds the stream, so without this a call that gave up would keep a hung GET, and its slot,
/// until the stall timeout.
public final class S3ObjectStream: Sendable {
    private let http: HTTPClient
    private let pipe = ChunkPipe(capacity: 2)
    private let cancellation = TransferCancellation()
    private let started = Atomic<Bool>(false)
    private let download: Download

    init(client: S3Client, key: String, range: Range<Int64>, chunkSize: Int) {
        precondition(chunkSize > 0, "an object is read in chunks of at least one byte")
        self.http = client.http
        self.download = Download(client: client, key: key, range: range, chunkSize: chunkSize, pipe: pipe, cancellation: cancellation)
    }

    deinit { stop() }

    /// The next chunk (never empty), or nil after the range's last byte. Fails with
    /// ``S3Error/noSuchKey(_:)`` or ``S3Error/rangeNotSatisfiable(key:objectSize:)`` when the
    /// object is missing or shorter than the range.
    public func next() async throws -> [UInt8]? {
        try await withTaskCancellationHandler {
            if !started.exchange(true, ordering: .relaxed) { try await startDownload() }
            while true {
                switch try await pipe.next() {
                case .chunk(let chunk): return chunk
                case .end: return nil
                case .producerPaused:
                    pipe.producerRestarting()
                    try await startDownload()
                }
            }
        } onCancel: {
            stop()
        }
    }

    /// Ends the transfer within the progress callback's second and fails every ``next()``.
    private func stop() {
        cancellation.cancel()
        pipe.close()
    }

    private func startDownload() async throws {
        let download = download
        try await http.startTransferThread { download.run() }
    }
}

/// The producing side of an ``S3ObjectStream``; runs on a transfer thread, one run at a time
/// (a paused run ends before the consumer starts the next), and keeps its progress across runs.
// Safe because one transfer thread runs it at a time, and a paused run ends before the next starts.
private final class Download: @unchecked Sendable {
    let client: S3Client
    let key: String
    let range: Range<Int64>
    let chunkSize: Int
    let pipe: ChunkPipe
    let cancellation: TransferCancellation
    /// The next byte of the range to receive.
    var offset: Int64
    /// Received bytes not yet handed over: less than a chunk, or a full one the consumer was
    /// too slow to take.
    var pending: [UInt8] = []
    var receivedSinceAttempt = false
    /// Set when this run stepped away from a consumer that stopped taking chunks.
    var paused = false

    init(client: S3Client, key: String, range: Range<Int64>, chunkSize: Int, pipe: ChunkPipe, cancellation: TransferCancellation) {
        self.client = client
        self.key = key
        self.range = range
        self.chunkSize = chunkSize
        self.pipe = pipe
        self.cancellation = cancellation
        self.offset = range.lowerBound
    }

    func run() {
        paused = false
        do {
            try fetch()
            if !paused, !pending.isEmpty { try hand(pending) }
            if paused {
                pipe.pause()
            } else {
                pipe.finish(.success(()))
            }
        } catch S3Error.cancelled where paused {
            pipe.pause()
        } catch {
            pipe.finish(.failure(error))
        }
    }

    /// Hands a chunk to the consumer; false when the consumer was idle too long, leaving the
    /// chunk pending and this run paused.
    @discardableResult
    private func hand(_ chunk: [UInt8]) throws -> Bool {
        switch pipe.push(chunk, waitingAtMost: client.http.settings.stallTimeout) {
        case .accepted:
            pending = []
            return true
        case .consumerGone:
            throw S3Error.cancelled
        case .consumerIdle:
            paused = true
            return false
        }
    }

    private func fetch() throws {
        if range.isEmpty {
            try checkEmptyRange()
            return
        }
        // A full chunk left by a paused run goes first; if the consumer is still away, pause again.
        if pending.count == chunkSize, !(try hand(pending)) { return }
        let request = S3Request(operation: "GET \(key)", method: "GET", key: key)
        var shortResponses = 0
        while offset < range.upperBound {
            let response: HTTPResponse
            do {
                response = try client.execute(
                    request, cancellation: cancellation, sink: receive,
                    madeProgress: { [self] in defer { receivedSinceAttempt = false }; return receivedSinceAttempt },
                    resend: { [self] request in
                        // A GET that failed after its last byte arrived (a Content-Length the body
                        // fell short of, a reset right after it) left nothing to ask for: asking
                        // anyway would send an inverted range, whose 416 reads as a cut-short blob.
                        guard offset < range.upperBound else { throw RangeReceived() }
                        var request = request
                        request.headers = [(name: "range", value: "bytes=\(offset)-\(range.upperBound - 1)")]
                        return request
                    })
            } catch is RangeReceived {
                return
            }
            switch response.status {
            case 206:
                guard offset < range.upperBound else { return }
                // A complete response that stopped short: the object is smaller than the range.
                if let size = Self.objectSize(from: response.headers["content-range"]), size < range.upperBound {
                    throw S3Error.rangeNotSatisfiable(key: key, objectSize: size)
                }
                shortResponses += 1
                guard shortResponses < client.retryPolicy.attempts else {
                    throw S3Error.malformedResponse(operation: request.operation, detail: "responses keep ending before the range does")
                }
            case 404 where client.isMissingObject(response):
                throw S3Error.noSuchKey(key)
            case 416:
                throw S3Error.rangeNotSatisfiable(key: key, objectSize: Self.objectSize(from: response.headers["content-range"]))
            case 200:
                throw S3Error.malformedResponse(operation: request.operation, detail: "the server ignored the Range header")
            default:
                throw client.refusal(request, response)
            }
        }
    }

    /// Every byte of the range arrived, though the GET that brought the last of them failed.
    private struct RangeReceived: Error {}

    /// An empty range reads nothing but must still fail for a missing or shorter object.
    private func checkEmptyRange() throws {
        guard let size = try client.objectSize(key, cancellation: cancellation) else { throw S3Error.noSuchKey(key) }
        if range.lowerBound > size { throw S3Error.rangeNotSatisfiable(key: key, objectSize: size) }
    }

    /// The response-body sink: cuts the bytes into chunks and hands each full one to the pipe;
    /// false (ending the GET) when the consumer is gone or too slow.
    private func receive(_ bytes: UnsafeRawBufferPointer) -> Bool {
        let usable = Int(min(Int64(bytes.count), range.upperBound - offset))
        var index = 0
        while index < usable {
            if pending.isEmpty { pending.reserveCapacity(chunkSize) }
            let take = min(chunkSize - pending.count, usable - index)
            pending.append(contentsOf: bytes[index..<index + take])
            index += take
            // Counted as they are kept, so that a GET ended mid-callback resumes at the right byte.
            offset += Int64(take)
            receivedSinceAttempt = true
            if pending.count == chunkSize {
                guard (try? hand(pending)) == true else { return false }
            }
        }
        return true
    }

    /// The object size from a Content-Range of "bytes A-B/SIZE" or "bytes */SIZE".
    private static func objectSize(from header: String?) -> Int64? {
        guard let header, let slash = header.lastIndex(of: "/") else { return nil }
        return Int64(header[header.index(after: slash)...])
    }
}
