/// Runs work over many items with a fixed number in flight.
enum BoundedConcurrency {
    /// Runs `body` for each item, at most `limit` at a time, starting them in order; the
    /// first failure cancels the rest and is thrown.
    static func forEach<Item: Sendable>(
        _ items: [Item], limit: Int, _ body: @escaping @Sendable (Item) async throws -> Void
    ) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            var pending = items.makeIterator()
            for _ in 0..<max(1, limit) {
                guard let item = pending.next() else { break }
                group.addTask { try await body(item) }
            }
            while try await group.next() != nil {
                if let item = pending.next() { group.addTask { try await body(item) } }
            }
        }
    }
}
