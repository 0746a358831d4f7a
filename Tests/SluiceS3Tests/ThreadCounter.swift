import Foundation

/// A counter that plain threads and tasks can share in tests.
// Safe because `count` is read and written only while holding `lock`.
final class ThreadCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0

    var value: Int { lock.withLock { count } }

    func increment() { lock.withLock { count += 1 } }
}
