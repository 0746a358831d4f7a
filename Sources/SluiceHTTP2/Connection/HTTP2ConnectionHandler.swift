import Logging
import NIOCore
import SluiceDuration
import SluiceOpenSSL
import SluiceRPC

/// One HTTP/2 connection on a NIO channel: moves bytes between the socket, OpenSSL (when
/// TLS is on) and nghttp2, and keeps the connection alive or closes it.
///
/// Lives on its channel's event loop; everything that reaches it from elsewhere hops there
/// first, which is what `@unchecked Sendable` relies on.
///
/// It keeps its `ChannelHandlerContext`, which keeps the handler: that cycle (and the
/// liveness timer) is broken when the channel goes inactive or the handler is removed, so a
/// closed connection leaves nothing behind.
// Safe because it is confined to its channel's event loop; callers elsewhere hop there first.
final class HTTP2ConnectionHandler: ChannelDuplexHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let session: HTTP2Session
    let eventLoop: EventLoop
    let logger: Logger
    private let role: ConnectionRole
    private let tls: TLSConnection?
    private let configuration: ConnectionConfiguration

    private var context: ChannelHandlerContext?
    private var plaintext: ByteBuffer
    private var isEstablished = false
    private var isClosing = false
    /// Set while nghttp2 parses input: its callbacks may ask for a flush, but nghttp2 must
    /// not serialize from inside its own callbacks, so the flush waits for the parse to end.
    private var isReceiving = false
    /// Set while nghttp2 serializes frames; a close asked for meanwhile (from a stream-close
    /// callback) waits until the frames already produced are written.
    private var isFlushing = false
    private var closeWhenIdle = false
    /// Set when a flush is asked for while one runs; the running one then makes another round.
    private var flushAgain = false
    /// Set once the connection was told to go away for misbehaving: what the peer still
    /// sends is read and dropped until the connection closes.
    private var isDiscardingInput = false
    private var connectedAt = NIODeadline.now()
    private var establishedAt = NIODeadline.now()
    private var lastHeard = NIODeadline.now()
    /// Whether the peer has sent a byte yet.
    private var heardAnything = false
    private var lastStreamActivity = NIODeadline.now()
    private var pingSentAt: NIODeadline?
    /// Since when the channel's request to read more is held back (see `read(context:)`).
    private var readHeldSince: NIODeadline?
    /// How long a held read waits at most: control frames (WINDOW_UPDATE, PING, RST_STREAM)
    /// arrive on the same socket, and a handler may be waiting for one.
    private static let longestReadHold = TimeAmount.seconds(1)
    private var timer: RepeatedTask?
    /// Small frames (WINDOW_UPDATE, SETTINGS, PING, headers) serialized in one flush,
    /// gathered so they travel in one TLS record rather than one record apiece.
    private var smallFrames: [UInt8] = []
    /// Frames shorter than this are gathered into `smallFrames`; longer ones (DATA) are
    /// encrypted where nghttp2 serialized them, without a copy.
    private static let smallFrameLimit = 1024

    /// The verified client certificate, once TLS is established.
    private(set) var peer: PeerIdentity?
    private(set) var remoteAddress: String?

    init(
        role: ConnectionRole, session: HTTP2Session, tls: TLSConnection?, configuration: ConnectionConfiguration,
        eventLoop: EventLoop, logger: Logger
    ) {
        self.role = role
        self.session = session
        self.tls = tls
        self.configuration = configuration
        self.eventLoop = eventLoop
        self.logger = logger
        self.plaintext = ByteBufferAllocator().buffer(capacity: 64 * 1024)
        session.delegate = role
        role.attach(to: self)
    }

    // MARK: Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        release()
    }

    /// Breaks the references that would keep a closed connection alive.
    private func release() {
        timer?.cancel()
        timer = nil
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        remoteAddress = context.remoteAddress?.description
        connectedAt = .now()
        let tick = TimeAmount.milliseconds(500)
        timer = context.eventLoop.scheduleRepeatedTask(initialDelay: tick, delay: tick) { [weak self] _ in
            self?.checkLiveness()
        }
        if tls == nil {
            establish()
        } else {
            processCiphertext()
        }
        flush()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !isDiscardingInput else { return }
        let buffer = unwrapInboundIn(data)
        lastHeard = .now()
        heardAnything = true
        if let tls {
            tls.receiveCiphertext(buffer)
            processCiphertext()
        } else {
            receivePlaintext(buffer)
        }
        flush()
        role.inputProcessed()
    }

    /// NIO asks to read more after every read; the role may hold that back (a busy server
    /// connection while the process holds too many unread request bytes).
    func read(context: ChannelHandlerContext) {
        if role.mayRead || isDiscardingInput {
            context.read()
        } else if readHeldSince == nil {
            readHeldSince = .now()
        }
    }

    /// Reads again if a read was held back.
    func resumeReading() {
        guard readHeldSince != nil, let context else { return }
        readHeldSince = nil
        context.read()
    }

    /// Request bytes of a stream arrived, or were taken or dropped.
    func unreadBytesChanged(by delta: Int) {
        role.unreadBytesChanged(by: delta)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { flush() }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        isClosing = true
        role.connectionClosed(error: RPCError(.unavailable, closedMessage))
        context.fireChannelInactive()
        release()
    }

    /// Why calls on a closed connection failed. A TLS server closes a connection that speaks
    /// plaintext HTTP/2 to it without a word, which the other side would otherwise take for
    /// an outage.
    private var closedMessage: String {
        tls == nil && !heardAnything
            ? "the connection was closed before the peer sent anything (a server that speaks TLS closes a "
                + "plaintext connection so)"
            : "the connection was closed"
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        logger.debug("connection error", metadata: ["peer": "\(remoteAddress ?? "?")", "error": "\(error)"])
        close()
    }

    // MARK: Bytes in

    private func processCiphertext() {
        guard let tls else { return }
        let wasEstablished = tls.isHandshakeComplete
        do {
            plaintext.clear()
            let outcome = try tls.readPlaintext(into: &plaintext)
            if !wasEstablished && tls.isHandshakeComplete {
                guard tls.negotiatedProtocol == "h2" else {
                    logger.info("refused a TLS client that did not negotiate h2",
                                metadata: ["peer": "\(remoteAddress ?? "?")"])
                    fail(RPCError(.unavailable, "the peer did not negotiate HTTP/2 (ALPN h2)"))
                    return
                }
                peer = tls.verifiedPeer.map(PeerIdentity.init)
                establish()
            }
            receivePlaintext(plaintext)
            if outcome == .closed && !tls.isHandshakeComplete {
                // close_notify before the handshake ended: a close, as a FIN or a reset then
                // is (a network cut, a server over its connection limit), not a refusal, which
                // comes as a fatal alert and fails below as "TLS failed". Worth another try.
                fail(RPCError(.unavailable, "the connection was closed during the TLS handshake"))
            } else if outcome == .closed {
                close()
            }
        } catch {
            logger.info("TLS failure", metadata: ["peer": "\(remoteAddress ?? "?")", "error": "\(error)"])
            fail(RPCError(.unavailable, "TLS failed: \(error)"))
        }
    }

    private func receivePlaintext(_ buffer: ByteBuffer) {
        guard buffer.readableBytes > 0, !isClosing else { return }
        isReceiving = true
        defer { isReceiving = false }
        do {
            try buffer.withUnsafeReadableBytes { bytes in
                try session.receive(bytes) {
                    // Not inside a callback here: nghttp2 returned, and resumes with the rest.
                    isReceiving = false
                    flush()
                    isReceiving = true
                }
            }
        } catch {
            isReceiving = false
            logger.info("HTTP/2 protocol error", metadata: ["peer": "\(remoteAddress ?? "?")", "error": "\(error)"])
            // nghttp2 has queued a GOAWAY explaining the error; the peer may still be sending.
            sendQueuedAndClose(RPCError(.unavailable, "HTTP/2 protocol error: \(error)"))
        }
    }

    private func establish() {
        isEstablished = true
        establishedAt = .now()
        role.connectionEstablished()
    }

    // MARK: Bytes out

    /// Sends every frame nghttp2 has ready (and TLS records) while the channel takes them;
    /// closes the connection once nghttp2 wants nothing more.
    ///
    /// Frames go out in rounds of at most ``flushRoundBytes``: serialized, encrypted and handed
    /// to the channel one round at a time, while the channel stays writable. A download on many
    /// streams has megabytes ready at once; serialized in one go they would sit in full in
    /// the TLS output buffer and again in the channel's, both of which keep their peak size.
    /// A round that leaves the channel unwritable stops the flush until it drains
    /// (``channelWritabilityChanged(context:)``).
    func flush() {
        guard !isReceiving, let context, context.channel.isActive else { return }
        guard !isFlushing else {
            // Asked from inside a round (the channel drained as it was written): the running
            // flush goes on with another round instead.
            flushAgain = true
            return
        }
        isFlushing = true
        defer { isFlushing = false }
        var more = false
        repeat {
            flushAgain = false
            var output = context.channel.allocator.buffer(capacity: 0)
            do {
                more = false
                if isEstablished && context.channel.isWritable {
                    more = try session.flush(upTo: Self.flushRoundBytes) { bytes in
                        guard let tls else {
                            output.writeBytes(bytes)
                            return
                        }
                        if bytes.count < Self.smallFrameLimit {
                            smallFrames.append(contentsOf: bytes)
                            if smallFrames.count < HTTP2SessionCallbacks.tlsRecordPayload { return }
                        }
                        try writeSmallFrames(to: tls)
                        if bytes.count >= Self.smallFrameLimit { try tls.writePlaintext(bytes) }
                    }
                    if let tls { try writeSmallFrames(to: tls) }
                }
                tls?.takeCiphertext(into: &output)
            } catch {
                isFlushing = false
                fail(RPCError(.unavailable, "cannot send: \(error)"))
                return
            }
            if output.readableBytes > 0 {
                context.writeAndFlush(wrapOutboundOut(output), promise: nil)
            }
        } while context.channel.isActive && (flushAgain || (more && context.channel.isWritable))
        isFlushing = false
        // A connection told to go away lingers (see `goAwayAndClose`) rather than closing
        // as soon as nghttp2 is done. So does a server connection that nghttp2 is done with
        // after a GOAWAY of its own (COMPRESSION_ERROR for a header block it cannot decode):
        // the client may still be sending the rest of that block.
        if closeWhenIdle {
            close()
        } else if isEstablished, !session.isActive, !isDiscardingInput {
            if session.role == .server {
                sendQueuedAndClose(RPCError(.unavailable, "the connection was closed"))
            } else {
                close()
            }
        }
    }

    /// The most frame bytes one round of ``flush()`` serializes: 256 KiB, sixteen full TLS
    /// records, enough that a round's system call is worth making.
    static let flushRoundBytes = 256 * 1024

    /// Encrypts the gathered small frames, in order, before whatever follows them.
    private func writeSmallFrames(to tls: TLSConnection) throws {
        guard !smallFrames.isEmpty else { return }
        try smallFrames.withUnsafeBytes { try tls.writePlaintext($0) }
        smallFrames.removeAll(keepingCapacity: true)
    }

    /// A stream has new outbound data or its end.
    func resume(streamID: Int32) {
        session.resumeData(streamID: streamID)
        flush()
    }

    // MARK: Lifetime

    /// Notes stream activity, which keeps an idle connection open.
    func streamActivity() {
        lastStreamActivity = .now()
    }

    func close() {
        guard !isReceiving, !isFlushing else {
            closeWhenIdle = true
            return
        }
        guard let context, !isClosing else { return }
        isClosing = true
        tls?.shutdown()
        var output = context.channel.allocator.buffer(capacity: 0)
        tls?.takeCiphertext(into: &output)
        if output.readableBytes > 0 { context.write(wrapOutboundOut(output), promise: nil) }
        context.flush()
        context.close(promise: nil)
    }

    private func fail(_ error: RPCError) {
        role.connectionClosed(error: error)
        close()
    }

    /// Sends GOAWAY so the peer opens no more streams; the connection closes once its open
    /// streams have finished.
    func goAway(_ errorCode: HTTP2ErrorCode = .noError) {
        session.submitGoAway(errorCode: errorCode)
        flush()
        if !role.hasOpenStreams { close() }
    }

    /// Sends GOAWAY with `errorCode`, cancels every call and closes the connection a moment
    /// later. Meanwhile what the peer still sends is read and dropped: closing at once,
    /// with its bytes unread, would make the kernel reset the connection, and the peer
    /// would never see the GOAWAY that tells it why.
    func goAwayAndClose(_ errorCode: HTTP2ErrorCode) {
        session.submitGoAway(errorCode: errorCode)
        sendQueuedAndClose(RPCError(.unavailable, "the connection was closed (\(errorCode))"))
    }

    /// Sends the frames queued (a GOAWAY), ends every call with `error` and closes the
    /// connection after lingering as `goAwayAndClose` describes.
    private func sendQueuedAndClose(_ error: RPCError) {
        isDiscardingInput = true
        flush()
        role.connectionClosed(error: error)
        eventLoop.scheduleTask(in: Self.lingerBeforeClose) { [weak self] in self?.close() }
    }

    /// How long a connection told to go away for misbehaving lingers before it closes.
    static let lingerBeforeClose = TimeAmount.seconds(1)

    /// Warns the peer that the connection will go away (first half of a graceful shutdown).
    func shutdownNotice() {
        if session.role == .server { session.submitShutdownNotice() }
        flush()
    }

    private func checkLiveness() {
        guard !isClosing else { return }
        let now = NIODeadline.now()
        guard isEstablished else {
            if now - connectedAt > TimeAmount(configuration.handshakeTimeout) {
                logger.info("closing a connection that did not complete its handshake",
                            metadata: ["peer": "\(remoteAddress ?? "?")"])
                fail(RPCError(.unavailable, "the TLS handshake timed out"))
            }
            return
        }
        if session.role == .server, !session.hasReceivedPeerSettings,
           now - establishedAt > TimeAmount(configuration.prefaceTimeout) {
            logger.info("closing a connection that sent no HTTP/2 preface",
                        metadata: ["peer": "\(remoteAddress ?? "?")"])
            fail(RPCError(.unavailable, "the HTTP/2 connection preface timed out"))
            return
        }
        role.checkStreams(now: now)
        if let held = readHeldSince, role.mayRead || now - held >= Self.longestReadHold { resumeReading() }
        if let pingSentAt, now - pingSentAt > TimeAmount(configuration.keepaliveTimeout) {
            logger.info("closing a connection whose keepalive PING went unanswered",
                        metadata: ["peer": "\(remoteAddress ?? "?")"])
            fail(RPCError(.unavailable, "keepalive timeout"))
            return
        }
        if pingSentAt == nil, now - lastHeard > TimeAmount(configuration.keepaliveInterval) {
            pingSentAt = now
            session.submitPing()
            flush()
        }
        if session.role == .server, !role.hasOpenStreams,
           now - lastStreamActivity > TimeAmount(configuration.idleTimeout) {
            logger.debug("closing an idle connection", metadata: ["peer": "\(remoteAddress ?? "?")"])
            goAway()
        }
    }

    /// The peer answered our PING.
    func pingAcknowledged() {
        pingSentAt = nil
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        self = .nanoseconds(duration.inNanoseconds)
    }
}
