import Foundation
import SluiceProto
import SwiftProtobuf
import Testing

@testable import SluiceClient

/// What `sluice watch` prints and where it keeps its cursor.
@Suite struct WatchOutputTests {
    static var created: Sluice_V1_Change {
        var change = Sluice_V1_Change()
        change.cursor = "c1.17"
        change.kind = .versionCreated
        change.owner = "alice"
        change.name = "docs/a b.txt"
        change.version = 3
        change.size = 1234
        change.sha256 = Data(repeating: 0xab, count: 32)
        change.commitTime = Google_Protobuf_Timestamp(seconds: 1_700_000_000)
        return change
    }

    @Test func textLineHasTimeKindOwnerNameVersionSizeAndCursor() {
        #expect(ChangeText.line(Self.created) == "2023-11-14T22:13:20Z version_created alice docs/a b.txt v3 1234 c1.17")
        var deleted = Self.created
        deleted.kind = .objectDeleted
        deleted.owner = ""
        #expect(ChangeText.line(deleted) == "2023-11-14T22:13:20Z object_deleted - docs/a b.txt c1.17")
    }

    @Test func jsonCarriesEveryField() throws {
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(ChangeText.json(Self.created).utf8)) as? [String: Any])
        #expect(object["cursor"] as? String == "c1.17")
        #expect(object["kind"] as? String == "version_created")
        #expect(object["name"] as? String == "docs/a b.txt")
        #expect(object["version"] as? Int == 3 && object["size"] as? Int == 1234)
        #expect(object["sha256"] as? String == String(repeating: "ab", count: 32))
    }

    @Test func cursorFilesAreOnePerServerOwnerAndPrefixAndRoundTrip() throws {
        let environment = ["SLUICE_STATE_DIR": NSTemporaryDirectory() + "sluice-watch-\(UUID().uuidString)"]
        let a = WatchCursorFile.standard(server: "s:1", owner: "", prefix: "docs/", environment: environment)
        let b = WatchCursorFile.standard(server: "s:1", owner: "", prefix: "docs", environment: environment)
        #expect(a.path != b.path)
        #expect(a.path.hasPrefix(environment["SLUICE_STATE_DIR"]! + "/watch/"))
        #expect(try a.load() == "")
        try a.save("c1.5")
        #expect(try a.load() == "c1.5")
        // A file holding no cursor is an error naming it, never "watch from now".
        try a.save("")
        #expect(throws: UnreadableCursorFileError.self) { try a.load() }
        try? FileManager.default.removeItem(atPath: environment["SLUICE_STATE_DIR"]!)
    }
}
