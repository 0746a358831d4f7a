#if canImport(Glibc)
import Glibc
#endif
import Logging
import NIOCore

/// Stops a listener from accepting for ``pause`` after an accept failed for want of a resource
/// (EMFILE, ENFILE, ENOBUFS, ENOMEM: every descriptor of the process or the system taken), then
/// accepts again. Without it the event loop spins: the waiting connection keeps the listening
/// socket readable, and NIO keeps it registered for reading after a failed accept, so accept is
/// called again at once, failing, on one core at 100 % until a descriptor is free. (NIO's
/// `AcceptBackoffHandler` only holds back the next `read`, which a failed accept never asks
/// for, so the socket stays registered.) Turning `autoRead` off unregisters the socket until
/// the pause ends. Add it to a listener's server channel, before NIO's accept handler.
public final class AcceptPause: ChannelInboundHandler, RemovableChannelHandler {
    public typealias InboundIn = Channel

    /// How long accepting stops after such a failure.
    public static let pause: TimeAmount = .seconds(1)

    private let listener: String
    private let logger: Logger
    private var resume: Scheduled<Void>?

    /// `listener` names the listener in the log line each pause writes.
    public init(listener: String, logger: Logger) {
        self.listener = listener
        self.logger = logger
    }

    public func errorCaught(context: ChannelHandlerContext, error: Error) {
        if resume == nil, let failure = error as? IOError, Self.isShortage(failure.errnoCode) {
            logger.warning("accepting failed for want of a resource; paused", metadata: [
                "listener": "\(listener)", "error": "\(failure)", "pause_s": "\(Self.pause.nanoseconds / 1_000_000_000)",
            ])
            let channel = context.channel
            try? channel.syncOptions?.setOption(.autoRead, value: false)
            let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
            resume = context.eventLoop.scheduleTask(in: Self.pause) {
                handler.value.resume = nil
                try? channel.syncOptions?.setOption(.autoRead, value: true)
            }
        }
        context.fireErrorCaught(error)
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        resume?.cancel()
        resume = nil
    }

    private static func isShortage(_ code: Int32) -> Bool {
        [EMFILE, ENFILE, ENOBUFS, ENOMEM].contains(code)
    }
}
