import Foundation
import Testing

@testable import SluiceClient

/// Directories reached under a root without following links, and what is done through them.
@Suite struct LocalDirectoryTests {
    @Test func aLinkOrAFileOnTheWayIsNotEntered() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let root = directory.file("root"), outside = directory.file("outside")
        let manager = FileManager.default
        try manager.createDirectory(atPath: root, withIntermediateDirectories: true)
        try manager.createDirectory(atPath: outside, withIntermediateDirectories: true)
        try manager.createSymbolicLink(atPath: root + "/link", withDestinationPath: outside)
        _ = try directory.write([1], to: "root/file")

        #expect(throws: LocalDirectory.Unreachable(component: "link", isSymbolicLink: true)) {
            try LocalDirectory.open(root: root, relative: "link/sub", creating: true)
        }
        #expect(throws: LocalDirectory.Unreachable(component: "file", isSymbolicLink: false)) {
            try LocalDirectory.open(root: root, relative: "file/sub", creating: true)
        }
        #expect(try manager.contentsOfDirectory(atPath: outside).isEmpty)
        #expect(throws: LocalFileError.self) { try LocalDirectory.open(root: root, relative: "a/b", creating: false) }

        let made = try LocalDirectory.open(root: root, relative: "a/b", creating: true)
        #expect(made.path == root + "/a/b")
        #expect(LocalStat.of(root + "/a/b")?.kind == S_IFDIR)
    }

    @Test func failuresNameTheDirectoryNotItsDescriptor() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let root = directory.file("root")
        try FileManager.default.createDirectory(atPath: root + "/d", withIntermediateDirectories: true)
        let held = try LocalDirectory.open(root: root, relative: "d", creating: false)
        let error = await #expect(throws: LocalFileError.self) {
            try await held.namingFiles { _ = try LocalFile.openForReading(held.path(of: "missing")) }
        }
        #expect(error?.path == root + "/d/missing")
        #expect(error?.description.contains("/proc/self/fd") == false)
    }

    @Test func whatIsDoneThroughItStaysInItWhenItsPathBecomesALink() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let root = directory.file("root"), outside = directory.file("outside")
        let manager = FileManager.default
        try manager.createDirectory(atPath: root + "/d", withIntermediateDirectories: true)
        try manager.createDirectory(atPath: outside, withIntermediateDirectories: true)
        let held = try LocalDirectory.open(root: root, relative: "d", creating: false)
        try manager.moveItem(atPath: root + "/d", toPath: root + "/moved")
        try manager.createSymbolicLink(atPath: root + "/d", withDestinationPath: outside)

        try Data([7]).write(to: URL(fileURLWithPath: held.path(of: "t")))
        try held.rename("t", to: "f")
        #expect(held.status(of: "f")?.stat.size == 1)
        #expect(try manager.contentsOfDirectory(atPath: root + "/moved") == ["f"])
        #expect(try manager.contentsOfDirectory(atPath: outside).isEmpty)
        try held.removeFile("f")
        try held.removeFile("f")
        #expect(try manager.contentsOfDirectory(atPath: root + "/moved").isEmpty)
        #expect(held.status(of: "f") == nil)
    }
}
