/// Page sizes.
enum Paging {
    static let defaultPageSize = 100

    static func size(_ requested: Int, limit: Int) throws(StorageError) -> Int {
        guard requested >= 0 else { throw .invalidArgument("page_size is \(requested); it must be 0 to \(limit)") }
        guard requested <= limit else { throw .invalidArgument("page_size is \(requested); the limit is \(limit)") }
        return requested == 0 ? min(defaultPageSize, limit) : requested
    }
}
