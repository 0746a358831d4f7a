/// A gitignore-style glob over "/"-separated paths: `*` and `?` stay within one path
/// component, `**` crosses components (`**/` also matches no directory at all), `[abc]`,
/// `[a-z]` and `[!x]` (or `[^x]`) match one byte of a class, and `\` takes the next
/// character literally. Matching is by bytes (UTF-8), whole path against whole pattern.
struct GlobPattern: Sendable, Equatable {
    private enum Token: Sendable, Equatable {
        case literal(UInt8)
        case anyByte
        case anyRun
        case anyPath
        case byteClass(ranges: [ClosedRange<UInt8>], negated: Bool)
    }

    private let tokens: [Token]
    private static let slash = UInt8(ascii: "/")

    init(_ pattern: String) {
        var tokens: [Token] = []
        let bytes = Array(pattern.utf8)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\\") where index + 1 < bytes.count:
                tokens.append(.literal(bytes[index + 1]))
                index += 2
            case UInt8(ascii: "*"):
                if index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "*") {
                    tokens.append(.anyPath)
                    index += 2
                    while index < bytes.count, bytes[index] == UInt8(ascii: "*") { index += 1 }
                } else {
                    tokens.append(.anyRun)
                    index += 1
                }
            case UInt8(ascii: "?"):
                tokens.append(.anyByte)
                index += 1
            case UInt8(ascii: "["):
                if let (token, next) = Self.byteClass(bytes, from: index) {
                    tokens.append(token)
                    index = next
                } else {
                    tokens.append(.literal(byte))
                    index += 1
                }
            default:
                tokens.append(.literal(byte))
                index += 1
            }
        }
        self.tokens = tokens
    }

    /// `[...]` starting at `start`; nil when it is not closed (then "[" is a literal).
    private static func byteClass(_ bytes: [UInt8], from start: Int) -> (Token, Int)? {
        var index = start + 1
        var negated = false
        if index < bytes.count, bytes[index] == UInt8(ascii: "!") || bytes[index] == UInt8(ascii: "^") {
            negated = true
            index += 1
        }
        var ranges: [ClosedRange<UInt8>] = []
        var first = true
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "]") && !first {
                return (.byteClass(ranges: ranges, negated: negated), index + 1)
            }
            first = false
            if index + 2 < bytes.count, bytes[index + 1] == UInt8(ascii: "-"), bytes[index + 2] != UInt8(ascii: "]") {
                let (low, high) = (byte, bytes[index + 2])
                if low <= high { ranges.append(low...high) }
                index += 3
            } else {
                ranges.append(byte...byte)
                index += 1
            }
        }
        return nil
    }

    func matches(_ path: String) -> Bool {
        let subject = Array(path.utf8)
        var memo = Set<Int>()
        return match(0, 0, subject, &memo)
    }

    /// Whether tokens from `token` match `subject` from `position`; `failed` remembers
    /// (token, position) pairs already known not to match, so that no pattern takes
    /// exponential time.
    private func match(_ token: Int, _ position: Int, _ subject: [UInt8], _ failed: inout Set<Int>) -> Bool {
        let key = token * (subject.count + 1) + position
        if failed.contains(key) { return false }
        let result: Bool
        if token == tokens.count {
            result = position == subject.count
        } else {
            switch tokens[token] {
            case .literal(let byte):
                result = position < subject.count && subject[position] == byte
                    && match(token + 1, position + 1, subject, &failed)
            case .anyByte:
                result = position < subject.count && subject[position] != Self.slash
                    && match(token + 1, position + 1, subject, &failed)
            case .byteClass(let ranges, let negated):
                result = position < subject.count && subject[position] != Self.slash
                    && ranges.contains { $0.contains(subject[position]) } != negated
                    && match(token + 1, position + 1, subject, &failed)
            case .anyRun:
                var end = position
                var found = match(token + 1, end, subject, &failed)
                while !found, end < subject.count, subject[end] != Self.slash {
                    end += 1
                    found = match(token + 1, end, subject, &failed)
                }
                result = found
            case .anyPath:
                // "**/" may match no directory at all.
                if token + 1 < tokens.count, tokens[token + 1] == .literal(Self.slash),
                   match(token + 2, position, subject, &failed)
                {
                    result = true
                } else {
                    var end = position
                    var found = match(token + 1, end, subject, &failed)
                    while !found, end < subject.count {
                        end += 1
                        found = match(token + 1, end, subject, &failed)
                    }
                    result = found
                }
            }
        }
        if !result { failed.insert(key) }
        return result
    }
}
