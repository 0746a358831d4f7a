import Foundation
@testable import SluiceRPC
import Testing

/// MessageFramer and MessageDeframer: gRPC's 5-byte length prefix, reassembled from pieces
/// that arrive at arbitrary boundaries.
@Suite struct MessageFramingTests {
    /// Three messages of different sizes, one of them empty, framed back to back.
    static let messages: [[UInt8]] = [Array(0..<7), [], Array(repeating: 0xAB, count: 300), [42]]
    static var stream: [UInt8] { messages.flatMap { try! MessageFramer.frame($0) } }

    /// Feeds `pieces` one after another, collecting every message as soon as it is whole.
    static func deframe(_ pieces: [[UInt8]], maxMessageSize: Int = 1 << 20) throws -> [[UInt8]] {
        var deframer = MessageDeframer(maxMessageSize: maxMessageSize)
        var output: [[UInt8]] = []
        for piece in pieces {
            deframer.append(piece)
            while let message = try deframer.next() { output.append(message) }
        }
        try deframer.finish()
        #expect(deframer.bufferedBytes == 0)
        return output
    }

    @Test func framerWritesFlagAndBigEndianLength() throws {
        #expect(try MessageFramer.frame([]) == [0, 0, 0, 0, 0])
        let large = [UInt8](repeating: 7, count: 0x01_02_03)
        let framed = try MessageFramer.frame(large)
        #expect(Array(framed.prefix(5)) == [0, 0x00, 0x01, 0x02, 0x03])
        #expect(Array(framed.dropFirst(5)) == large)
    }

    @Test func framerWithCompressorSetsFlagAndCompresses() throws {
        let message = [UInt8](repeating: 1, count: 10_000)
        let framed = try MessageFramer.frame(message, compressor: .gzip)
        #expect(framed[0] == 1)
        let length = Int(framed[1]) << 24 | Int(framed[2]) << 16 | Int(framed[3]) << 8 | Int(framed[4])
        #expect(length == framed.count - 5)
        #expect(length < message.count)
        var deframer = MessageDeframer(maxMessageSize: 1 << 20, decompressor: .gzip)
        deframer.append(framed)
        #expect(try deframer.next() == message)
        #expect(try deframer.next() == nil)
    }

    @Test func splitAtEveryByteBoundary() throws {
        let stream = Self.stream
        for cut in 0...stream.count {
            let pieces = [Array(stream[..<cut]), Array(stream[cut...])]
            #expect(try Self.deframe(pieces) == Self.messages, "cut at \(cut)")
        }
    }

    @Test func splitIntoThreePiecesAtEveryPairOfBoundaries() throws {
        let stream = Array(Self.stream.prefix(40))  // the first two messages and part of the third
        let expected = Array(Self.messages.prefix(2))
        for first in 0...stream.count {
            for second in first...stream.count {
                var deframer = MessageDeframer(maxMessageSize: 1 << 20)
                var output: [[UInt8]] = []
                for piece in [stream[..<first], stream[first..<second], stream[second...]] {
                    deframer.append(Array(piece))
                    while let message = try deframer.next() { output.append(message) }
                }
                #expect(output == expected, "cuts at \(first), \(second)")
                #expect(deframer.bufferedBytes == stream.count - 12 - 5)  // the partial third message
            }
        }
    }

    @Test func oneByteAtATime() throws {
        #expect(try Self.deframe(Self.stream.map { [$0] }) == Self.messages)
    }

    @Test func severalMessagesInOnePiece() throws {
        var deframer = MessageDeframer(maxMessageSize: 1 << 20)
        deframer.append(Self.stream)
        #expect(deframer.bufferedBytes == Self.stream.count)
        for expected in Self.messages {
            #expect(try deframer.next() == expected)
        }
        #expect(try deframer.next() == nil)
        #expect(deframer.bufferedBytes == 0)
        try deframer.finish()
    }

    @Test func pieceHoldingExactlyOneMessage() throws {
        let payload = Array("exactly one".utf8)
        var deframer = MessageDeframer(maxMessageSize: 1 << 20)
        deframer.append(try MessageFramer.frame(payload))
        #expect(try deframer.next() == payload)
        #expect(deframer.bufferedBytes == 0)
        #expect(try deframer.next() == nil)
        // The prefix and the payload as separate pieces (the payload piece is handed over whole).
        deframer.append(Array(try MessageFramer.frame(payload).prefix(5)))
        #expect(try deframer.next() == nil)
        deframer.append(payload)
        #expect(try deframer.next() == payload)
        try deframer.finish()
    }

    @Test func zeroLengthMessages() throws {
        var deframer = MessageDeframer(maxMessageSize: 0)
        deframer.append([0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
        #expect(try deframer.next() == [])
        #expect(try deframer.next() == [])
        #expect(try deframer.next() == nil)
        try deframer.finish()
    }

    @Test func emptyAppendsChangeNothing() throws {
        var deframer = MessageDeframer(maxMessageSize: 10)
        deframer.append([])
        #expect(deframer.bufferedBytes == 0)
        #expect(try deframer.next() == nil)
        try deframer.finish()
    }

    @Test func messageAtTheLimitIsAccepted() throws {
        let payload = [UInt8](repeating: 9, count: 1000)
        #expect(try Self.deframe([try MessageFramer.frame(payload)], maxMessageSize: 1000) == [payload])
    }

    @Test func oversizeLengthFailsBeforeTheBodyIsBuffered() throws {
        var deframer = MessageDeframer(maxMessageSize: 1000)
        // Only the prefix has arrived: a declared length of 1001 must fail at once.
        deframer.append([0, 0, 0, 0x03, 0xE9])
        let error = #expect(throws: RPCError.self) { try deframer.next() }
        #expect(error?.code == .resourceExhausted)
        #expect(error?.message.contains("1001") == true)
        #expect(error?.message.contains("1000") == true)
        // No retry can pass it: the refusal says so, as gRPC's negative pushback.
        #expect(error?.trailers.firstString(Metadata.retryPushbackKey) == "-1")

        var huge = MessageDeframer(maxMessageSize: 4 << 20)
        huge.append([0, 0xFF, 0xFF, 0xFF, 0xFF])
        #expect(throws: RPCError(
            .resourceExhausted, "message of 4294967295 bytes exceeds the limit of 4194304 bytes",
            trailers: Metadata.retryRefused)) {
            try huge.next()
        }
    }

    @Test func invalidFlagIsInternal() throws {
        var deframer = MessageDeframer(maxMessageSize: 1000)
        deframer.append([2, 0, 0, 0, 1, 0xAA])
        let error = #expect(throws: RPCError.self) { try deframer.next() }
        #expect(error?.code == .internal)
        // Decided from the prefix alone.
        var early = MessageDeframer(maxMessageSize: 1000)
        early.append([0x80, 0, 0, 0, 100])
        #expect(throws: RPCError.self) { try early.next() }
    }

    @Test func compressedFlagWithoutDecompressorIsInternal() throws {
        var deframer = MessageDeframer(maxMessageSize: 1000)
        deframer.append([1, 0, 0, 0, 2, 0xAA, 0xBB])
        let error = #expect(throws: RPCError.self) { try deframer.next() }
        #expect(error?.code == .internal)
        #expect(error?.message.contains("grpc-encoding") == true)
    }

    @Test func compressedMessageBeyondLimitAfterDecompression() throws {
        let payload = [UInt8](repeating: 0, count: 10_000)
        var deframer = MessageDeframer(maxMessageSize: 5_000, decompressor: .gzip)
        deframer.append(try MessageFramer.frame(payload, compressor: .gzip))
        let error = #expect(throws: RPCError.self) { try deframer.next() }
        #expect(error?.code == .resourceExhausted)
    }

    @Test func finishWithTrailingBytesIsInternal() throws {
        for trailing in [[UInt8]([0]), [0, 0, 0, 0], [0, 0, 0, 0, 3, 1, 2]] {
            var deframer = MessageDeframer(maxMessageSize: 1000)
            deframer.append(try MessageFramer.frame([1, 2, 3]) + trailing)
            #expect(try deframer.next() == [1, 2, 3])
            #expect(try deframer.next() == nil)
            let error = #expect(throws: RPCError.self) { try deframer.finish() }
            #expect(error?.code == .internal)
            #expect(error?.message.contains("\(trailing.count) trailing bytes") == true)
        }
    }

    @Test func randomPiecesReassembleRandomMessages() throws {
        var generator = SplitMix64(seed: 0x51_1CE)
        for _ in 0..<50 {
            let messages = (0..<Int.random(in: 1...8, using: &generator)).map { _ in
                (0..<Int.random(in: 0...2000, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            }
            var stream = messages.flatMap { try! MessageFramer.frame($0) }[...]
            var pieces: [[UInt8]] = []
            while !stream.isEmpty {
                let count = min(stream.count, Int.random(in: 1...700, using: &generator))
                pieces.append(Array(stream.prefix(count)))
                stream = stream.dropFirst(count)
            }
            #expect(try Self.deframe(pieces) == messages)
        }
    }

    /// A 4 MiB message sent as one-byte pieces (one-byte DATA frames) reassembles in work
    /// linear in its size; keeping every piece and removing from the front took quadratic
    /// time (a core for 20+ minutes at this size).
    @Test func fourMiBMessageInOneBytePieces() async throws {
        // Seconds of synchronous work: on a thread of its own, so the other tests' tasks
        // (and their timers) keep the cooperative pool.
        let outcome = await withCheckedContinuation { (done: CheckedContinuation<Result<Bool, any Error>, Never>) in
            Thread {
                done.resume(returning: Result { () throws -> Bool in
                    let size = 4 << 20
                    let framed = try MessageFramer.frame([UInt8](repeating: 0xA5, count: size))
                    var deframer = MessageDeframer(maxMessageSize: size)
                    var messages: [[UInt8]] = []
                    for byte in framed {
                        deframer.append([byte])
                        if let message = try deframer.next() { messages.append(message) }
                    }
                    try deframer.finish()
                    return messages.count == 1 && messages[0] == Array(framed.dropFirst(MessageFramer.prefixLength))
                        && deframer.bufferedBytes == 0
                })
            }.start()
        }
        #expect(try outcome.get())
    }

    /// Many small messages interleaved with partial ones: compaction keeps the unread tail.
    @Test func compactionKeepsUnreadBytes() throws {
        let messages = (0..<500).map { index in [UInt8](repeating: UInt8(index % 251), count: index % 37) }
        let stream = messages.flatMap { try! MessageFramer.frame($0) }
        var pieces: [[UInt8]] = []
        var offset = 0
        var step = 1
        while offset < stream.count {
            let count = min(step, stream.count - offset)
            pieces.append(Array(stream[offset..<(offset + count)]))
            offset += count
            step = step % 97 + 3
        }
        #expect(try Self.deframe(pieces) == messages)
    }

    /// Messages handed out as slices of the buffer (reserved up front, as a reader does) stay
    /// intact while the deframer keeps appending and compacting behind them.
    @Test func slicesSurviveLaterAppends() throws {
        let messages = (0..<40).map { index in [UInt8](repeating: UInt8(index), count: (index * 7_919) % 3_000) }
        let stream = messages.flatMap { try! MessageFramer.frame($0) }
        var deframer = MessageDeframer(maxMessageSize: 1 << 20)
        var slices: [ArraySlice<UInt8>] = []
        var offset = 0
        var step = 1
        while offset < stream.count {
            let count = min(step, stream.count - offset)
            deframer.append(Array(stream[offset..<(offset + count)]))
            offset += count
            step = step * 3 % 4_099 + 1
            while let message = try deframer.nextSlice() { slices.append(message) }
            deframer.reserveForPendingMessage()
        }
        try deframer.finish()
        #expect(slices.map { Array($0) } == messages)
    }
}

/// A small deterministic generator, so a failing random case can be reproduced.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
