import Foundation

/// The pieces of Signature Version 4's canonical request. Each is a pure function of its input
/// so the published test vectors can check them one at a time.
enum CanonicalRequest {
    /// The canonical request: method, URI, query, headers, signed header names, payload hash,
    /// one per line (the header block brings its own trailing newline, hence the blank line).
    static func text(
        method: String, uri: String, query: String, headers: Headers, payloadHash: String
    ) -> String {
        [method, uri, query, headers.block, headers.signedNames, payloadHash].joined(separator: "\n")
    }

    /// S3 signs the path as sent; every other service signs it with dot segments and empty
    /// segments removed and each segment encoded (again, if it already was).
    static func uri(path: String, canonicalization: SigV4Signer.PathCanonicalization) -> String {
        switch canonicalization {
        case .s3:
            return path.isEmpty ? "/" : path
        case .generic:
            return AWSPercentEncoding.encode(normalized(path), keepingSlashes: true)
        }
    }

    /// Dot segments resolved and empty segments dropped, keeping a trailing slash the path had
    /// (as botocore and the test suite's get-slashes case do: "//example//" is "/example/").
    static func normalized(_ path: String) -> String {
        var segments: [Substring] = []
        for segment in path.split(separator: "/", omittingEmptySubsequences: true) {
            switch segment {
            case ".": continue
            case "..": _ = segments.popLast()
            default: segments.append(segment)
            }
        }
        let keepsTrailingSlash = path.hasSuffix("/") && !segments.isEmpty
        return "/" + segments.joined(separator: "/") + (keepsTrailingSlash ? "/" : "")
    }

    /// Each name and value encoded, sorted by encoded name and then encoded value (byte order),
    /// joined with "&"; a bare name still gets its "=".
    static func query(_ parameters: [(name: String, value: String)]) -> String {
        parameters
            .map { (AWSPercentEncoding.encode($0.name), AWSPercentEncoding.encode($0.value)) }
            .sorted { left, right in
                left.0 == right.0 ? precedesInBytes(left.1, right.1) : precedesInBytes(left.0, right.0)
            }
            .map { "\($0.0)=\($0.1)" }
            .joined(separator: "&")
    }

    /// The canonical header block and the signed-header list, which must name the same headers.
    struct Headers {
        /// "name:value\n" for each header, names lower-cased and sorted, values trimmed with
        /// inner whitespace runs collapsed, repeated names joined by ",".
        let block: String
        /// The sorted lower-case names joined by ";".
        let signedNames: String

        init(_ headers: [(name: String, value: String)]) {
            var valuesByName: [String: [String]] = [:]
            for header in headers {
                let name = header.name.trimmingCharacters(in: .whitespaces).lowercased()
                valuesByName[name, default: []].append(Headers.trimmed(header.value))
            }
            let names = valuesByName.keys.sorted(by: precedesInBytes)
            block = names.map { "\($0):\(valuesByName[$0]!.joined(separator: ","))\n" }.joined()
            signedNames = names.joined(separator: ";")
        }

        /// Signature Version 4's "Trimall": leading and trailing whitespace dropped, each inner
        /// run made one space. Splitting on every whitespace character, as botocore does, keeps
        /// both signers agreeing on tabs and folded lines too.
        static func trimmed(_ value: String) -> String {
            value.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        }
    }

    /// AWS sorts by byte value; Swift orders Strings after Unicode normalization, under which
    /// different bytes can compare equal, so compare the UTF-8 bytes themselves.
    static func precedesInBytes(_ left: String, _ right: String) -> Bool {
        left.utf8.lexicographicallyPrecedes(right.utf8)
    }
}
