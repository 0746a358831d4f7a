import SluiceRPC

/// A request stream of a client connection, as the RPC layer sees it.
struct HTTP2ClientStream: ClientStream {
    let io: StreamIO
    let role: ClientConnection

    func send(_ bytes: [UInt8], endStream: Bool) async throws {
        try await io.write(bytes, end: endStream)
    }

    func receive() async throws -> ClientStreamEvent? {
        switch try await io.next() {
        case .headers(let fields): .headers(fields)
        case .data(let bytes): .data(bytes)
        case .trailers(let fields): .trailers(fields)
        case nil: nil
        }
    }

    func cancel() {
        let (io, role) = (self.io, self.role)
        io.eventLoop.execute { role.cancel(io) }
    }
}
