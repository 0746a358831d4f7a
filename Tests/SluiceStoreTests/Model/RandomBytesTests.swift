import Testing

@testable import SluiceStore

@Suite struct RandomBytesTests {
    @Test(arguments: [0, 1, 7, 8, 16, 17, 32])
    func givesExactlyTheBytesAskedFor(count: Int) {
        #expect(RandomBytes.make(count).count == count)
    }

    /// 128 bits drawn twice never repeat, and every byte position varies (no stretch of the
    /// result is left constant by the eight-at-a-time assembly).
    @Test func drawsDoNotRepeat() {
        let draws = (0..<64).map { _ in RandomBytes.make(16) }
        #expect(Set(draws).count == draws.count)
        for position in 0..<16 {
            #expect(Set(draws.map { $0[position] }).count > 1)
        }
    }
}
