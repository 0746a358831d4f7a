import Testing

@testable import SluiceClient

/// A listing stops when the server would make it go round for ever.
@Suite struct PageTokensTests {
    @Test func newTokensAreFollowedAndAnEmptyOneEndsTheListing() throws {
        var tokens = PageTokens("listing of 'a/'")
        #expect(try tokens.next("t1", items: 3) == "t1")
        #expect(try tokens.next("t2", items: 0) == "t2")
        #expect(try tokens.next("", items: 1) == "")
    }

    @Test func aRepeatedTokenStopsTheListing() throws {
        var tokens = PageTokens("listing of 'a/'")
        _ = try tokens.next("t1", items: 1)
        _ = try tokens.next("t2", items: 1)
        let error = #expect(throws: EndlessListingError.self) { try tokens.next("t1", items: 1) }
        #expect(error?.description.contains("page 3 of the listing of 'a/'") == true)
        #expect(SluiceExitCode(for: error!) == .failure)
    }

    @Test func tooManyEmptyPagesInARowStopTheListing() throws {
        var tokens = PageTokens("listing of upload sessions")
        for page in 0..<PageTokens.maxEmptyPages {
            _ = try tokens.next("e\(page)", items: page == 50 ? 1 : 0)
        }
        for page in 0...50 {
            _ = try tokens.next("f\(page)", items: 0)
        }
        #expect(throws: EndlessListingError.self) {
            for page in 0..<50 { _ = try tokens.next("g\(page)", items: 0) }
        }
    }
}
