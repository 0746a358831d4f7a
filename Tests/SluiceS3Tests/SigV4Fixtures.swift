import Foundation
import SluiceS3
import Testing

/// Loads the Signature Version 4 fixtures of Tests/Vectors/sigv4 (see its README.md).
enum SigV4Fixtures {
    /// Found from this file's own path: SwiftPM resources would need Package.swift changes,
    /// and the fixtures are shared with the Python tests anyway.
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()
        .deletingLastPathComponent()
        .appendingPathComponent("Vectors")
        .appendingPathComponent("sigv4")

    static func load<Fixture: Decodable>(_ name: String, as type: Fixture.Type) throws -> Fixture {
        let data = try Data(contentsOf: directory.appendingPathComponent(name))
        return try JSONDecoder().decode(Fixture.self, from: data)
    }

    /// A file of published vectors: the AWS test suite or the S3 documentation's examples.
    struct Published: Decodable {
        struct Case: Decodable, CustomTestStringConvertible {
            let name: String
            /// The raw HTTP request, as in the suite's .req files.
            let req: String
            let creq: String
            let sts: String
            let authz: String
            let sessionToken: String?
            var testDescription: String { name }
        }

        let accessKeyID: String
        let secretAccessKey: String
        let region: String
        let service: String
        let date: String
        let pathCanonicalization: String
        let cases: [Case]

        func signer(for testCase: Case) -> SigV4Signer {
            SigV4Signer(
                credentials: AWSCredentials(
                    accessKeyID: accessKeyID, secretAccessKey: secretAccessKey, sessionToken: testCase.sessionToken),
                region: region, service: service, path: pathCanonicalization == "s3" ? .s3 : .generic)
        }
    }

    /// botocore-cases.json, written by scripts/make-sigv4-fixtures.py.
    struct Botocore: Decodable {
        struct Case: Decodable, CustomTestStringConvertible {
            let name: String
            let region: String
            let accessKeyID: String
            let secretAccessKey: String
            let sessionToken: String?
            let epochSeconds: Int
            let method: String
            let path: String
            let query: [[String]]
            let headers: [[String]]
            let payloadHash: String
            let bodySHA256: String
            let canonicalRequest: String
            let stringToSign: String
            let addedHeaders: [[String]]
            var testDescription: String { name }

            var signer: SigV4Signer {
                SigV4Signer(
                    credentials: AWSCredentials(
                        accessKeyID: accessKeyID, secretAccessKey: secretAccessKey, sessionToken: sessionToken),
                    region: region, service: "s3")
            }

            var request: SignableRequest {
                SignableRequest(
                    method: method, path: path, query: query.map { (name: $0[0], value: $0[1]) },
                    headers: headers.map { (name: $0[0], value: $0[1]) }, payloadHash: payloadHash)
            }

            var date: Date { Date(timeIntervalSince1970: TimeInterval(epochSeconds)) }
        }

        let cases: [Case]
    }

    static let suite = Result { try load("aws-sigv4-testsuite.json", as: Published.self) }
    static let s3Examples = Result { try load("s3-doc-examples.json", as: Published.self) }
    static let botocore = Result { try load("botocore-cases.json", as: Botocore.self) }

    /// Parsed test cases for parameterized tests; a fixture that fails to load yields no
    /// cases, and the count tests then fail with the decoding error.
    static func cases(_ file: Result<Published, any Error>) -> [Published.Case] {
        (try? file.get().cases) ?? []
    }
}

/// A raw request of the AWS test suite (.req file) parsed into what the signer takes.
struct RawHTTPRequest {
    let request: SignableRequest

    /// "METHOD target HTTP/1.1", then "Name:value" lines, a blank line and the body. A line
    /// that starts with whitespace continues the previous header: the suite's
    /// get-header-value-multiline case expects each such line as one more value of it.
    init(_ text: String, payloadHash: (String) -> String) throws {
        let (head, body) = Self.split(text, at: "\n\n")
        var lines = head.components(separatedBy: "\n")
        let requestLine = lines.removeFirst()
        guard let firstSpace = requestLine.firstIndex(of: " "),
            let version = requestLine.range(of: " HTTP/", options: .backwards)
        else { throw ParseError(line: requestLine) }
        let method = String(requestLine[..<firstSpace])
        let target = String(requestLine[requestLine.index(after: firstSpace)..<version.lowerBound])
        let (path, queryText) = Self.split(target, at: "?")

        var query: [(name: String, value: String)] = []
        for pair in queryText.split(separator: "&", omittingEmptySubsequences: true) {
            let (name, value) = Self.split(String(pair), at: "=")
            query.append((name: name.removingPercentEncoding ?? name, value: value.removingPercentEncoding ?? value))
        }

        var headers: [(name: String, value: String)] = []
        for line in lines {
            if let first = line.first, first == " " || first == "\t", let previous = headers.last {
                headers.append((name: previous.name, value: line))
                continue
            }
            guard let colon = line.firstIndex(of: ":") else { throw ParseError(line: line) }
            headers.append((name: String(line[..<colon]), value: String(line[line.index(after: colon)...])))
        }
        request = SignableRequest(
            method: method, path: path, query: query, headers: headers, payloadHash: payloadHash(body))
    }

    struct ParseError: Error { let line: String }

    private static func split(_ text: String, at separator: String) -> (String, String) {
        guard let range = text.range(of: separator) else { return (text, "") }
        return (String(text[..<range.lowerBound]), String(text[range.upperBound...]))
    }
}

extension SigV4Fixtures {
    /// "20150830T123600Z" as a Date.
    static func date(amz text: String) -> Date {
        var components = DateComponents()
        let digits = Array(text.utf8).filter { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
            .map { Int($0 - UInt8(ascii: "0")) }
        func number(_ range: Range<Int>) -> Int { digits[range].reduce(0) { $0 * 10 + $1 } }
        components.year = number(0..<4)
        components.month = number(4..<6)
        components.day = number(6..<8)
        components.hour = number(8..<10)
        components.minute = number(10..<12)
        components.second = number(12..<14)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar.date(from: components)!
    }

    /// The parts of an Authorization header value, whatever separators it uses (the S3
    /// documentation writes "," where botocore and the suite write ", ").
    static func authorizationParts(_ value: String) -> [String] {
        value.split(whereSeparator: { $0 == "," || $0 == " " }).map(String.init)
    }
}
