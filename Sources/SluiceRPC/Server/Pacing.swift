/// How a paced call (see ``CallByteMeter``) waits out what it owes for bytes it took: in steps
/// of at most a second, letting part of the bytes go at each, so that its client sees them move
/// every second or so instead of nothing for the whole pause.
enum Pacing {
    /// The longest wait between two parts.
    static let longestWait = Duration.seconds(1)

    /// Waits `pause`, handing `count` bytes to `release` in parts as it goes (their sum is
    /// `count`, the last part after the whole pause): as many parts as it takes for each wait to
    /// be at most ``longestWait`` and each part at most `step` bytes (when given), never more
    /// parts than bytes.
    static func spread(
        _ pause: Duration, over count: Int, step: Int?, release: (Int) async throws -> Void
    ) async throws {
        guard pause > .zero, count > 0 else {
            try await release(count)
            return
        }
        let byTime = Int((pause / longestWait).rounded(.up))
        let bySize = step.map { (count + max(1, $0) - 1) / max(1, $0) } ?? 1
        let parts = min(count, max(1, byTime, bySize))
        let wait = pause / parts
        var released = 0
        for part in 1...parts {
            try await Task.sleep(for: wait)
            let upTo = count * part / parts
            try await release(upTo - released)
            released = upTo
        }
    }
}
