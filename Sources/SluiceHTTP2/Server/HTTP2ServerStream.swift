import SluiceRPC

/// A request stream of a server connection, as the RPC layer sees it.
struct HTTP2ServerStream: ServerStream {
    let io: StreamIO

    func receive() async throws -> [UInt8]? {
        while let event = try await io.next() {
            if case .data(let bytes) = event { return bytes }
        }
        return nil
    }

    func sendHeaders(_ fields: [HeaderField], endStream: Bool) async throws {
        let io = self.io
        try await io.onLoop {
            guard let connection = io.connection, !io.isClosed else {
                throw io.failure ?? RPCError(.cancelled, "the stream is closed")
            }
            try connection.session.submitResponse(streamID: io.streamID, headers: fields, hasBody: !endStream)
            connection.flush()
        }
    }

    func send(_ bytes: [UInt8]) async throws {
        try await io.write(bytes, end: false)
    }

    func sendTrailers(_ fields: [HeaderField]) async throws {
        try await io.write([], end: true, trailers: fields)
    }
}
