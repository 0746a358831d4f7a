import Testing

@testable import SluiceHTTP2

/// The stream receive window grows only while it is what holds a sender back: over a long
/// round trip, not on a link whose bytes queue, nor for a busy handler. (A real server behind
/// a long link: Tests/Interop/test_window_growth.py, in a process of its own, where other
/// tests cannot starve the measurement.)
@Suite struct StreamWindowGrowthTests {
    typealias Instant = ContinuousClock.Instant
    let start = ContinuousClock.now

    /// Data for `roundTrip` after a PING sent at `at`: `bytes` arrive, then the acknowledgement.
    private func measure(
        _ tuner: inout ReceiveWindowTuner, at: Duration, roundTrip: Duration, bytes: Int, unread: Int = 0
    ) -> Int? {
        let pings = [tuner.received(1, at: start + at), tuner.received(bytes, at: start + at + roundTrip / 2)]
        #expect(pings == [true, false])
        return tuner.pingAcknowledged(at: start + at + roundTrip, unreadBytes: unread)
    }

    @Test func aWindowFilledInAnUnqueuedRoundTripDoublesUpToTheLimit() {
        var tuner = ReceiveWindowTuner(window: 1 << 20, limit: 5 << 20)
        tuner.settingsSent(at: start)
        tuner.settingsAcknowledged(at: start + .milliseconds(50))
        let windows = [
            measure(&tuner, at: .seconds(1), roundTrip: .milliseconds(55), bytes: 1 << 20),
            measure(&tuner, at: .seconds(2), roundTrip: .milliseconds(60), bytes: 2 << 20),
            measure(&tuner, at: .seconds(3), roundTrip: .milliseconds(50), bytes: 4 << 20),
        ]
        #expect(windows == [2 << 20, 4 << 20, 5 << 20])
        // At the limit it no longer measures: no PING is asked for.
        #expect(!tuner.isTuning)
        let pings = tuner.received(1 << 20, at: start + .seconds(4))
        #expect(!pings)
    }

    @Test func aWindowTheSenderDidNotFillStaysAsItIs() {
        var tuner = ReceiveWindowTuner(window: 1 << 20, limit: 16 << 20)
        let grown = measure(&tuner, at: .zero, roundTrip: .milliseconds(50), bytes: 600 << 10)
        #expect(grown == nil)
        #expect(tuner.window == 1 << 20)
    }

    /// On loopback a window's worth of bytes takes longer to arrive than the bare round trip:
    /// the PING waits behind them. More window would only hold more memory.
    @Test func aRoundTripInflatedByQueuedBytesDoesNotGrowIt() {
        var tuner = ReceiveWindowTuner(window: 2 << 20, limit: 16 << 20)
        tuner.settingsSent(at: start)
        tuner.settingsAcknowledged(at: start + .microseconds(200))
        let grown = measure(&tuner, at: .seconds(1), roundTrip: .milliseconds(3), bytes: 2 << 20)
        #expect(grown == nil)
        #expect(tuner.shortestRoundTrip == .microseconds(200))
        #expect(tuner.window == 2 << 20)
    }

    @Test func bytesTheApplicationHasNotTakenDoNotGrowIt() {
        var tuner = ReceiveWindowTuner(window: 1 << 20, limit: 16 << 20)
        let busy = measure(&tuner, at: .zero, roundTrip: .milliseconds(50), bytes: 1 << 20, unread: 900 << 10)
        let drained = measure(&tuner, at: .seconds(1), roundTrip: .milliseconds(50), bytes: 1 << 20, unread: 100 << 10)
        #expect(busy == nil)
        #expect(drained == 2 << 20)
    }

    /// One PING in flight at a time, and at most one per measuring interval: on loopback, where
    /// a round trip takes microseconds, an upload is not shadowed by a PING per round trip.
    @Test func onePingIsInFlightAtATimeAndOnePerInterval() {
        var tuner = ReceiveWindowTuner(window: 1 << 20, limit: 16 << 20)
        let interval = ReceiveWindowTuner.measuringInterval
        var pings = [tuner.received(100, at: start), tuner.received(100, at: start + .milliseconds(1))]
        _ = tuner.pingAcknowledged(at: start + .milliseconds(2), unreadBytes: 0)
        pings.append(tuner.received(100, at: start + .milliseconds(3)))
        pings.append(tuner.received(100, at: start + interval))
        #expect(pings == [true, false, false, true])
        // An acknowledgement nobody asked for changes nothing.
        var idle = ReceiveWindowTuner(window: 1 << 20, limit: 2 << 20)
        let grown = idle.pingAcknowledged(at: start, unreadBytes: 0)
        #expect(grown == nil)
        #expect(idle.window == 1 << 20)
    }

    /// Without a limit above the window, nothing is measured: no PING, a fixed window.
    @Test func aSessionWithoutALimitKeepsItsWindow() throws {
        var settings = HTTP2Settings()
        settings.streamWindowSize = 1 << 20
        let session = try HTTP2Session(role: .server, settings: settings)
        var before: [UInt8] = []
        _ = try session.flush(upTo: .max) { before += $0 }
        session.dataReceived(1000)
        var after: [UInt8] = []
        _ = try session.flush(upTo: .max) { after += $0 }
        #expect(after.isEmpty)
    }
}
