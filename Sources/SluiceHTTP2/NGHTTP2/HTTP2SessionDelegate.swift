import SluiceRPC

/// What kind of header block arrived, as nghttp2 classifies it.
enum HeaderBlockKind {
    /// The request head that opens a stream (server side).
    case request
    /// The response head (client side).
    case response
    /// A later block: trailers.
    case trailers
}

/// Receives the events nghttp2 parses from the peer. Every call happens synchronously
/// inside `HTTP2Session.receive` or `HTTP2Session.flush`, on the connection's event loop.
protocol HTTP2SessionDelegate: AnyObject {
    /// A complete header block. `oversized` is set when it passed the header list limit;
    /// its fields were then dropped.
    func session(_ session: HTTP2Session, receivedHeaders fields: [HeaderField], kind: HeaderBlockKind,
                 streamID: Int32, endStream: Bool, oversized: Bool)
    /// Body bytes of a stream. They count against the receive window until consumed.
    func session(_ session: HTTP2Session, receivedData bytes: [UInt8], streamID: Int32)
    /// The peer ended its side of a stream with a DATA frame.
    func session(_ session: HTTP2Session, receivedEndOfStream streamID: Int32)
    /// A stream closed, normally (`.noError`) or by a reset from either side.
    func session(_ session: HTTP2Session, closedStream streamID: Int32, errorCode: HTTP2ErrorCode)
    /// The outbound data of a stream, pulled whenever the peer's window allows.
    func session(_ session: HTTP2Session, outboundDataFor streamID: Int32) -> OutboundData?
    /// nghttp2 took bytes from a stream's outbound data; writers waiting for room may go on.
    func session(_ session: HTTP2Session, drainedOutboundOf streamID: Int32)
    /// A RST_STREAM was received (`byPeer`), or nghttp2 is resetting a stream because of a
    /// frame the peer sent; either precedes the stream's close.
    func session(_ session: HTTP2Session, streamReset streamID: Int32, errorCode: HTTP2ErrorCode, byPeer: Bool)
    /// The peer granted window on a stream, or on the whole connection (stream 0).
    func session(_ session: HTTP2Session, windowUpdated streamID: Int32)
    /// The peer announced it will close the connection after `lastStreamID`.
    func session(_ session: HTTP2Session, receivedGoAway lastStreamID: Int32, errorCode: HTTP2ErrorCode)
    /// The peer acknowledged a keepalive PING.
    func sessionReceivedPingAck(_ session: HTTP2Session)
    /// The peer's SETTINGS arrived (its limits, such as concurrent streams, are now known).
    func sessionReceivedSettings(_ session: HTTP2Session)
    /// The stream receive window grew (see `ReceiveWindowTuner`); the SETTINGS frame that
    /// announces it is queued.
    func session(_ session: HTTP2Session, streamWindowGrewTo window: Int)
    /// Data bytes received that the application has not taken yet: while they are many, the
    /// window tuner does not grow the window.
    var unreadInboundBytes: Int { get }
}

extension HTTP2SessionDelegate {
    func session(_ session: HTTP2Session, windowUpdated streamID: Int32) {}
    func session(_ session: HTTP2Session, streamReset streamID: Int32, errorCode: HTTP2ErrorCode, byPeer: Bool) {}
    func session(_ session: HTTP2Session, streamWindowGrewTo window: Int) {}
    var unreadInboundBytes: Int { 0 }
}
