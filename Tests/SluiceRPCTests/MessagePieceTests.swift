@testable import SluiceRPC
import Testing

/// MessageDeframer.nextPiece: a message's payload handed out as it arrives, in order, whole
/// once its pieces are joined, whatever the boundaries of what arrived.
@Suite struct MessagePieceTests {
    /// Feeds `arrivals` one after another, taking every piece as soon as it is there, and
    /// joins each message's pieces (checking their offsets and lengths on the way).
    static func messages(_ arrivals: [[UInt8]], maxMessageSize: Int = 1 << 20,
                         decompressor: MessageCompression? = nil) throws -> [[UInt8]] {
        var deframer = MessageDeframer(maxMessageSize: maxMessageSize, decompressor: decompressor)
        var output: [[UInt8]] = []
        var current: [UInt8]?
        for arrival in arrivals {
            deframer.append(arrival)
            while let piece = try deframer.nextPiece() {
                #expect(piece.offset == (current?.count ?? 0))
                current = (current ?? []) + piece.bytes
                #expect(current!.count <= piece.messageLength)
                if piece.endsMessage {
                    output.append(current!)
                    current = nil
                }
            }
        }
        try deframer.finish()
        #expect(current == nil)
        return output
    }

    @Test func splitAtEveryByteBoundary() throws {
        let stream = MessageFramingTests.stream
        for cut in 0...stream.count {
            let arrivals = [Array(stream[..<cut]), Array(stream[cut...])]
            #expect(try Self.messages(arrivals) == MessageFramingTests.messages, "cut at \(cut)")
        }
    }

    @Test func oneByteAtATime() throws {
        let arrivals = MessageFramingTests.stream.map { [$0] }
        #expect(try Self.messages(arrivals) == MessageFramingTests.messages)
    }

    /// A payload that fills what arrived is handed out as it arrived, without waiting for
    /// the rest of its message.
    @Test func piecesComeBeforeTheMessageIsWhole() throws {
        let payload = (0..<1000).map { UInt8(truncatingIfNeeded: $0) }
        let framed = try MessageFramer.frame(payload)
        var deframer = MessageDeframer(maxMessageSize: 1 << 20)
        deframer.append(Array(framed[..<300]))
        let first = try #require(try deframer.nextPiece())
        #expect(first == MessagePiece(messageLength: 1000, offset: 0, bytes: payload[..<295]))
        #expect(try deframer.nextPiece() == nil)
        deframer.append(Array(framed[300...]))
        let second = try #require(try deframer.nextPiece())
        #expect(second.offset == 295 && Array(second.bytes) == Array(payload[295...]) && second.endsMessage)
        #expect(try deframer.nextPiece() == nil)
        try deframer.finish()
    }

    @Test func compressedMessagesComeWholeAndDecompressed() throws {
        let message = [UInt8](repeating: 3, count: 5000)
        let framed = try MessageFramer.frame(message, compressor: .gzip)
        let arrivals = [Array(framed[..<10]), Array(framed[10...]), try MessageFramer.frame([1, 2])]
        #expect(try Self.messages(arrivals, decompressor: .gzip) == [message, [1, 2]])
    }

    @Test func streamEndingInsideAMessageFails() throws {
        var deframer = MessageDeframer(maxMessageSize: 1 << 20)
        deframer.append(Array(try MessageFramer.frame([1, 2, 3, 4]).prefix(7)))
        #expect(try deframer.nextPiece()?.bytes == [1, 2])
        #expect(deframer.bufferedBytes == 0)
        let error = #expect(throws: RPCError.self) { try deframer.finish() }
        #expect(error?.code == .internal)
    }

    @Test func oversizeAndInvalidPrefixesFailAsWholeMessagesDo() throws {
        var oversize = MessageDeframer(maxMessageSize: 1000)
        oversize.append([0, 0, 0, 0x03, 0xE9])
        #expect(throws: RPCError.self) { try oversize.nextPiece() }
        var invalid = MessageDeframer(maxMessageSize: 1000)
        invalid.append([2, 0, 0, 0, 1, 0xAA])
        #expect(throws: RPCError.self) { try invalid.nextPiece() }
    }
}
