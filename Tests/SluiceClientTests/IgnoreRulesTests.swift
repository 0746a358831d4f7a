import Testing

@testable import SluiceClient

/// `.sluiceignore`: the gitignore-like subset sync understands.
@Suite struct IgnoreRulesTests {
    @Test func globsMatchTheLastComponentAtAnyDepth() {
        let rules = IgnoreRules(text: "*.tmp\n# a comment\n\n  \nbuild?\n")
        #expect(rules.excludes("a.tmp", isDirectory: false))
        #expect(rules.excludes("deep/er/b.tmp", isDirectory: false))
        #expect(!rules.excludes("a.tmpx", isDirectory: false))
        #expect(rules.excludes("x/build1", isDirectory: false))
        #expect(!rules.excludes("# a comment", isDirectory: false))
    }

    @Test func aTrailingSlashMatchesDirectoriesOnlyAndEverythingInThem() {
        let rules = IgnoreRules(text: "cache/\n")
        #expect(rules.excludes("cache", isDirectory: true))
        #expect(!rules.excludes("cache", isDirectory: false))
        #expect(rules.excludes("a/cache/file", isDirectory: false))
    }

    @Test func aSlashAnchorsToTheTop() {
        let rules = IgnoreRules(text: "/top.txt\ndocs/*.pdf\n")
        #expect(rules.excludes("top.txt", isDirectory: false))
        #expect(!rules.excludes("sub/top.txt", isDirectory: false))
        #expect(rules.excludes("docs/a.pdf", isDirectory: false))
        #expect(!rules.excludes("docs/sub/a.pdf", isDirectory: false))
        #expect(!rules.excludes("other/docs/a.pdf", isDirectory: false))
    }

    @Test func negationReincludesAndTheLastMatchWins() {
        let rules = IgnoreRules(text: "*.log\n!keep.log\n")
        #expect(rules.excludes("a.log", isDirectory: false))
        #expect(!rules.excludes("keep.log", isDirectory: false))
        #expect(!rules.excludes("x/keep.log", isDirectory: false))
        // A file inside an excluded directory cannot be brought back.
        let inside = IgnoreRules(text: "out/\n!out/keep\n")
        #expect(inside.excludes("out/keep", isDirectory: false))
    }

    @Test func doubleStarCrossesDirectories() {
        let rules = IgnoreRules(text: "**/node_modules\na/**/z.txt\nlogs/**\n")
        #expect(rules.excludes("node_modules", isDirectory: true))
        #expect(rules.excludes("x/y/node_modules", isDirectory: true))
        #expect(rules.excludes("a/z.txt", isDirectory: false))
        #expect(rules.excludes("a/b/c/z.txt", isDirectory: false))
        #expect(rules.excludes("logs/1/2.txt", isDirectory: false))
        #expect(!rules.excludes("logs", isDirectory: false))
    }

    @Test func classesAndEscapes() {
        let rules = IgnoreRules(text: "[abc].txt\n[!0-9]x\n\\#hash\n\\!bang\n")
        #expect(rules.excludes("b.txt", isDirectory: false))
        #expect(!rules.excludes("d.txt", isDirectory: false))
        #expect(rules.excludes("zx", isDirectory: false))
        #expect(!rules.excludes("5x", isDirectory: false))
        #expect(rules.excludes("#hash", isDirectory: false))
        #expect(rules.excludes("!bang", isDirectory: false))
    }

    @Test func pathologicalPatternsStayFast() {
        let rules = IgnoreRules(text: String(repeating: "*a", count: 20) + "b\n")
        #expect(!rules.excludes(String(repeating: "a", count: 60), isDirectory: false))
    }
}
