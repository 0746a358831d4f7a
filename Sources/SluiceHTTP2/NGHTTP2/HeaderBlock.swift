import CNGHTTP2
import SluiceRPC

/// Converts header fields to nghttp2's name-value array for the duration of one call.
enum HeaderBlock {
    static func withNameValues<Result>(
        _ fields: [HeaderField], _ body: (UnsafePointer<nghttp2_nv>?, Int) -> Result
    ) -> Result {
        // One contiguous buffer holds every name and value, so the array points into it.
        var storage = [UInt8]()
        var ranges: [(name: Range<Int>, value: Range<Int>)] = []
        for field in fields {
            let nameStart = storage.count
            storage.append(contentsOf: field.name.utf8)
            let valueStart = storage.count
            storage.append(contentsOf: field.value.utf8)
            ranges.append((nameStart..<valueStart, valueStart..<storage.count))
        }
        if storage.isEmpty { storage.append(0) }
        return storage.withUnsafeMutableBufferPointer { bytes in
            let base = bytes.baseAddress!
            let nameValues = ranges.map { range in
                nghttp2_nv(
                    name: base + range.name.lowerBound, value: base + range.value.lowerBound,
                    namelen: range.name.count, valuelen: range.value.count,
                    flags: UInt8(NGHTTP2_NV_FLAG_NONE.rawValue))
            }
            return nameValues.withUnsafeBufferPointer { body($0.baseAddress, $0.count) }
        }
    }

    static func field(name: UnsafePointer<UInt8>, nameLength: Int, value: UnsafePointer<UInt8>, valueLength: Int)
        -> HeaderField
    {
        HeaderField(
            String(decoding: UnsafeBufferPointer(start: name, count: nameLength), as: UTF8.self),
            String(decoding: UnsafeBufferPointer(start: value, count: valueLength), as: UTF8.self))
    }
}
