import Testing

@testable import SluiceClient

/// When `sync --watch` passes: rounds after activity settles, quiet passes (which may delete)
/// after both sides are still. Driven with made-up instants, so nothing here waits.
struct SyncTriggersTests {
    private let timing = SyncTriggers.Timing(
        debounce: .milliseconds(300), longestDelay: .seconds(3), quietSpell: .seconds(2),
        longestQuietWait: .seconds(60))
    private let start = ContinuousClock.now

    private func at(_ seconds: Double) -> ContinuousClock.Instant {
        start + .milliseconds(Int64(seconds * 1000))
    }

    private func edit(_ state: inout SyncTriggers.State, _ path: String, at seconds: Double) {
        state.request(at: at(seconds), activity: true) { $0.changed.insert(PathKey(path)) }
    }

    @Test func editsGoOutWhileADeletionWaitsForQuiet() {
        var state = SyncTriggers.State()
        state.wantQuiet(at: at(0))
        // Someone types: an edit every half second for 25 s. Each settles 300 ms later and is
        // a round of its own, though the deletion's quiet spell never comes.
        for step in 0..<50 {
            let t = 0.5 * Double(step)
            edit(&state, "/r/notes.txt", at: t)
            #expect(state.take(at: at(t + 0.1), timing) == nil)
            let round = state.take(at: at(t + 0.35), timing)
            #expect(round == SyncTriggers.Pending(full: false, changed: ["/r/notes.txt"], quiet: false), "at \(t) s")
        }
        // The typing stops: 2 s later, the quiet pass that may delete.
        #expect(state.take(at: at(25.0), timing) == nil)
        #expect(state.take(at: at(26.6), timing) == SyncTriggers.Pending(full: true, changed: [], quiet: true))
        #expect(state.take(at: at(40), timing) == nil)
    }

    @Test func changesThatNeverStopDelayAQuietPassAtMostTheLongestWait() {
        var state = SyncTriggers.State()
        state.wantQuiet(at: at(0))
        var quiet: Double?
        for step in 0..<700 where quiet == nil {
            let t = 0.1 * Double(step)
            edit(&state, "/r/log", at: t)
            if state.take(at: at(t + 0.05), timing)?.quiet == true { quiet = t }
        }
        #expect(quiet.map { $0 >= 59.9 && $0 <= 60.1 } == true, "quiet pass at \(String(describing: quiet))")
    }

    @Test func theWatchersOwnRequestsAreNotActivity() {
        // Rounds the watcher asks for itself (deferred actions, the rescan timer) must not
        // put the quiet spell off, or held deletions would wait the longest wait every time.
        var state = SyncTriggers.State()
        state.wantQuiet(at: at(0))
        state.request(at: at(0.5), activity: false) { $0.full = true }
        #expect(state.take(at: at(0.9), timing) == SyncTriggers.Pending(full: true, changed: [], quiet: false))
        state.request(at: at(1.5), activity: false) { $0.full = true }
        #expect(state.take(at: at(2.05), timing) == SyncTriggers.Pending(full: true, changed: [], quiet: true))
    }

    @Test func aQuietPassAskedForAgainWaitsAFreshSpell() {
        var state = SyncTriggers.State()
        state.wantQuiet(at: at(0))
        #expect(state.take(at: at(2.1), timing)?.quiet == true)
        // Deletions still held after it (deferred): the next quiet pass comes a spell later,
        // not at the next poll.
        state.wantQuiet(at: at(2.2))
        #expect(state.take(at: at(3.0), timing) == nil)
        #expect(state.take(at: at(4.3), timing)?.quiet == true)
    }

    @Test func withoutHeldDeletionsARoundSettlesAfterTheDebounceOrTheLongestDelay() {
        var state = SyncTriggers.State()
        edit(&state, "/r/a", at: 0)
        edit(&state, "/r/b", at: 0.2)
        #expect(state.take(at: at(0.4), timing) == nil)
        #expect(state.take(at: at(0.55), timing) == SyncTriggers.Pending(full: false, changed: ["/r/a", "/r/b"], quiet: false))
        for step in 0...31 { edit(&state, "/r/c", at: 1 + 0.1 * Double(step)) }
        #expect(state.take(at: at(4.05), timing)?.changed == ["/r/c"])
    }
}
