@testable import SluiceHTTP2
import Testing

/// A flush serializes frames in bounded rounds (what keeps a connection's TLS and channel
/// buffers small while many streams have data ready) and loses nothing between rounds.
@Suite struct SessionFlushTests {
    @Test func aRoundStopsAtItsLimitAndTheNextCarriesOnWhereItStopped() throws {
        let bounded = try HTTP2Session(role: .client, settings: HTTP2Settings())
        let whole = try HTTP2Session(role: .client, settings: HTTP2Settings())
        for session in [bounded, whole] {
            for _ in 0..<200 { session.submitPing() }
        }
        var all: [UInt8] = []
        #expect(try whole.flush(upTo: .max) { all += $0 } == false)

        var rounds: [[UInt8]] = []
        var stoppedAtLimit = true
        while stoppedAtLimit {
            var round: [UInt8] = []
            stoppedAtLimit = try bounded.flush(upTo: 1000) { round += $0 }
            rounds.append(round)
        }
        // 200 PINGs of 17 bytes each: several rounds, each ending at the frame that crossed
        // the limit, together the very bytes of one unbounded flush.
        #expect(rounds.count > 3)
        #expect(rounds.dropLast().allSatisfy { $0.count >= 1000 && $0.count < 1000 + 100 })
        #expect(Array(rounds.joined()) == all)
    }
}
