import SluiceDuration
import Testing

@Suite struct DurationUnitsTests {
    @Test func secondsKeepTheirFractions() {
        #expect(Duration.milliseconds(1500).inSeconds == 1.5)
        #expect(Duration.nanoseconds(1).inSeconds == 1e-9)
        #expect(Duration.zero.inSeconds == 0)
    }

    @Test func nanosecondsSaturateInsteadOfTrapping() {
        #expect(Duration.seconds(2).inNanoseconds == 2_000_000_000)
        #expect(Duration.seconds(Int64.max).inNanoseconds == Int64.max)
        #expect(Duration.seconds(Int64.min).inNanoseconds == Int64.min)
        #expect(Duration.seconds(10_000_000_000).inNanosecondsExactly == Int128(10_000_000_000) * 1_000_000_000)
    }

    /// A wait told in milliseconds must not end early: any fraction of one counts as one.
    @Test func millisecondsRoundUp() {
        #expect(Duration.zero.inMillisecondsRoundedUp == 0)
        #expect(Duration.nanoseconds(1).inMillisecondsRoundedUp == 1)
        #expect(Duration.milliseconds(250).inMillisecondsRoundedUp == 250)
        #expect(Duration.microseconds(250_001).inMillisecondsRoundedUp == 251)
        #expect(Duration.seconds(Int64.max).inMillisecondsRoundedUp == Int64.max)
    }

    @Test func secondsFromANumberAreClamped() {
        let day = Duration.seconds(86_400)
        #expect(Duration.seconds(clamping: 1.5, atMost: day) == .milliseconds(1500))
        #expect(Duration.seconds(clamping: 1e-10, atMost: day) == .nanoseconds(1))
        #expect(Duration.seconds(clamping: -3, atMost: day) == .zero)
        #expect(Duration.seconds(clamping: .nan, atMost: day) == .zero)
        #expect(Duration.seconds(clamping: .infinity, atMost: day) == day)
        #expect(Duration.seconds(clamping: 1e30, atMost: day) == day)
        let longest = Duration.seconds(Int64.max)
        #expect(Duration.seconds(clamping: 1e12, atMost: longest) == .seconds(1_000_000_000_000))
        #expect(Duration.seconds(clamping: 9.3e18, atMost: longest) == longest)
    }
}
