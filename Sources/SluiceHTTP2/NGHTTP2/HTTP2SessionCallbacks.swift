import CNGHTTP2
import SluiceRPC

/// The C callbacks nghttp2 calls while parsing and serializing. Each one recovers its
/// `HTTP2Session` from nghttp2's user data and turns C frames into Swift events.
enum HTTP2SessionCallbacks {
    static func install(into callbacks: OpaquePointer) {
        nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks, onBeginHeaders)
        nghttp2_session_callbacks_set_on_header_callback(callbacks, onHeader)
        nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, onFrameReceived)
        nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, onDataChunk)
        nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, onStreamClose)
        nghttp2_session_callbacks_set_on_frame_send_callback(callbacks, onFrameSent)
        nghttp2_session_callbacks_set_on_frame_not_send_callback(callbacks, onFrameNotSent)
        nghttp2_session_callbacks_set_on_invalid_frame_recv_callback(callbacks, onInvalidFrame)
        nghttp2_session_callbacks_set_data_source_read_length_callback(callbacks, dataFrameLength)
    }

    private static func session(_ userData: UnsafeMutableRawPointer?) -> HTTP2Session {
        Unmanaged<HTTP2Session>.fromOpaque(userData!).takeUnretainedValue()
    }

    private static let onBeginHeaders: nghttp2_on_begin_headers_callback = { _, frame, userData in
        guard let frame else { return 0 }
        session(userData).pendingHeaders = PendingHeaderBlock(streamID: frame.pointee.hd.stream_id)
        return 0
    }

    /// Past `PendingHeaderBlock.abandonFactor` times the header list limit, the block is
    /// handed to the delegate before its end, as an oversized one (the server answers it
    /// RESOURCE_EXHAUSTED), and parsing pauses so that answer is sent at once: a server's
    /// trailers-only answer closes the stream, and nghttp2 then decodes the rest of the
    /// block only to keep its HPACK table in step, without validating and handing over
    /// each field. Should the stream still be open when parsing resumes (output backed
    /// up), the next field ends it the blunt way: nghttp2 resets it (INTERNAL_ERROR).
    private static let onHeader: nghttp2_on_header_callback = { _, frame, name, nameLength, value, valueLength, _, userData in
        guard let frame, let name, let value else { return 0 }
        let owner = session(userData)
        guard let pending = owner.pendingHeaders, pending.streamID == frame.pointee.hd.stream_id else { return 0 }
        let keepGoing = pending.add(nameLength: nameLength, valueLength: valueLength, limit: owner.settings.maxHeaderListSize) {
            HeaderBlock.field(name: name, nameLength: nameLength, value: value, valueLength: valueLength)
        }
        if keepGoing { return 0 }
        guard pending.isDelivered else {
            pending.isDelivered = true
            deliver(pending, of: frame.pointee, to: owner)
            owner.isPausedForFlush = true
            return Int32(NGHTTP2_ERR_PAUSE.rawValue)
        }
        owner.pendingHeaders = nil
        owner.delegate?.session(owner, streamReset: pending.streamID, errorCode: .internalError, byPeer: false)
        return Int32(NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE.rawValue)
    }

    /// Hands a header block to the delegate: complete, or oversized (its fields dropped).
    private static func deliver(_ pending: PendingHeaderBlock?, of frame: nghttp2_frame, to owner: HTTP2Session) {
        let kind: HeaderBlockKind
        switch frame.headers.cat {
        case NGHTTP2_HCAT_REQUEST: kind = .request
        case NGHTTP2_HCAT_RESPONSE: kind = .response
        default: kind = .trailers
        }
        owner.delegate?.session(
            owner, receivedHeaders: pending?.fields ?? [], kind: kind, streamID: frame.hd.stream_id,
            endStream: frame.hd.flags & UInt8(NGHTTP2_FLAG_END_STREAM.rawValue) != 0,
            oversized: pending?.oversized ?? false)
    }

    private static let onFrameReceived: nghttp2_on_frame_recv_callback = { _, frame, userData in
        guard let frame else { return 0 }
        let owner = session(userData)
        let header = frame.pointee.hd
        let endStream = header.flags & UInt8(NGHTTP2_FLAG_END_STREAM.rawValue) != 0
        switch UInt32(header.type) {
        case NGHTTP2_HEADERS.rawValue:
            let pending = owner.pendingHeaders?.streamID == header.stream_id ? owner.pendingHeaders : nil
            owner.pendingHeaders = nil
            if pending?.isDelivered != true { deliver(pending, of: frame.pointee, to: owner) }
        case NGHTTP2_DATA.rawValue where endStream:
            owner.delegate?.session(owner, receivedEndOfStream: header.stream_id)
        case NGHTTP2_GOAWAY.rawValue:
            let code = HTTP2ErrorCode(rawValue: frame.pointee.goaway.error_code) ?? .internalError
            owner.delegate?.session(owner, receivedGoAway: frame.pointee.goaway.last_stream_id, errorCode: code)
        case NGHTTP2_PING.rawValue where header.flags & UInt8(NGHTTP2_FLAG_ACK.rawValue) != 0:
            let opaque = withUnsafeBytes(of: frame.pointee.ping.opaque_data) { Array($0) }
            owner.pingAcknowledged(opaqueData: opaque)
        case NGHTTP2_SETTINGS.rawValue where header.flags & UInt8(NGHTTP2_FLAG_ACK.rawValue) == 0:
            owner.hasReceivedPeerSettings = true
            owner.delegate?.sessionReceivedSettings(owner)
        case NGHTTP2_SETTINGS.rawValue:
            owner.settingsExchanged(acknowledged: true)
        case NGHTTP2_WINDOW_UPDATE.rawValue:
            owner.delegate?.session(owner, windowUpdated: header.stream_id)
        case NGHTTP2_RST_STREAM.rawValue:
            let code = HTTP2ErrorCode(rawValue: frame.pointee.rst_stream.error_code) ?? .internalError
            owner.delegate?.session(owner, streamReset: header.stream_id, errorCode: code, byPeer: true)
        default:
            break
        }
        return 0
    }

    private static let onDataChunk: nghttp2_on_data_chunk_recv_callback = { _, _, streamID, data, length, userData in
        guard let data, length > 0 else { return 0 }
        let owner = session(userData)
        owner.dataReceived(length)
        owner.delegate?.session(owner, receivedData: Array(UnsafeBufferPointer(start: data, count: length)), streamID: streamID)
        return 0
    }

    private static let onStreamClose: nghttp2_on_stream_close_callback = { _, streamID, errorCode, userData in
        let owner = session(userData)
        if owner.pendingHeaders?.streamID == streamID { owner.pendingHeaders = nil }
        owner.delegate?.session(owner, closedStream: streamID, errorCode: HTTP2ErrorCode(rawValue: errorCode) ?? .internalError)
        return 0
    }

    /// A frame the peer sent broke the protocol for its stream; nghttp2 resets the stream.
    /// Reported when it is received, not when the reset is sent: a peer that does not read
    /// would otherwise keep those resets from ever counting (MadeYouReset provokes them).
    private static let onInvalidFrame: nghttp2_on_invalid_frame_recv_callback = { _, frame, libErrorCode, userData in
        guard let frame, frame.pointee.hd.stream_id != 0 else { return 0 }
        let owner = session(userData)
        let code: HTTP2ErrorCode = libErrorCode == NGHTTP2_ERR_FLOW_CONTROL.rawValue ? .flowControlError : .protocolError
        owner.delegate?.session(owner, streamReset: frame.pointee.hd.stream_id, errorCode: code, byPeer: false)
        return 0
    }

    /// A SETTINGS frame left (the window tuner times its acknowledgement). A server that has
    /// ended its side of a stream while the client is still sending resets it with NO_ERROR,
    /// so the client stops sending (RFC 9113 section 8.1).
    private static let onFrameSent: nghttp2_on_frame_send_callback = { rawSession, frame, userData in
        guard let frame else { return 0 }
        let owner = session(userData)
        let header = frame.pointee.hd
        let type = UInt32(header.type)
        if type == NGHTTP2_SETTINGS.rawValue, header.flags & UInt8(NGHTTP2_FLAG_ACK.rawValue) == 0 {
            owner.settingsExchanged(acknowledged: false)
        }
        guard owner.role == .server else { return 0 }
        let endStream = header.flags & UInt8(NGHTTP2_FLAG_END_STREAM.rawValue) != 0
        if endStream, type == NGHTTP2_HEADERS.rawValue || type == NGHTTP2_DATA.rawValue,
           nghttp2_session_get_stream_remote_close(rawSession, header.stream_id) == 0 {
            session(userData).submitReset(streamID: header.stream_id, errorCode: .noError)
        }
        return 0
    }

    /// A frame nghttp2 gave up on before sending it. For a response's headers or trailers (a
    /// header block too large to encode, say) nghttp2 drops the frame and leaves the stream
    /// open, so the peer would wait for an end that never comes: the stream is reset instead.
    /// A request's HEADERS that fail close their stream within nghttp2 already.
    private static let onFrameNotSent: nghttp2_on_frame_not_send_callback = { _, frame, _, userData in
        guard let frame, UInt32(frame.pointee.hd.type) == NGHTTP2_HEADERS.rawValue,
              frame.pointee.headers.cat != NGHTTP2_HCAT_REQUEST
        else { return 0 }
        session(userData).submitReset(streamID: frame.pointee.hd.stream_id, errorCode: .internalError)
        return 0
    }

    /// The largest TLS record's plaintext (RFC 8446 section 5.1).
    static let tlsRecordPayload = 16 * 1024

    /// The payload length of the DATA frames nghttp2 builds: as many whole TLS records as
    /// the peer's frame size allows, less the 9-byte frame header. A frame of exactly
    /// 16 KiB of payload is 16,393 bytes and costs a second TLS record for its last 9 bytes;
    /// 16,375 fills one record exactly (nghttp2 then caps it by the flow-control window).
    private static let dataFrameLength: nghttp2_data_source_read_length_callback = { _, _, _, _, _, maxFrameSize, _ in
        let headerLength = 9
        let records = max(1, (Int(maxFrameSize) + headerLength) / tlsRecordPayload)
        return ssize_t(min(Int(maxFrameSize), records * tlsRecordPayload - headerLength))
    }

    /// The data provider's read callback: copies queued body bytes into nghttp2's frame
    /// buffer, defers when none are queued, and ends the stream (with trailers) when the
    /// queue is complete.
    static let readData: nghttp2_data_source_read_callback = { _, streamID, buffer, length, flags, _, userData in
        let owner = session(userData)
        guard let outbound = owner.delegate?.session(owner, outboundDataFor: streamID), let buffer, let flags else {
            return ssize_t(NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE.rawValue)
        }
        let written = outbound.take(into: UnsafeMutableRawBufferPointer(start: buffer, count: length))
        if written > 0 { owner.delegate?.session(owner, drainedOutboundOf: streamID) }
        if outbound.bufferedBytes == 0 && outbound.isComplete {
            flags.pointee |= UInt32(NGHTTP2_DATA_FLAG_EOF.rawValue)
            if let trailers = outbound.trailers {
                flags.pointee |= UInt32(NGHTTP2_DATA_FLAG_NO_END_STREAM.rawValue)
                do {
                    try owner.submitTrailers(streamID: streamID, trailers: trailers)
                } catch {
                    // Without its trailers the stream would never end for the peer.
                    owner.submitReset(streamID: streamID, errorCode: .internalError)
                }
            }
            return ssize_t(written)
        }
        if written == 0 { return ssize_t(NGHTTP2_ERR_DEFERRED.rawValue) }
        return ssize_t(written)
    }
}
