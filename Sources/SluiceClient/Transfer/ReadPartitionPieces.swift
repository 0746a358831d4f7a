import Foundation
import SluiceProto
import SluiceRPC

/// Takes the `data` of ReadPartitionResponse messages out of their pieces as they arrive
/// (``ClientResponseStream/messagePieces``). A message that is that one field alone, its head
/// written as protobuf writes it (what a server sends), hands its bytes on where they
/// arrived: no copy, and no waiting for the message to be whole. Any other message is
/// gathered and decoded by protobuf, so every valid encoding reads as protobuf reads it.
struct ReadPartitionPieces {
    private enum State {
        /// Comparing the message's first bytes with the field head a sole `data` field of
        /// its length has; `matched` of them agree so far.
        case head(expected: [UInt8], matched: Int)
        /// Past that head: every byte is `data`.
        case data
        /// Not that shape: gathering the message to decode it whole.
        case gathering
    }

    private var state = State.data
    private var gathered: [UInt8] = []

    /// The `data` bytes in `piece` (possibly none, as when a piece holds only a field head or
    /// part of a message being gathered). Pieces must come in order, as they arrived.
    mutating func data(in piece: MessagePiece) throws -> ArraySlice<UInt8> {
        if piece.offset == 0 {
            gathered.removeAll(keepingCapacity: false)
            if let head = Self.soleFieldHead(messageLength: piece.messageLength) {
                state = .head(expected: head, matched: 0)
            } else {
                state = piece.messageLength == 0 ? .data : .gathering
            }
        }
        var bytes = piece.bytes
        if case .head(let expected, let matched) = state {
            let count = min(expected.count - matched, bytes.count)
            if bytes.prefix(count).elementsEqual(expected[matched..<(matched + count)]) {
                bytes = bytes.dropFirst(count)
                state = matched + count == expected.count ? .data : .head(expected: expected, matched: matched + count)
            } else {
                gathered = Array(expected[..<matched])
                state = .gathering
            }
        }
        switch state {
        case .head:
            return []
        case .data:
            return bytes
        case .gathering:
            gathered.append(contentsOf: bytes)
            guard piece.endsMessage else { return [] }
            defer { gathered.removeAll(keepingCapacity: false) }
            return ArraySlice(try Sluice_V1_ReadPartitionResponse(serializedBytes: gathered).data)
        }
    }

    /// The head protobuf writes before a `data` field that fills a message of
    /// `messageLength` bytes alone; nil when no such field fits that length exactly.
    static func soleFieldHead(messageLength: Int) -> [UInt8]? {
        // The head is the tag (one byte for field 1) and the length's varint (1 to 10 bytes).
        for varintLength in 1...10 {
            let length = messageLength - 1 - varintLength
            guard length >= 0 else { return nil }
            let head = LengthDelimitedField.head(field: PayloadWire.readDataField, length: length)
            if head.count == messageLength - length { return head }
        }
        return nil
    }
}
