import SluiceMetrics
import SluiceRPC
import Synchronization

/// Paces one call's message bytes by its principal's byte rate limits (sleeping while the
/// principal is in debt, which holds back flow-control window, so the client slows down;
/// nothing is refused), and reports its bytes as traffic when it ends.
///
/// A call that goes on moving messages — a watch, a long read or upload — has its caller
/// admitted again at most every ``readmissionInterval`` (`readmit`, before the message moves):
/// a principal disabled since the call began is refused there, so its watch sees no change made
/// after the disable reached this instance, and its transfers stop. A call that waits with
/// nothing to move (an idle watch) admits its caller again through `admitAgain()`.
final class PrincipalByteMeter: CallByteMeter {
    /// How long a call runs on one admission before its next message admits its caller again.
    static let readmissionInterval: Duration = .seconds(1)

    private let limiter: PrincipalLimiter
    private let traffic: TrafficRecorder
    private let principalID: Int64
    private let readmit: @Sendable () async throws -> Void
    private let uploaded = Atomic<Int64>(0)
    private let downloaded = Atomic<Int64>(0)
    private let admittedAt = Mutex(ContinuousClock.now)

    init(
        limiter: PrincipalLimiter, traffic: TrafficRecorder, principalID: Int64,
        readmit: @escaping @Sendable () async throws -> Void
    ) {
        self.limiter = limiter
        self.traffic = traffic
        self.principalID = principalID
        self.readmit = readmit
    }

    /// Admits the caller again when the last admission is older than ``readmissionInterval``.
    private func readmitWhenDue() async throws {
        let now = ContinuousClock.now
        let due = admittedAt.withLock { admitted in
            guard now - admitted >= Self.readmissionInterval else { return false }
            admitted = now
            return true
        }
        if due { try await readmit() }
    }

    /// Admits the caller again now, however recently it was: for a call that waits between
    /// messages (a watch), so that what it sends after the wait was made while its principal
    /// was enabled. The admission reads the principal's policy through its short-lived cache,
    /// shared by all of the principal's calls.
    func admitAgain() async throws {
        admittedAt.withLock { $0 = .now }
        try await readmit()
    }

    func received(_ bytes: Int) async throws -> Duration {
        try await readmitWhenDue()
        uploaded.add(Int64(bytes), ordering: .relaxed)
        let pause = limiter.received(bytes)
        if pause > .zero { SluiceMetrics.rateLimited(.bytesIn) }
        return pause
    }

    var pacesRequests: Bool { limiter.pacesBytesIn }

    var requestStep: Int? { limiter.requestStep }

    var responseStep: Int? { limiter.responseStep }

    func sending(_ bytes: Int) async throws -> Duration {
        try await readmitWhenDue()
        downloaded.add(Int64(bytes), ordering: .relaxed)
        let pause = limiter.sent(bytes)
        if pause > .zero { SluiceMetrics.rateLimited(.bytesOut) }
        return pause
    }

    func finished() {
        limiter.leaveCall()
        traffic.add(
            principal: principalID, uploaded: uploaded.load(ordering: .relaxed),
            downloaded: downloaded.load(ordering: .relaxed))
    }
}
