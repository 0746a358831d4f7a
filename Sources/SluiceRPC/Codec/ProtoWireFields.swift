/// Walks the top-level fields of protobuf wire bytes, giving each field's number and,
/// for a length-delimited one, its bytes (a view into `bytes`). Stops (returns nil) at the
/// end or at anything malformed; it never traps on hostile input.
public struct ProtoWireFields {
    private let bytes: ArraySlice<UInt8>
    private var index: Int

    public init(_ bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        self.index = bytes.startIndex
    }

    public init(_ bytes: [UInt8]) {
        self.init(bytes[...])
    }

    /// Whether every byte has been walked.
    public var isAtEnd: Bool { index == bytes.endIndex }

    public mutating func next() -> (number: UInt64, payload: ArraySlice<UInt8>?)? {
        guard index < bytes.endIndex, let tag = varint() else { return nil }
        let number = tag >> 3
        switch tag & 7 {
        case 0:
            guard varint() != nil else { return nil }
            return (number, nil)
        case 1:
            return skip(8) ? (number, nil) : nil
        case 2:
            guard let length = varint(), length <= UInt64(bytes.endIndex - index) else { return nil }
            let start = index
            index += Int(length)
            return (number, bytes[start..<index])
        case 3, 4:
            return (number, nil)
        case 5:
            return skip(4) ? (number, nil) : nil
        default:
            return nil
        }
    }

    private mutating func skip(_ count: Int) -> Bool {
        guard bytes.endIndex - index >= count else { return false }
        index += count
        return true
    }

    private mutating func varint() -> UInt64? {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while index < bytes.endIndex, shift < 70 {
            let byte = bytes[index]
            index += 1
            value |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
        }
        return nil
    }
}
