/// A connection a client opens gRPC streams on. The HTTP/2 transport implements it.
public protocol ClientTransport: Sendable {
    /// The `:authority` requests carry (host and port of the server).
    var authority: String { get }
    /// The `:scheme` requests carry: `https`, or `http` for cleartext h2c.
    var scheme: String { get }

    /// Opens a stream by sending its request headers.
    /// Throws RPCError(.unavailable) when no connection can be had.
    func openStream(headers: [HeaderField]) async throws -> any ClientStream
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
}

/// What a server sends on a stream, in order: headers, data, then trailers.
public enum ClientStreamEvent: Sendable {
    case headers([HeaderField])
    case data([UInt8])
    case trailers([HeaderField])
}
