import Foundation
import SluiceProto
import SluiceRPC
import Synchronization

/// sluice.interop.v1.EchoService, as echo.proto's comments describe it, served by
/// `sluice-interop serve` so stock gRPC clients can exercise Sluice's transport.
///
/// Rules shared by every echo method:
/// - request metadata whose key starts with `x-echo-initial` comes back in the response
///   headers, and keys starting with `x-echo-trailing` in the trailers (`-bin` too);
/// - `delay_ms` waits before answering; `respond_with_status` with a non-zero code
///   fails the call with that status (the trailing echo metadata is still sent);
/// - a handler that is cancelled (client reset, deadline) records the request's `tag`,
///   reported by GetStats;
/// - every response carries the caller's verified identity in `peer_identity`.
public final class EchoService: Sluice_Interop_V1_EchoServiceService {
    public typealias Request = Sluice_Interop_V1_EchoRequest
    public typealias Response = Sluice_Interop_V1_EchoResponse

    private let cancelledTags = Mutex<[String]>([])
    private let transportStats: @Sendable () -> TransportStats

    /// `transportStats` is asked on every GetStats call.
    public init(transportStats: @escaping @Sendable () -> TransportStats = { TransportStats() }) {
        self.transportStats = transportStats
    }

    /// Tags of the handlers that observed cancellation, oldest first.
    public var cancelled: [String] { cancelledTags.withLock { $0 } }

    public func unaryEcho(request: Request, context: ServerContext) async throws -> Response {
        echoMetadata(context)
        return try await recordingCancellation(tag: request.tag) {
            try await delay(request.delayMs)
            try failIfAsked(request)
            return response(payload: payload(for: request), context: context)
        }
    }

    /// Reads every request, then answers with the totals. When the first request has
    /// `pause_reading_ms`, reading stops that long after it (backpressure tests); its
    /// `delay_ms` waits once all requests are in.
    public func clientStreamEcho(requests: ServerRequestStream<Request>, context: ServerContext) async throws -> Response {
        echoMetadata(context)
        var tag = ""
        do {
            var first: Request?
            var receivedBytes: Int64 = 0
            var receivedMessages: Int32 = 0
            for try await request in requests {
                receivedMessages += 1
                receivedBytes += Int64(request.payload.count)
                if tag.isEmpty { tag = request.tag }
                try failIfAsked(request)
                if first == nil {
                    first = request
                    try await delay(request.pauseReadingMs)
                }
            }
            // A transport may end the requests of a reset stream as if they were complete.
            try Task.checkCancellation()
            try await delay(first?.delayMs ?? 0)
            var answer = response(
                payload: first.map { $0.responseSize > 0 ? payload(for: $0) : Data() } ?? Data(), context: context)
            answer.receivedBytes = receivedBytes
            answer.receivedMessages = receivedMessages
            return answer
        } catch {
            recordIfCancelled(tag: tag, error)
            throw error
        }
    }

    /// Sends `response_count` messages, waiting `delay_ms` before each.
    public func serverStreamEcho(
        request: Request, response writer: ServerResponseWriter<Response>, context: ServerContext
    ) async throws {
        echoMetadata(context)
        try await recordingCancellation(tag: request.tag) {
            try await delay(request.delayMs)
            try failIfAsked(request)
            let message = response(payload: payload(for: request), context: context)
            for index in 0..<max(0, Int(request.responseCount)) {
                if index > 0 { try await delay(request.delayMs) }
                try await writer.write(message)
            }
        }
    }

    /// Answers each request as it arrives, with its payload (or `response_size` bytes)
    /// and the number of requests received so far.
    public func bidiEcho(
        requests: ServerRequestStream<Request>, response writer: ServerResponseWriter<Response>,
        context: ServerContext
    ) async throws {
        echoMetadata(context)
        var tag = ""
        do {
            var receivedMessages: Int32 = 0
            for try await request in requests {
                receivedMessages += 1
                if tag.isEmpty { tag = request.tag }
                try await delay(request.delayMs)
                try failIfAsked(request)
                var message = response(payload: payload(for: request), context: context)
                message.receivedMessages = receivedMessages
                try await writer.write(message)
            }
            try Task.checkCancellation()
        } catch {
            recordIfCancelled(tag: tag, error)
            throw error
        }
    }

    public func getStats(request: Sluice_Interop_V1_StatsRequest, context: ServerContext) async throws
        -> Sluice_Interop_V1_StatsResponse
    {
        let stats = transportStats()
        return .with {
            $0.cancelledTags = cancelled
            $0.maxBufferedStreamBytes = stats.maxBufferedStreamBytes
            $0.streamWindowBytes = stats.streamWindowBytes
            $0.activeCalls = stats.activeCalls
        }
    }

    // MARK: - Shared rules

    private func echoMetadata(_ context: ServerContext) {
        let metadata = context.requestMetadata
        context.addInitialMetadata(metadata.filter { $0.hasPrefix("x-echo-initial") })
        context.addTrailingMetadata(metadata.filter { $0.hasPrefix("x-echo-trailing") })
    }

    /// Waits, or throws CancellationError as soon as the call is cancelled.
    private func delay(_ milliseconds: Int32) async throws {
        if milliseconds > 0 { try await Task.sleep(for: .milliseconds(Int64(milliseconds))) }
    }

    private func failIfAsked(_ request: Request) throws {
        guard request.hasRespondWithStatus, request.respondWithStatus.code != 0 else { return }
        let status = request.respondWithStatus
        throw RPCError(StatusCode(rawValue: Int(status.code)) ?? .unknown, status.message)
    }

    private func recordingCancellation<T>(tag: String, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch {
            recordIfCancelled(tag: tag, error)
            throw error
        }
    }

    /// Records the tag when the handler failed because its call ended under it.
    private func recordIfCancelled(tag: String, _ error: any Error) {
        guard !tag.isEmpty, Task.isCancelled || error is CancellationError else { return }
        cancelledTags.withLock { $0.append(tag) }
    }

    private func response(payload: Data, context: ServerContext) -> Response {
        .with {
            $0.payload = payload
            $0.peerIdentity = context.peer?.description ?? ""
        }
    }

    private func payload(for request: Request) -> Data {
        request.responseSize > 0 ? EchoPayload.generated(count: Int(request.responseSize)) : request.payload
    }
}

/// The bytes of generated payloads: byte `i` is `i % 256`, as the Python reference
/// server makes them.
public enum EchoPayload {
    public static func generated(count: Int) -> Data {
        var bytes = [UInt8](repeating: 0, count: count)
        for index in bytes.indices { bytes[index] = UInt8(truncatingIfNeeded: index) }
        return Data(bytes)
    }
}
