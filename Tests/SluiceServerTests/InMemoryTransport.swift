import SluiceRPC

/// A client transport whose streams are served in-process by a `CallDispatcher`, so
/// services, generated stubs and interop cases run end to end without sockets.
/// There is no flow control: every send is buffered at once.
struct InMemoryTransport: ClientTransport {
    let dispatcher: CallDispatcher
    var peer: PeerIdentity?
    var authority: String { "in-memory" }

    init(router: Router, peer: PeerIdentity? = nil, interceptor: (any CallInterceptor)? = nil) {
        self.dispatcher = CallDispatcher(router: router, interceptor: interceptor)
        self.peer = peer
    }

    func openStream(path: String, fields: [HeaderField]) async throws -> any ClientStream {
        let (requests, requestInput) = AsyncThrowingStream.makeStream(of: [UInt8].self)
        let (responses, responseInput) = AsyncThrowingStream.makeStream(of: ClientStreamEvent.self)
        let serverStream = ServerSide(requests: requests, responses: responseInput)
        let head = ServerRequestHead(path: path, fields: fields, peer: peer, remoteAddress: "in-memory")
        let dispatcher = self.dispatcher
        let task = Task { await dispatcher.handle(head, stream: serverStream) }
        return ClientSide(requests: requestInput, responses: responses, serverTask: task)
    }

    /// The client's end: sends request bytes, receives what the server sent.
    // Safe because the response iterator is used by the call's one receiver task; the rest is immutable.
    final class ClientSide: ClientStream, @unchecked Sendable {
        private let requests: AsyncThrowingStream<[UInt8], any Error>.Continuation
        // Only the call's single receiver touches the iterator.
        private var responses: AsyncThrowingStream<ClientStreamEvent, any Error>.AsyncIterator
        private let serverTask: Task<Void, Never>

        init(
            requests: AsyncThrowingStream<[UInt8], any Error>.Continuation,
            responses: AsyncThrowingStream<ClientStreamEvent, any Error>, serverTask: Task<Void, Never>
        ) {
            self.requests = requests
            self.responses = responses.makeAsyncIterator()
            self.serverTask = serverTask
        }

        func send(_ bytes: [UInt8], endStream: Bool) async throws {
            if !bytes.isEmpty { requests.yield(bytes) }
            if endStream { requests.finish() }
        }

        func receive() async throws -> ClientStreamEvent? { try await responses.next() }

        /// Like RST_STREAM: the server's reads fail and its handler is cancelled.
        func cancel() {
            requests.finish(throwing: CancellationError())
            serverTask.cancel()
        }
    }

    /// The server's end, as the dispatcher sees it.
    // Safe because the request iterator is used by the dispatcher's one reader task; the rest is immutable.
    final class ServerSide: ServerStream, @unchecked Sendable {
        // Only the call's single reader touches the iterator.
        private var requests: AsyncThrowingStream<[UInt8], any Error>.AsyncIterator
        private let responses: AsyncThrowingStream<ClientStreamEvent, any Error>.Continuation

        init(
            requests: AsyncThrowingStream<[UInt8], any Error>,
            responses: AsyncThrowingStream<ClientStreamEvent, any Error>.Continuation
        ) {
            self.requests = requests.makeAsyncIterator()
            self.responses = responses
        }

        func receive() async throws -> [UInt8]? { try await requests.next() }

        func sendHeaders(_ fields: [HeaderField], endStream: Bool) async throws {
            responses.yield(.headers(fields))
            if endStream { responses.finish() }
        }

        func send(_ bytes: [UInt8]) async throws { responses.yield(.data(bytes)) }

        func sendTrailers(_ fields: [HeaderField]) async throws {
            responses.yield(.trailers(fields))
            responses.finish()
        }
    }
}
