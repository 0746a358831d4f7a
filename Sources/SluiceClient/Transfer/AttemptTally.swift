import Synchronization

/// What one attempt at a partition has done so far, shared with the call's request or
/// response closure: the bytes it moved, and a failure of the client's own (a file read or
/// write, a hash mismatch) that the RPC layer would otherwise report as a failed call.
final class AttemptTally: Sendable {
    private let moved = Atomic<Int64>(0)
    private let failure = Mutex<(any Error & Sendable)?>(nil)

    var bytes: Int64 { moved.load(ordering: .relaxed) }

    func add(_ count: Int64) {
        moved.add(count, ordering: .relaxed)
    }

    /// Runs the client's own work, remembering its failure before passing it on.
    func own<Result>(_ body: () throws -> Result) throws -> Result {
        do {
            return try body()
        } catch {
            throw remember(error)
        }
    }

    /// Runs the client's own asynchronous work (a journal write), remembering its failure.
    func own<Result>(_ body: () async throws -> Result) async throws -> Result {
        do {
            return try await body()
        } catch {
            throw remember(error)
        }
    }

    /// Remembers a failure of the client's own found outside ``own(_:)``, and returns it to be thrown.
    func own(_ error: IntegrityError) -> IntegrityError {
        remember(error)
    }

    private func remember<Failure: Error>(_ error: Failure) -> Failure {
        switch error {
        case let error as LocalFileError: failure.withLock { $0 = error }
        case let error as IntegrityError: failure.withLock { $0 = error }
        default: break
        }
        return error
    }

    /// The error to report for a failed attempt: the client's own failure if it had one.
    func reported(_ error: any Error) -> any Error {
        failure.withLock { $0 } ?? error
    }
}
