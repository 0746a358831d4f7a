/// One request stream as a server transport presents it to the RPC layer.
///
/// The transport owns its protocol (for HTTP/2: pseudo-headers, `:status`, `content-type`,
/// frames); the RPC layer owns gRPC's meaning of metadata, messages and status, and sees
/// nothing of the protocol that carries them.
/// Flow control is backpressure: `receive()` is the only thing that hands window back
/// to the peer, so a handler that stops reading stops the sender.
public protocol ServerStream: Sendable {
    /// The next request body bytes, in order; nil once the peer has ended its side.
    /// Throws when the stream was reset or its connection lost.
    func receive() async throws -> [UInt8]?

    /// The next request body bytes, as ``receive()``; when `paced`, their flow-control window
    /// does not go back to the client until the reader returns it (``returnWindow(_:)``), so a
    /// reader that pays for its bytes holds the client back at its own pace.
    func receive(paced: Bool) async throws -> [UInt8]?

    /// Returns the window of `count` bytes received `paced`, and tells the client at once, so
    /// that it sees its bytes taken every step.
    func returnWindow(_ count: Int) async throws

    /// Sends the response head: gRPC's fields (`grpc-*` and metadata) to which the transport
    /// adds its own. With `endStream` it is the whole response (trailers-only).
    func sendHeaders(_ fields: [HeaderField], endStream: Bool) async throws

    /// Sends response body bytes, suspending while the peer's window and the stream's
    /// send buffer are full.
    func send(_ bytes: [UInt8]) async throws

    /// Sends a message's prefix and payload, in that order, as one body write. A transport
    /// that queues byte chunks takes both as they are, so the payload is not copied behind
    /// the prefix first.
    func send(prefix: [UInt8], payload: [UInt8]) async throws

    /// Sends trailers and ends the stream.
    func sendTrailers(_ fields: [HeaderField]) async throws

    /// Waits until the peer can take more response bytes (its flow-control window is open
    /// and little is queued), so the next message is not even serialized before then.
    func waitUntilWritable() async throws

    /// The budget for request messages being assembled that this stream shares with the
    /// other streams of its connection (see `RequestMemoryBudget`); nil when none applies.
    var connectionRequestMemory: RequestMemoryBudget? { get }
}

extension ServerStream {
    /// A stream without flow control has no window to hold back.
    public func receive(paced: Bool) async throws -> [UInt8]? {
        try await receive()
    }

    /// A stream without flow control has no window to return.
    public func returnWindow(_ count: Int) async throws {}

    /// A stream without flow control is always writable.
    public func waitUntilWritable() async throws {}

    public func send(prefix: [UInt8], payload: [UInt8]) async throws {
        try await send(prefix + payload)
    }

    public var connectionRequestMemory: RequestMemoryBudget? { nil }
}

/// A new call as a server transport accepted it: the method it names, its gRPC fields,
/// and what the transport knows of its connection.
///
/// The transport has already checked what its own protocol requires (for HTTP/2: POST and a
/// gRPC content-type) and answered requests that fail it.
public struct ServerRequestHead: Sendable {
    /// The method's path, `/package.Service/Method`, as the client sent it.
    public var path: String
    /// The request's gRPC fields (`grpc-timeout`, `grpc-encoding`, …) and metadata, without
    /// the transport's own fields.
    public var fields: [HeaderField]
    public var peer: PeerIdentity?
    public var remoteAddress: String?

    public init(path: String, fields: [HeaderField], peer: PeerIdentity?, remoteAddress: String?) {
        self.path = path
        self.fields = fields
        self.peer = peer
        self.remoteAddress = remoteAddress
    }
}
