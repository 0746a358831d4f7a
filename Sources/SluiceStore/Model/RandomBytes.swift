/// Bytes from the system's cryptographic random source, for ids, file names and keys. Taken
/// eight at a time: `UInt8.random` asks the kernel once per byte (sixteen system calls for
/// one session id).
enum RandomBytes {
    static func make(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count + 7)
        while bytes.count < count {
            withUnsafeBytes(of: generator.next() as UInt64) { bytes.append(contentsOf: $0) }
        }
        bytes.removeLast(bytes.count - count)
        return bytes
    }
}
