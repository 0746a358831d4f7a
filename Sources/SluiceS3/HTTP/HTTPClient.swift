import Foundation
import Synchronization

/// Sends HTTP/1.1 requests (TLS when the URL is https) through libcurl.
///
/// libcurl's easy interface blocks, so each transfer runs on a thread of its own, never on
/// Swift's few cooperative threads; a download whose consumer is slow holds its thread while it
/// waits, which is the backpressure. At most ``Settings/maxConcurrentTransfers`` such threads run
/// at once; more callers wait their turn. Finished handles go back to an idle list, keeping their
/// connections open for the next request to the same host.
public final class HTTPClient: Sendable {
    /// How transfers behave.
    public struct Settings: Sendable {
        /// The longest a TCP connect and TLS handshake may take.
        public var connectTimeout: Duration
        /// The longest a transfer may go without a byte moving either way before it is given up.
        public var stallTimeout: Duration
        /// A PEM bundle of CA certificates to trust instead of the system's (a private MinIO, say).
        public var caFile: String?
        /// Transfer threads (and so connections) running at once; at least 1.
        public var maxConcurrentTransfers: Int
        /// Idle handles (and so open connections) kept for reuse.
        public var maxIdleHandles: Int

        public init(
            connectTimeout: Duration = .seconds(10), stallTimeout: Duration = .seconds(30),
            caFile: String? = nil, maxConcurrentTransfers: Int = 64, maxIdleHandles: Int = 64
        ) {
            self.connectTimeout = connectTimeout
            self.stallTimeout = stallTimeout
            self.caFile = caFile
            self.maxConcurrentTransfers = maxConcurrentTransfers
            self.maxIdleHandles = maxIdleHandles
        }
    }

    public let settings: Settings
    private let idleHandles = Mutex<[CurlEasyHandle]>([])
    private let slots: TransferSlots

    public init(settings: Settings = Settings()) {
        self.settings = settings
        self.slots = TransferSlots(capacity: settings.maxConcurrentTransfers)
    }

    /// Runs `body` on a transfer thread of its own and waits for it without blocking the caller's
    /// thread. A cancellation of the calling task sets the flag `body` gets, which its transfers
    /// poll, or ends the wait for a slot before `body` starts.
    public func onTransferThread<Result: Sendable>(
        _ body: @escaping @Sendable (TransferCancellation) throws -> Result
    ) async throws -> Result {
        let cancellation = TransferCancellation()
        return try await withTaskCancellationHandler {
            try await slots.acquire()
            return try await withCheckedThrowingContinuation { continuation in
                startThread { continuation.resume(with: Swift.Result { try body(cancellation) }) }
            }
        } onCancel: {
            cancellation.cancel()
        }
    }

    /// Starts `body` on a transfer thread of its own once a slot is free, and returns without
    /// waiting for it to end: for a producer that hands its results over by other means. Throws
    /// `CancellationError`, starting nothing, when the task is cancelled while it waits.
    public func startTransferThread(_ body: @escaping @Sendable () -> Void) async throws {
        try await slots.acquire()
        startThread(body)
    }

    private func startThread(_ body: @escaping @Sendable () -> Void) {
        let slots = slots
        let thread = Thread {
            defer { slots.release() }
            body()
        }
        thread.name = "sluice-http"
        thread.start()
    }

    /// Sends `request` and waits for the whole response on the calling thread, which must be
    /// one of ``onTransferThread(_:)``'s. The body of a successful response goes to `sink` as it
    /// arrives when one is given (answer false to stop), and is kept in the response otherwise.
    public func send(
        _ request: HTTPRequest, cancellation: TransferCancellation,
        sink: ((UnsafeRawBufferPointer) -> Bool)? = nil
    ) throws(HTTPTransferError) -> HTTPResponse {
        if cancellation.isCancelled { throw .cancelled }
        let handle: CurlEasyHandle
        if let idle = idleHandles.withLock({ $0.popLast() }) {
            handle = idle
        } else {
            do { handle = try CurlEasyHandle() } catch { throw .transport(error) }
        }
        let transfer = HTTPTransfer(handle: handle, request: request, settings: settings, cancelled: cancellation, sink: sink)
        let response = try transfer.perform()
        // Only a handle whose transfer ended cleanly goes back: its connection is in a known state.
        idleHandles.withLock { idle in
            if idle.count < settings.maxIdleHandles { idle.append(handle) }
        }
        return response
    }
}

/// Set once when the caller of a transfer gives up; transfers poll it at least once a second,
/// and retry loops check it between attempts.
public final class TransferCancellation: Sendable {
    private let flag = Atomic<Bool>(false)

    public var isCancelled: Bool { flag.load(ordering: .relaxed) }

    public func cancel() { flag.store(true, ordering: .relaxed) }
}
