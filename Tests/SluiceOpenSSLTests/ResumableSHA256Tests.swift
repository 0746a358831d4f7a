import SluiceOpenSSL
import Testing

/// A SHA-256 exported mid-stream and resumed from its bytes hashes like one run through.
@Suite struct ResumableSHA256Tests {
    @Test func resumedStateMatchesOneRun() {
        let message = (0..<10_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        // Cut points inside and on the 64-byte block boundary, and at the ends.
        for cut in [0, 1, 63, 64, 65, 4_097, 9_999, 10_000] {
            var first = ResumableSHA256()
            message[..<cut].withUnsafeBytes { first.update($0) }
            let state = first.exported()
            #expect(state.count == ResumableSHA256.exportedSize)
            guard var resumed = ResumableSHA256(exported: state) else {
                Issue.record("state exported at \(cut) does not resume")
                continue
            }
            message[cut...].withUnsafeBytes { resumed.update($0) }
            #expect(resumed.finalize() == SHA256.hash(message), "cut at \(cut)")
        }
    }

    @Test func finalizeLeavesStateUsable() {
        var hasher = ResumableSHA256()
        [UInt8]("ab".utf8).withUnsafeBytes { hasher.update($0) }
        _ = hasher.finalize()
        [UInt8]("c".utf8).withUnsafeBytes { hasher.update($0) }
        #expect(hasher.finalize() == SHA256.hash(Array("abc".utf8)))
    }

    @Test func garbageIsNoState() {
        #expect(ResumableSHA256(exported: []) == nil)
        #expect(ResumableSHA256(exported: [UInt8](repeating: 0, count: ResumableSHA256.exportedSize)) == nil)
    }
}
