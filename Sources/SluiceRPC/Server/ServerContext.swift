import Synchronization

/// What a handler knows about its call, and the response metadata it wants to send.
public final class ServerContext: Sendable {
    /// The method being called.
    public let method: MethodDescriptor
    /// Custom metadata the client sent with its request headers.
    public let requestMetadata: Metadata
    /// The verified client certificate; nil on a connection without one.
    public let peer: PeerIdentity?
    /// The client's address, for logs.
    public let remoteAddress: String?
    /// When the client stops waiting; nil when it set no deadline.
    public let deadline: ContinuousClock.Instant?
    /// The call's id, sent to the client in the `sluice-request-id` header and logged with the call.
    public let requestID: String

    private let responseMetadata = Mutex<(initial: Metadata, trailing: Metadata)>(([:], [:]))
    /// Values interceptors resolved for the handler, by key type (see `ServerContextKey`).
    let values = Mutex<[ObjectIdentifier: any Sendable]>([:])

    public init(
        method: MethodDescriptor, requestMetadata: Metadata, peer: PeerIdentity?,
        remoteAddress: String?, deadline: ContinuousClock.Instant?,
        requestID: String = RequestID.make()
    ) {
        self.method = method
        self.requestMetadata = requestMetadata
        self.peer = peer
        self.remoteAddress = remoteAddress
        self.deadline = deadline
        self.requestID = requestID
    }

    /// Adds metadata to the response headers. Takes effect only before the first response
    /// message is written (headers go out with it).
    public func addInitialMetadata(_ metadata: Metadata) {
        responseMetadata.withLock { $0.initial.append(contentsOf: metadata) }
    }

    /// Adds metadata to the trailers, sent when the call ends, whether it succeeds or fails.
    public func addTrailingMetadata(_ metadata: Metadata) {
        responseMetadata.withLock { $0.trailing.append(contentsOf: metadata) }
    }

    var initialMetadata: Metadata { responseMetadata.withLock { $0.initial } }
    var trailingMetadata: Metadata { responseMetadata.withLock { $0.trailing } }
}
