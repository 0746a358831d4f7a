import SluiceRPC

/// How read streams encode their data messages: `ReadObjectResponse` and
/// `ReadPartitionResponse` both carry the bytes in field 1, written as this head followed by
/// the chunk read from storage, which goes to the transport without being copied into a
/// serialized message (a fresh 1 MiB `Data` and its encoding per chunk made reads copy every
/// byte twice more and page-fault their way through memory).
enum ReadResponseEncoding {
    static let dataField = 1

    /// The head of a data field holding `count` bytes.
    static func data(_ count: Int) -> [UInt8] {
        LengthDelimitedField.head(field: dataField, length: count)
    }
}
