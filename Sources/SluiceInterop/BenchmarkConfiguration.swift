/// What one `sluice-interop bench` run measures, over one connection to an EchoService server.
///
/// Every run stops by itself: uploads and downloads after `totalBytes` (or `maxDuration`,
/// whichever comes first), unary calls after `maxDuration`.
public struct BenchmarkConfiguration: Sendable {
    /// The call kind a run repeats.
    public enum Mode: String, Sendable, CaseIterable {
        /// UnaryEcho with a small payload, as many calls as fit in the duration.
        case unary
        /// ClientStreamEcho: each stream sends `messageSize`-byte messages; the server
        /// answers with the bytes it received.
        case upload
        /// ServerStreamEcho: each call asks for `messageSize`-byte responses.
        case download
    }

    public var mode: Mode
    /// Concurrent callers (unary) or concurrent streams (upload, download), all on one
    /// connection.
    public var streams: Int
    /// Payload bytes moved in all, over every stream (upload, download).
    public var totalBytes: Int64
    /// Payload bytes per message.
    public var messageSize: Int
    /// The longest a run may take; unary runs take exactly this long.
    public var maxDuration: Duration
    /// A deadline for every call (sent as grpc-timeout); nil sends none, so neither side
    /// pays for a timer per call.
    public var callTimeout: Duration?

    public init(
        mode: Mode, streams: Int, totalBytes: Int64, messageSize: Int, maxDuration: Duration,
        callTimeout: Duration? = nil
    ) {
        self.mode = mode
        self.streams = streams
        self.totalBytes = totalBytes
        self.messageSize = messageSize
        self.maxDuration = maxDuration
        self.callTimeout = callTimeout
    }

    /// The payload size a mode uses unless told otherwise: small for unary calls, 1 MiB for
    /// bulk transfers.
    public static func defaultMessageSize(for mode: Mode) -> Int {
        mode == .unary ? 64 : 1024 * 1024
    }

    /// Messages a bulk run moves: `totalBytes` in whole messages, at least one.
    var totalMessages: Int {
        max(1, Int((totalBytes + Int64(messageSize) - 1) / Int64(messageSize)))
    }
}
