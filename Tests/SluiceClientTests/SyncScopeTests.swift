import Foundation
import Testing

@testable import SluiceClient

/// What a watch round looks at, from the paths events name.
@Suite struct SyncScopeTests {
    static let root = "/home/u/Docs"

    @Test func changedPathsMakeAScopeUnlessTheyConcernEverything() {
        #expect(SyncScope.of(changed: ["\(Self.root)/a/b.txt", "\(Self.root)/c"], root: Self.root)
            == .paths(["a/b.txt", "c"]))
        // Sync's own temporary files are not changes.
        #expect(SyncScope.of(changed: ["\(Self.root)/a/.b.txt.sluice-download"], root: Self.root) == .paths([]))
        for whole: PathKey in ["\(Self.root)", "\(Self.root)/.sluiceignore", "/elsewhere/x", "\(Self.root)//x",
                      "\(Self.root)/a/../b"]
        {
            #expect(SyncScope.of(changed: [whole], root: Self.root) == .everything, "\(whole)")
        }
        let many = Set((0...SyncScope.mostPaths).map { PathKey("\(Self.root)/f\($0)") })
        #expect(SyncScope.of(changed: many, root: Self.root) == .everything)
    }

    @Test func rootsCoverWhatIsInsideThemAndTheirParentsMarkers() {
        let scope = ScopedPaths(["a", "a/b/c", "x/y.txt", "top.txt"])
        #expect(scope.roots == ["a", "x/y.txt", "top.txt"])
        #expect(scope.parents == ["x"])
        #expect(scope.parentMarkers == ["x/.sluice-dir"])
        for inside: PathKey in ["a", "a/b/c", "a/.sluice-dir", "x/y.txt", "x/.sluice-dir", "top.txt"] {
            #expect(scope.contains(inside), "\(inside)")
        }
        for outside: PathKey in ["ab", "x/z.txt", "x", ".sluice-dir", "top.txt2", "b/a"] {
            #expect(!scope.contains(outside), "\(outside)")
        }
    }

    /// inotify's records: wd, mask, cookie, len, then len bytes of NUL-padded name.
    static func event(watch: Int32, mask: UInt32, name: String) -> [UInt8] {
        var nameBytes = Array(name.utf8)
        if !nameBytes.isEmpty {
            nameBytes += [UInt8](repeating: 0, count: 16 - nameBytes.count % 16)
        }
        var bytes: [UInt8] = []
        for value in [UInt32(bitPattern: watch), mask, 0, UInt32(nameBytes.count)] {
            bytes += withUnsafeBytes(of: value.littleEndian, Array.init)
        }
        return bytes + nameBytes
    }

    @Test func eventsAreParsedIntoThePathsTheyName() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let inotify = try #require(Inotify())
        #expect(inotify.watch(directory.path))
        // The first watch of a fresh inotify instance is watch descriptor 1.
        let bytes = Self.event(watch: 1, mask: UInt32(IN_CLOSE_WRITE), name: "notes.txt")
            + Self.event(watch: 1, mask: UInt32(IN_DELETE_SELF), name: "")
            + Self.event(watch: 9, mask: UInt32(IN_CREATE), name: "x")
            + Self.event(watch: -1, mask: UInt32(IN_Q_OVERFLOW), name: "")
            + Self.event(watch: 1, mask: UInt32(IN_IGNORED), name: "")
            + Self.event(watch: 1, mask: UInt32(IN_CREATE), name: "after")
        let reports = bytes.withUnsafeBytes { inotify.reports(in: $0) }
        #expect(reports == [.changed(directory.path + "/notes.txt"), .changed(directory.path), .lost, .lost, .lost])
    }
}
