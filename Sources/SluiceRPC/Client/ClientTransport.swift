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

    /// When the server last took request bytes it had been sent (HTTP/2: opened the stream's
    /// window), if the transport can tell; nil otherwise. A server that paces a request takes
    /// its bytes slowly, after the client has written them all.
    var requestBytesLastTaken: ContinuousClock.Instant? { get }
}

extension ClientStream {
    /// A transport without flow control cannot tell.
    public var requestBytesLastTaken: ContinuousClock.Instant? { nil }
}

/// What a server sends on a stream, in order: headers, data, then trailers. A response that
/// is not gRPC reaches the call as trailers carrying the status that stands for it.
public enum ClientStreamEvent: Sendable {
    case headers([HeaderField])
    case data([UInt8])
    case trailers([HeaderField])
}
