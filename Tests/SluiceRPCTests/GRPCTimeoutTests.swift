import SluiceRPC
import Testing

@Suite struct GRPCTimeoutTests {
    @Test func parsesEveryUnit() {
        #expect(GRPCTimeout.parse("2H") == .seconds(7200))
        #expect(GRPCTimeout.parse("3M") == .seconds(180))
        #expect(GRPCTimeout.parse("4S") == .seconds(4))
        #expect(GRPCTimeout.parse("5m") == .milliseconds(5))
        #expect(GRPCTimeout.parse("6u") == .microseconds(6))
        #expect(GRPCTimeout.parse("7n") == .nanoseconds(7))
        #expect(GRPCTimeout.parse("0S") == .zero)
        #expect(GRPCTimeout.parse("00000010m") == .milliseconds(10))
        #expect(GRPCTimeout.parse("99999999H") == .seconds(99_999_999 * 3600))
    }

    @Test func acceptsUpToEighteenDigits() throws {
        #expect(GRPCTimeout.parse("123456789012345678n") == .nanoseconds(123_456_789_012_345_678))
        #expect(GRPCTimeout.parse("1234567890123456789n") == nil)
        // A product that overflows Int64 neither traps nor wraps: it is at least the
        // longest timeout the spec can express.
        let huge = try #require(GRPCTimeout.parse("999999999999999999H"))
        #expect(huge >= .seconds(99_999_999 * 3600))
    }

    @Test(arguments: ["", "S", "m", "1", "12", "1x", "1s", "1h", "-1S", "+1S", "abcS", "1.5S", " 1S", "1S ", "1 S", "S1", "1SS", "١S"])
    func rejectsMalformed(_ text: String) {
        #expect(GRPCTimeout.parse(text) == nil)
    }

    @Test func formatsInTheFinestUnitThatFits() {
        #expect(GRPCTimeout.format(.nanoseconds(1)) == "1n")
        #expect(GRPCTimeout.format(.nanoseconds(99_999_999)) == "99999999n")
        #expect(GRPCTimeout.format(.nanoseconds(100_000_000)) == "100000u")
        #expect(GRPCTimeout.format(.milliseconds(250)) == "250000u")
        #expect(GRPCTimeout.format(.seconds(1)) == "1000000u")
        #expect(GRPCTimeout.format(.seconds(100)) == "100000m")
        #expect(GRPCTimeout.format(.seconds(100_000)) == "100000S")
        #expect(GRPCTimeout.format(.seconds(100_000_000)) == "1666667M")
        #expect(GRPCTimeout.format(.seconds(6_000_000_000)) == "1666667H")
        #expect(GRPCTimeout.format(.zero) == "0n")
    }

    @Test func formatRoundsUp() {
        #expect(GRPCTimeout.format(.nanoseconds(100_000_001)) == "100001u")
        #expect(GRPCTimeout.format(.seconds(100) + .nanoseconds(1)) == "100001m")
        #expect(GRPCTimeout.format(.seconds(100_000_000) + .nanoseconds(1)) == "1666667M")
        #expect(GRPCTimeout.format(.seconds(60 * 99_999_999)) == "99999999M")
        #expect(GRPCTimeout.format(.seconds(60 * 99_999_999) + .nanoseconds(1)) == "1666667H")
    }

    @Test func negativeDurationsBecomeZero() {
        #expect(GRPCTimeout.format(.seconds(-5)) == "0n")
        #expect(GRPCTimeout.format(.milliseconds(-1)) == "0n")
    }

    @Test func formatFitsEightDigitsAndNeverShortens() {
        var generator = SplitMix64(seed: 99)
        var samples: [Duration] = [.nanoseconds(1), .microseconds(1), .milliseconds(1), .seconds(1), .seconds(59), .seconds(3599)]
        for _ in 0..<2000 {
            // Up to 10^18 ns (about 31 years), spread over every order of magnitude.
            var bound: Int64 = 1
            for _ in 0..<Int.random(in: 1...18, using: &generator) { bound *= 10 }
            samples.append(.nanoseconds(Int64.random(in: 0..<bound, using: &generator)))
        }
        for duration in samples {
            let text = GRPCTimeout.format(duration)
            #expect(text.utf8.count <= 9, "\(duration) -> \(text)")
            guard let parsed = GRPCTimeout.parse(text) else {
                Issue.record("format(\(duration)) = \(text) does not parse")
                continue
            }
            #expect(parsed >= duration, "\(duration) -> \(text)")
        }
    }

    /// Durations of centuries are legal `Duration`s (a caller may use one to mean "no
    /// deadline"); formatting one must not trap. Run in a child process since it traps.
    @Test func formatsVeryLongDurationsWithoutTrapping() async {
        await #expect(processExitsWith: .success) {
            let text = GRPCTimeout.format(.seconds(10_000_000_000))
            precondition(text == "2777778H", text)
            let longest = GRPCTimeout.format(.seconds(Int64.max))
            precondition(longest == "99999999H", longest)
        }
    }
}
