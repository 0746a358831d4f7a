import SwiftProtobuf

/// A received message's bytes as SwiftProtobuf's decoder takes them: a view into the
/// buffer they arrived in, so decoding needs no copy of its own first (SwiftProtobuf reads
/// only Arrays and Data of its own).
struct MessageBytes: SwiftProtobufContiguousBytes {
    var slice: ArraySlice<UInt8>

    init(slice: ArraySlice<UInt8>) {
        self.slice = slice
    }

    init(repeating value: UInt8, count: Int) {
        slice = ArraySlice(repeating: value, count: count)
    }

    init<S: Sequence>(_ sequence: S) where S.Element == UInt8 {
        slice = ArraySlice(sequence)
    }

    var count: Int { slice.count }

    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try slice.withUnsafeBytes(body)
    }

    mutating func withUnsafeMutableBytes<R>(_ body: (UnsafeMutableRawBufferPointer) throws -> R) rethrows -> R {
        try slice.withUnsafeMutableBytes(body)
    }
}
