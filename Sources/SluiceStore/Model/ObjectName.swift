/// Checks object names: UTF-8, 1 to 1024 bytes, no NUL. Names are data, never paths:
/// nothing derives a file path from one.
public enum ObjectName {
    public static let maxBytes = 1024

    /// Returns the name when valid; throws INVALID_ARGUMENT saying what is wrong.
    /// Swift strings from protobuf are already valid UTF-8 (invalid bytes fail decoding).
    public static func validate(_ name: String, field: String = "object name") throws(StorageError) -> String {
        let length = name.utf8.count
        guard length > 0 else { throw .invalidArgument("\(field) is empty; give 1 to \(maxBytes) bytes of UTF-8") }
        guard length <= maxBytes else {
            throw .invalidArgument("\(field) is \(length) bytes; the limit is \(maxBytes) bytes")
        }
        guard !name.utf8.contains(0) else { throw .invalidArgument("\(field) contains a NUL character") }
        return name
    }
}
