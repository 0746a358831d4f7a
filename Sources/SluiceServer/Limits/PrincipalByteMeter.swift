import SluiceMetrics
import SluiceRPC
import Synchronization

/// Paces one call's message bytes by its principal's byte rate limits (sleeping while the
/// principal is in debt, which holds back flow-control window, so the client slows down;
/// nothing is refused), and reports its bytes as traffic when it ends.
final class PrincipalByteMeter: CallByteMeter {
    private let limiter: PrincipalLimiter
    private let traffic: TrafficRecorder
    private let principalID: Int64
    private let uploaded = Atomic<Int64>(0)
    private let downloaded = Atomic<Int64>(0)

    init(limiter: PrincipalLimiter, traffic: TrafficRecorder, principalID: Int64) {
        self.limiter = limiter
        self.traffic = traffic
        self.principalID = principalID
    }

    func received(_ bytes: Int) async throws {
        uploaded.add(Int64(bytes), ordering: .relaxed)
        let pause = limiter.received(bytes)
        if pause > .zero {
            SluiceMetrics.rateLimited(.bytesIn)
            try await Task.sleep(for: pause)
        }
    }

    func sent(_ bytes: Int) async throws {
        downloaded.add(Int64(bytes), ordering: .relaxed)
        let pause = limiter.sent(bytes)
        if pause > .zero {
            SluiceMetrics.rateLimited(.bytesOut)
            try await Task.sleep(for: pause)
        }
    }

    func finished() {
        limiter.leaveCall()
        traffic.add(
            principal: principalID, uploaded: uploaded.load(ordering: .relaxed),
            downloaded: downloaded.load(ordering: .relaxed))
    }
}
