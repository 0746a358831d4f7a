import Foundation
import SluiceProto
import Testing

@testable import SluiceClient

/// What `sluice usage` prints of the prefixes: every one listed, and one line summing those the
/// server left out (it lists at most the 500 largest).
@Suite struct UsageTextTests {
    static func usage(omitted: Int64) -> Sluice_V1_Usage {
        var usage = Sluice_V1_Usage()
        usage.prefixes = [
            .with { $0.prefix = "docs/"; $0.logicalBytes = 8000; $0.objects = 2; $0.versions = 3 },
        ]
        usage.omittedPrefixCount = omitted
        usage.omittedPrefixes = .with { $0.logicalBytes = 25; $0.objects = 24; $0.versions = 26 }
        return usage
    }

    @Test func omittedPrefixesPrintAsOneSummaryLine() throws {
        let lines = UsageText.lines(Self.usage(omitted: 24))
        #expect(lines.suffix(2) == ["  docs/  8000  2  3", "  (24 smaller prefixes)  25  24  26"])
        let json = try JSONSerialization.jsonObject(with: Data(UsageText.json(Self.usage(omitted: 24)).utf8))
            as? [String: Any]
        #expect(json?["omitted_prefix_count"] as? Int == 24)
        #expect((json?["omitted_prefixes"] as? [String: Any])?["logical_bytes"] as? Int == 25)
    }

    @Test func noSummaryLineWhenEveryPrefixIsListed() {
        #expect(UsageText.lines(Self.usage(omitted: 0)).last == "  docs/  8000  2  3")
    }
}
