// Fuzzes what the RPC layer parses out of header fields: custom metadata (with base64 `-bin`
// values), grpc-timeout, the percent-encoded grpc-message, grpc-status and the method path.
//
// Input: header lines `name:value` separated by newlines. Checked: parsing never traps;
// metadata survives encoding back to header fields; base64 and percent-encoding round-trip;
// a parsed timeout formats to one at least as long.
import FuzzSupport
@testable import SluiceRPC

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMetadata(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: start, count: count))
    let text = String(decoding: bytes, as: UTF8.self)
    var fields: [HeaderField] = []
    for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
        guard let colon = line.firstIndex(of: ":"), colon != line.startIndex else {
            fields.append(HeaderField(String(line), ""))
            continue
        }
        fields.append(HeaderField(String(line[..<colon]), String(line[line.index(after: colon)...])))
    }

    // Metadata: decodes, and (for the lower-case names HTTP/2 allows) survives a round trip.
    let metadata = Metadata(headerFields: fields)
    if fields.allSatisfy({ $0.name == $0.name.lowercased() }) {
        precondition(Metadata(headerFields: metadata.headerFields) == metadata, "metadata changed in a round trip")
    }

    // Base64 of the raw input round-trips; decoding any value never traps.
    precondition(Base64.decode(Base64.encode(bytes)) == bytes, "base64 round trip failed")

    // Percent-encoding: the encoding is printable ASCII and decodes to the original.
    let encoded = PercentEncoding.encode(text)
    precondition(encoded.utf8.allSatisfy { $0 >= 0x20 && $0 <= 0x7E }, "percent-encoding left a byte unescaped")
    precondition(PercentEncoding.decode(encoded) == text, "percent-encoding round trip failed")

    for field in fields {
        _ = Base64.decode(field.value)
        _ = PercentEncoding.decode(field.value)
        _ = StatusCode(wireValue: field.value)
        _ = MethodDescriptor(path: field.value)
        _ = try? MessageCompression.forEncoding(field.value)
        if let timeout = GRPCTimeout.parse(field.value), timeout <= .seconds(GRPCTimeout.maxSeconds) {
            let formatted = GRPCTimeout.format(timeout)
            guard let again = GRPCTimeout.parse(formatted) else {
                preconditionFailure("grpc-timeout \(formatted) (from \(field.value)) does not parse")
            }
            precondition(again >= timeout, "grpc-timeout \(field.value) formatted as the shorter \(formatted)")
        }
    }
    return 0
}

runFuzzer(fuzzMetadata)
