import CNGHTTP2
import SluiceRPC

/// An nghttp2 session with Swift types on top: bytes in through `receive`, bytes out
/// through `flush`, events out through the delegate, frames in through `submit…`.
///
/// nghttp2 does the framing, HPACK, stream states and flow control. Automatic
/// WINDOW_UPDATEs are off: window is handed back only by `consume`, when the
/// application has taken the bytes, so memory per stream stays bounded by the window.
/// Not thread-safe: a session lives on its connection's event loop.
final class HTTP2Session {
    enum Role { case server, client }

    let role: Role
    let settings: HTTP2Settings
    weak var delegate: HTTP2SessionDelegate?
    private(set) var session: OpaquePointer!
    /// The header block being received, if any.
    var pendingHeaders: PendingHeaderBlock?
    /// Set by a header callback that paused parsing so that frames it queued are sent
    /// before the rest of the input is parsed (see `HTTP2SessionCallbacks.onHeader`).
    var isPausedForFlush = false
    /// Set once the peer's first SETTINGS frame (the end of its connection preface) arrived.
    var hasReceivedPeerSettings = false
    /// Set until the server's first SETTINGS frame has been serialized (see `flush`).
    private var advertisedStreamLimitPending: Bool
    /// Grows the stream window on long links; nil when it is fixed.
    private var windowTuner: ReceiveWindowTuner?
    /// The opaque data of the PINGs that measure the round trip for `windowTuner`, told apart
    /// from keepalive PINGs (all zeros) by it.
    static let measuringPingData: [UInt8] = Array("sluiceRT".utf8)

    /// How many more concurrent streams nghttp2 allows than a server advertises.
    ///
    /// nghttp2 treats a HEADERS frame past its own limit as a connection error (GOAWAY
    /// PROTOCOL_ERROR), which would kill every live call of a client that opens one stream
    /// too many. RFC 9113 section 5.1.2 allows refusing just that stream, as gRPC servers do
    /// (REFUSED_STREAM, which clients retry). So nghttp2 is configured with this headroom,
    /// the advertised limit is written into the SETTINGS frame as it leaves, and the
    /// connection refuses streams past the advertised limit itself. The headroom covers the
    /// streams a peer can open in one read before the refusals are sent; a peer that opens
    /// more at once than that is flooding, and the connection error is the right answer.
    static let streamLimitHeadroom = 4096

    init(role: Role, settings: HTTP2Settings) throws {
        self.role = role
        self.settings = settings
        self.advertisedStreamLimitPending = role == .server
        let windowLimit = min(settings.maxStreamWindowSize ?? 0, settings.connectionWindowSize)
        if windowLimit > settings.streamWindowSize {
            windowTuner = ReceiveWindowTuner(window: settings.streamWindowSize, limit: windowLimit)
        }
        var callbacks: OpaquePointer?
        guard nghttp2_session_callbacks_new(&callbacks) == 0, let callbacks else {
            throw HTTP2SessionError("cannot allocate nghttp2 callbacks")
        }
        defer { nghttp2_session_callbacks_del(callbacks) }
        HTTP2SessionCallbacks.install(into: callbacks)

        var option: OpaquePointer?
        guard nghttp2_option_new(&option) == 0, let option else { throw HTTP2SessionError("cannot allocate nghttp2 options") }
        defer { nghttp2_option_del(option) }
        nghttp2_option_set_no_auto_window_update(option, 1)
        nghttp2_option_set_peer_max_concurrent_streams(option, UInt32(settings.maxConcurrentStreams))

        var created: OpaquePointer?
        let userData = Unmanaged.passUnretained(self).toOpaque()
        let result = role == .server
            ? nghttp2_session_server_new2(&created, callbacks, userData, option)
            : nghttp2_session_client_new2(&created, callbacks, userData, option)
        guard result == 0, let created else { throw HTTP2SessionError("cannot create nghttp2 session", result) }
        session = created

        let streamLimit = role == .server
            ? settings.maxConcurrentStreams + Self.streamLimitHeadroom : settings.maxConcurrentStreams
        let entries: [(nghttp2_settings_id, Int)] = [
            (NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, streamLimit),
            (NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, settings.streamWindowSize),
            (NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, settings.maxHeaderListSize),
            (NGHTTP2_SETTINGS_MAX_FRAME_SIZE, settings.maxFrameSize),
            (NGHTTP2_SETTINGS_ENABLE_PUSH, 0),
        ]
        let settingsList = entries
            .filter { role == .client || $0.0 != NGHTTP2_SETTINGS_ENABLE_PUSH }
            .map { nghttp2_settings_entry(settings_id: Int32($0.0.rawValue), value: UInt32($0.1)) }
        try check(nghttp2_submit_settings(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), settingsList, settingsList.count),
                  "submitting SETTINGS")
        try check(nghttp2_session_set_local_window_size(
            session, UInt8(NGHTTP2_FLAG_NONE.rawValue), 0, Int32(settings.connectionWindowSize)),
                  "setting the connection window")
    }

    deinit { nghttp2_session_del(session) }

    /// Parses bytes from the peer; events reach the delegate before this returns. Where a
    /// callback paused parsing (see `isPausedForFlush`), `flush` runs, then parsing goes on.
    func receive(_ bytes: UnsafeRawBufferPointer, flush: () -> Void) throws {
        guard var next = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return }
        var left = bytes.count
        while left > 0 {
            let consumed = nghttp2_session_mem_recv(session, next, left)
            if consumed < 0 { throw HTTP2SessionError("the peer broke the HTTP/2 protocol", Int32(consumed)) }
            next += consumed
            left -= consumed
            // Unless paused, nghttp2 has taken every byte.
            guard isPausedForFlush else { return }
            isPausedForFlush = false
            flush()
        }
    }

    /// Serializes the frames that are ready into `write`, as nghttp2 produces them, until none
    /// is left or `limit` bytes have gone out. Returns whether it stopped at the limit (more
    /// frames may be ready; nghttp2 carries on from there on the next call).
    func flush(upTo limit: Int, _ write: (UnsafeRawBufferPointer) throws -> Void) throws -> Bool {
        var written = 0
        while written < limit {
            var data: UnsafePointer<UInt8>?
            let length = nghttp2_session_mem_send(session, &data)
            if length < 0 { throw HTTP2SessionError("cannot serialize frames", Int32(length)) }
            guard length > 0, let data else { return false }
            written += length
            let frame = UnsafeRawBufferPointer(start: data, count: length)
            if advertisedStreamLimitPending {
                advertisedStreamLimitPending = false
                try advertisingStreamLimit(in: frame).withUnsafeBytes { try write($0) }
            } else {
                try write(frame)
            }
        }
        return true
    }

    /// A copy of the server's first SETTINGS frame whose SETTINGS_MAX_CONCURRENT_STREAMS
    /// entry carries the configured limit rather than nghttp2's (see `streamLimitHeadroom`).
    /// It is the first frame a server session produces: the server connection preface.
    private func advertisingStreamLimit(in frame: UnsafeRawBufferPointer) -> [UInt8] {
        var bytes = [UInt8](frame)
        let headerLength = 9
        let entryLength = 6
        guard bytes.count >= headerLength, bytes[3] == UInt8(NGHTTP2_SETTINGS.rawValue) else { return bytes }
        let payloadLength = Int(bytes[0]) << 16 | Int(bytes[1]) << 8 | Int(bytes[2])
        let end = min(bytes.count, headerLength + payloadLength)
        let limit = UInt32(settings.maxConcurrentStreams)
        var offset = headerLength
        while offset + entryLength <= end {
            let identifier = Int32(bytes[offset]) << 8 | Int32(bytes[offset + 1])
            if identifier == Int32(NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS.rawValue) {
                bytes[offset + 2] = UInt8(truncatingIfNeeded: limit >> 24)
                bytes[offset + 3] = UInt8(truncatingIfNeeded: limit >> 16)
                bytes[offset + 4] = UInt8(truncatingIfNeeded: limit >> 8)
                bytes[offset + 5] = UInt8(truncatingIfNeeded: limit)
            }
            offset += entryLength
        }
        return bytes
    }

    /// Whether the session still has work: when neither side wants anything, the
    /// connection can be closed.
    var isActive: Bool { nghttp2_session_want_read(session) != 0 || nghttp2_session_want_write(session) != 0 }

    /// Hands `count` bytes of window back to the peer (stream and connection).
    func consume(streamID: Int32, count: Int) {
        guard count > 0 else { return }
        if nghttp2_session_consume(session, streamID, count) != 0 {
            // The stream is already closed; the connection window must still be returned.
            nghttp2_session_consume_connection(session, count)
        }
    }

    /// Hands `count` bytes of the connection's window back; nghttp2 tells the peer once half
    /// of it is consumed. The stream's own window is the caller's to announce
    /// (``announceStreamWindow(streamID:count:)``).
    func consumeConnection(count: Int) {
        guard count > 0 else { return }
        nghttp2_session_consume_connection(session, count)
    }

    /// Tells the peer at once that `count` bytes of the stream were taken (a WINDOW_UPDATE).
    /// They were received on the stream and never announced, and never handed to `consume`
    /// (whose count of bytes to announce this update would otherwise eat into): the update
    /// only returns their window, never grows it.
    func announceStreamWindow(streamID: Int32, count: Int) {
        guard count > 0, nghttp2_session_find_stream(session, streamID) != nil else { return }
        nghttp2_submit_window_update(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), streamID, Int32(clamping: count))
    }

    /// The stream's receive window now in force (it grows: see `ReceiveWindowTuner`).
    func streamWindow(streamID: Int32) -> Int {
        Int(nghttp2_session_get_stream_effective_local_window_size(session, streamID))
    }

    /// Sends response headers; with `data`, a body follows from it, otherwise the headers
    /// end the stream.
    func submitResponse(streamID: Int32, headers: [HeaderField], hasBody: Bool) throws {
        var provider = Self.dataProvider()
        let result = HeaderBlock.withNameValues(headers) { nameValues, count in
            hasBody
                ? nghttp2_submit_response(session, streamID, nameValues, count, &provider)
                : nghttp2_submit_response(session, streamID, nameValues, count, nil)
        }
        try check(result, "submitting response headers")
    }

    /// Opens a client stream whose body is pulled from the delegate's outbound data.
    func submitRequest(headers: [HeaderField]) throws -> Int32 {
        var provider = Self.dataProvider()
        let streamID = HeaderBlock.withNameValues(headers) { nameValues, count in
            nghttp2_submit_request(session, nil, nameValues, count, &provider, nil)
        }
        try check(streamID, "opening a stream")
        return streamID
    }

    func submitTrailers(streamID: Int32, trailers: [HeaderField]) throws {
        let result = HeaderBlock.withNameValues(trailers) { nameValues, count in
            nghttp2_submit_trailer(session, streamID, nameValues, count)
        }
        try check(result, "submitting trailers")
    }

    func submitReset(streamID: Int32, errorCode: HTTP2ErrorCode) {
        _ = nghttp2_submit_rst_stream(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), streamID, errorCode.rawValue)
    }

    /// The bytes this side may send on a stream now: the smaller of the stream's and the
    /// connection's flow-control windows the peer granted (0 for an unknown stream).
    func remoteWindow(streamID: Int32) -> Int {
        Int(max(0, nghttp2_session_get_stream_remote_window_size(session, streamID)))
    }

    /// Tells nghttp2 that a deferred stream has data (or its end) to send.
    func resumeData(streamID: Int32) {
        _ = nghttp2_session_resume_data(session, streamID)
    }

    /// Sends a keepalive PING (opaque data all zeros).
    func submitPing() {
        _ = nghttp2_submit_ping(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), nil)
    }

    // MARK: Receive window

    /// Data bytes of a stream arrived (before the delegate hears of them).
    func dataReceived(_ count: Int) {
        guard windowTuner?.received(count, at: .now) == true else { return }
        _ = Self.measuringPingData.withUnsafeBufferPointer {
            nghttp2_submit_ping(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), $0.baseAddress)
        }
    }

    /// A PING of ours came back: a measuring one may grow the stream window; a keepalive one
    /// goes to the delegate.
    func pingAcknowledged(opaqueData: [UInt8]) {
        guard opaqueData == Self.measuringPingData else {
            delegate?.sessionReceivedPingAck(self)
            return
        }
        let unread = delegate?.unreadInboundBytes ?? 0
        guard let window = windowTuner?.pingAcknowledged(at: .now, unreadBytes: unread) else { return }
        let entry = nghttp2_settings_entry(
            settings_id: Int32(NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE.rawValue), value: UInt32(window))
        // Should nghttp2 refuse the frame (out of memory), the tuner counts a window larger than
        // the one in force: it then grows later than it could, never past what was announced.
        guard withUnsafePointer(to: entry, { nghttp2_submit_settings(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), $0, 1) }) == 0
        else { return }
        delegate?.session(self, streamWindowGrewTo: window)
    }

    /// A SETTINGS frame of ours left (`acknowledged` false) or the peer acknowledged one: the
    /// pair times a round trip for the window tuner.
    func settingsExchanged(acknowledged: Bool) {
        if acknowledged {
            windowTuner?.settingsAcknowledged(at: .now)
        } else {
            windowTuner?.settingsSent(at: .now)
        }
    }

    /// First step of a graceful shutdown (server): GOAWAY with the maximum stream id,
    /// warning the client to open no new streams.
    func submitShutdownNotice() {
        _ = nghttp2_submit_shutdown_notice(session)
    }

    /// GOAWAY naming the last stream that will be processed.
    func submitGoAway(errorCode: HTTP2ErrorCode) {
        let lastStreamID = nghttp2_session_get_last_proc_stream_id(session)
        _ = nghttp2_submit_goaway(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), lastStreamID, errorCode.rawValue, nil, 0)
    }

    /// Whether a new request may be opened (false once the peer sent GOAWAY). Requests past
    /// the peer's concurrent stream limit are queued by nghttp2, not refused.
    var canOpenStream: Bool { nghttp2_session_check_request_allowed(session) != 0 }

    private static func dataProvider() -> nghttp2_data_provider {
        nghttp2_data_provider(source: nghttp2_data_source(ptr: nil), read_callback: HTTP2SessionCallbacks.readData)
    }

    private func check(_ result: Int32, _ operation: String) throws {
        if result < 0 { throw HTTP2SessionError(operation, result) }
    }
}

/// A failed nghttp2 call, with nghttp2's own description of the error code.
struct HTTP2SessionError: Error, CustomStringConvertible {
    let description: String

    init(_ operation: String, _ code: Int32? = nil) {
        if let code {
            description = "\(operation): \(String(cString: nghttp2_strerror(code)))"
        } else {
            description = operation
        }
    }
}
