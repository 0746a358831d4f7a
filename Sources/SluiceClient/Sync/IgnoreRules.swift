/// The rules of a `.sluiceignore` file at the top of a synced directory: a subset of
/// gitignore. One pattern per line; blank lines and lines starting with `#` are ignored;
/// trailing spaces are dropped. A pattern ending with `/` matches directories only. A
/// pattern containing `/` elsewhere (a leading `/` included) is matched against the whole
/// path from the top; one without is matched against the last path component at any depth.
/// `!pattern` re-includes what an earlier pattern excluded; the last matching line wins.
/// Everything inside an excluded directory is excluded (it is not even looked into, so a
/// `!` cannot bring back a file under it). Globs: see `GlobPattern`.
public struct IgnoreRules: Sendable {
    struct Rule: Sendable {
        var pattern: GlobPattern
        var negated: Bool
        var directoryOnly: Bool
        var wholePath: Bool
    }

    let rules: [Rule]

    /// No rules: nothing is excluded.
    public static let none = IgnoreRules(text: "")

    public init(text: String) {
        var rules: [Rule] = []
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            var line = Substring(rawLine.hasSuffix("\r") ? rawLine.dropLast() : rawLine)
            while line.hasSuffix(" ") && !line.hasSuffix("\\ ") { line = line.dropLast() }
            guard !line.isEmpty, !line.hasPrefix("#") else { continue }
            var negated = false
            if line.hasPrefix("!") {
                negated = true
                line = line.dropFirst()
            } else if line.hasPrefix("\\!") || line.hasPrefix("\\#") {
                line = line.dropFirst()
            }
            var directoryOnly = false
            if line.hasSuffix("/") {
                directoryOnly = true
                line = line.dropLast()
            }
            let wholePath = line.contains("/")
            if line.hasPrefix("/") { line = line.dropFirst() }
            guard !line.isEmpty else { continue }
            rules.append(Rule(
                pattern: GlobPattern(String(line)), negated: negated, directoryOnly: directoryOnly,
                wholePath: wholePath))
        }
        self.rules = rules
    }

    /// Whether the path itself (not its parents) is excluded by the rules.
    public func excludesItself(_ path: String, isDirectory: Bool) -> Bool {
        let component = path.split(separator: "/").last.map(String.init) ?? path
        var excluded = false
        for rule in rules where !rule.directoryOnly || isDirectory {
            if rule.pattern.matches(rule.wholePath ? path : component) { excluded = !rule.negated }
        }
        return excluded
    }

    /// Whether the path, or any directory it is inside, is excluded: what decides for a
    /// name seen on the remote side (the local scan never descends into an excluded folder).
    public func excludes(_ path: String, isDirectory: Bool) -> Bool {
        var parent = ""
        for component in path.split(separator: "/").dropLast() {
            parent += parent.isEmpty ? String(component) : "/" + component
            if excludesItself(parent, isDirectory: true) { return true }
        }
        return excludesItself(path, isDirectory: isDirectory)
    }
}
