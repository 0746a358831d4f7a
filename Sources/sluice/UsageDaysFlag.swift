import ArgumentParser

/// `--days` of `sluice usage` and `sluice admin usage`: how many UTC days of traffic to show.
struct UsageDaysFlag: ParsableArguments {
    @Option(parsing: .unconditional, help: "Days of traffic to show, today included (1 to 90).")
    var days = 7

    func validate() throws {
        guard (1...90).contains(days) else { throw ValidationError("--days must be 1 to 90, got \(days)") }
    }
}
