/// A connection a client opens gRPC streams on. The HTTP/2 transport implements it.
///
/// The transport owns its protocol: it adds what its requests need (for HTTP/2 the
/// pseudo-headers and `content-type`) and reads what its responses carry, so the RPC layer
/// sends and receives gRPC's fields only.
public protocol ClientTransport: Sendable {
    /// The server this transport reaches (`host:port`), as messages and resume journals name it.
    var authority: String { get }

    /// Opens a stream for the method at `path`, sending the call's gRPC fields and metadata.
    /// Throws RPCError(.unavailable) when no connection can be had.
    func openStream(path: String, fields: [HeaderField]) async throws -> any ClientStream
}

/// One request stream on a client transport.
public protocol ClientStream: Sendable {
    /// Sends request body bytes; with `endStream` the request side is complete.
    func send(_ bytes: [UInt8], endStream: Bool) async throws

    /// The next thing the server sent; nil once the stream is closed.
    /// Each data event hands its bytes' flow-control window back to the server.
    func receive() async throws -> ClientStreamEvent?

    /// Resets the stream (RST_STREAM CANCEL); the server's handler is cancelled.
    func cancel()

    /// When request bytes last moved on towards the server, if the transport can tell; nil
    /// otherwise. HTTP/2: the connection took some of this stream's bytes to send, which it
    /// does only while the socket drains (so a dead link stops it once the buffers on the way
    /// are full), or the server opened the stream's window (it took bytes sent). A server that
    /// paces a request takes its bytes slowly, after the client has written them all; a slow
    /// link takes a large message's bytes a frame at a time, long before the write ends.
    var requestBytesLastMoved: ContinuousClock.Instant? { get }
}

extension ClientStream {
    /// A transport without flow control cannot tell.
    public var requestBytesLastMoved: ContinuousClock.Instant? { nil }
}

/// What a server sends on a stream, in order: headers, data, then trailers. A response that
/// is not gRPC reaches the call as trailers carrying the status that stands for it.
public enum ClientStreamEvent: Sendable {
    case headers([HeaderField])
    case data([UInt8])
    case trailers([HeaderField])
}
