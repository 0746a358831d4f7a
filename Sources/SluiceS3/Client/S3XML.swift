import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// An S3 response document as a tree of elements: S3's XML is small, namespaced by default and
/// uses no attributes that matter, so names and text are all the client reads.
struct S3XMLElement {
    var name: String
    var text = ""
    var children: [S3XMLElement] = []

    /// The first child named `name`.
    func child(_ name: String) -> S3XMLElement? { children.first { $0.name == name } }

    /// The text of the first child named `name`.
    func value(_ name: String) -> String? { child(name)?.text }

    /// Parses `bytes`; nil if they are not well-formed XML.
    static func parse(_ bytes: [UInt8]) -> S3XMLElement? {
        let builder = TreeBuilder()
        let parser = XMLParser(data: Data(bytes))
        parser.delegate = builder
        guard parser.parse(), let root = builder.root else { return nil }
        return root
    }

    private final class TreeBuilder: NSObject, XMLParserDelegate {
        var stack: [S3XMLElement] = []
        var root: S3XMLElement?

        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?,
                    qualifiedName: String?, attributes: [String: String] = [:]) {
            stack.append(S3XMLElement(name: name))
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) {
            guard !stack.isEmpty else { return }
            stack[stack.count - 1].text += string
        }

        func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
            guard let finished = stack.popLast() else { return }
            if stack.isEmpty { root = finished } else { stack[stack.count - 1].children.append(finished) }
        }
    }
}
