// Fuzzes the checks on what a client declares: object names, sizes, partition hashes,
// content type and user metadata. They answer a StorageError or accept; they never trap,
// and accept exactly the names the rules allow.
//
// Input: fields separated by 0x1E: object name, content type, then user-metadata keys and
// values in turn; the first 17 bytes of the name field also choose the sizes.
import FuzzSupport
@testable import SluiceStore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzObjectValidation(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: start, count: count))
    let fields = bytes.split(separator: 0x1E, omittingEmptySubsequences: false).map {
        String(decoding: $0, as: UTF8.self)
    }
    let name = fields[0]

    let nameIsValid = (1...ObjectName.maxBytes).contains(name.utf8.count) && !name.utf8.contains(0)
    switch Result(catching: { () throws(StorageError) in try ObjectName.validate(name) }) {
    case .success(let accepted): precondition(nameIsValid && accepted == name, "accepted an invalid name")
    case .failure: precondition(!nameIsValid, "refused a valid name")
    }

    var numbers: [Int64] = [0, 0]
    for (index, byte) in bytes.prefix(16).enumerated() { numbers[index / 8] = numbers[index / 8] << 8 | Int64(byte) }
    // Mostly small sizes, so that the partition count can be right; sometimes extreme ones.
    let extreme = bytes.count > 16 && bytes[16] & 1 == 1
    let totalSize = extreme ? numbers[0] : numbers[0] % 4096
    let partitionSize = extreme ? numbers[1] : numbers[1] % 1024
    let hashCount = bytes.count > 16 ? Int(bytes[16] >> 1) : 0
    var metadata: [String: String] = [:]
    var index = 2
    while index + 1 < fields.count {
        metadata[fields[index]] = fields[index + 1]
        index += 2
    }
    let declaration = SessionDeclaration(
        objectName: name, totalSize: totalSize, partitionSize: partitionSize,
        partitionSHA256: Array(repeating: Array(repeating: 7, count: hashCount % 3 == 0 ? 31 : 32), count: hashCount),
        objectSHA256: hashCount % 5 == 0 ? nil : Array(repeating: 1, count: 32),
        contentType: fields.count > 1 ? fields[1] : "", userMetadata: metadata)
    _ = try? declaration.validate(StorageLimits())
    return 0
}

runFuzzer(fuzzObjectValidation)
