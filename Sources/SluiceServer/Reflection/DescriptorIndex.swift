import SwiftProtobuf

/// The protobuf files a server can describe, indexed for server reflection: by file
/// name, by every symbol they define, and by the extensions they declare.
///
/// Built once from serialized `FileDescriptorProto`s (see `SluiceProtoFiles`); answers
/// hand out the serialized bytes as they were given.
public struct DescriptorIndex: Sendable {
    /// Serialized descriptors by file name.
    private let files: [String: [UInt8]]
    /// The direct imports of each file.
    private let dependencies: [String: [String]]
    /// The file defining each fully qualified symbol (no leading dot): packages' services,
    /// methods, messages, fields, oneofs, enums, enum values and extensions.
    private let fileBySymbol: [String: String]
    /// Fully qualified names of message types.
    private let messageTypes: Set<String>
    /// Extensions by extended message type, then by field number: the declaring file.
    private let extensions: [String: [Int32: String]]

    /// Indexes the given files. Throws when a descriptor does not parse.
    public init(serializedFiles: [String: [UInt8]]) throws {
        var dependencies: [String: [String]] = [:]
        var collector = SymbolCollector()
        for (name, bytes) in serializedFiles {
            let file = try Google_Protobuf_FileDescriptorProto(serializedBytes: bytes)
            dependencies[name] = file.dependency
            collector.add(file, as: name)
        }
        self.files = serializedFiles
        self.dependencies = dependencies
        self.fileBySymbol = collector.fileBySymbol
        self.messageTypes = collector.messageTypes
        self.extensions = collector.extensions
    }

    /// Names of all indexed files, sorted.
    public var fileNames: [String] { files.keys.sorted() }

    /// Whether a file of this name is indexed.
    public func contains(file name: String) -> Bool { files[name] != nil }

    /// The file defining a fully qualified symbol; a leading dot is ignored.
    public func file(definingSymbol symbol: String) -> String? {
        fileBySymbol[symbol.hasPrefix(".") ? String(symbol.dropFirst()) : symbol]
    }

    /// Whether the fully qualified name is a message type.
    public func isMessageType(_ name: String) -> Bool {
        messageTypes.contains(name.hasPrefix(".") ? String(name.dropFirst()) : name)
    }

    /// The file declaring extension `number` of a message type.
    public func file(definingExtensionOf type: String, number: Int32) -> String? {
        extensions[type.hasPrefix(".") ? String(type.dropFirst()) : type]?[number]
    }

    /// The extension numbers declared for a message type, sorted; empty when none are.
    public func extensionNumbers(of type: String) -> [Int32] {
        (extensions[type.hasPrefix(".") ? String(type.dropFirst()) : type] ?? [:]).keys.sorted()
    }

    /// The serialized descriptor of a file followed by those of everything it imports,
    /// directly or not, each once; nil when the file is not indexed.
    public func serializedFileWithDependencies(_ name: String) -> [[UInt8]]? {
        guard files[name] != nil else { return nil }
        var order = [name]
        var seen: Set<String> = [name]
        var next = 0
        while next < order.count {
            for dependency in dependencies[order[next]] ?? [] where !seen.contains(dependency) {
                seen.insert(dependency)
                order.append(dependency)
            }
            next += 1
        }
        // An import the index lacks is left out; the client will report it missing.
        return order.compactMap { files[$0] }
    }
}

/// Walks file descriptors and records where each symbol is defined.
private struct SymbolCollector {
    var fileBySymbol: [String: String] = [:]
    var messageTypes: Set<String> = []
    var extensions: [String: [Int32: String]] = [:]

    mutating func add(_ file: Google_Protobuf_FileDescriptorProto, as name: String) {
        let scope = file.package
        for message in file.messageType { add(message, in: scope, file: name) }
        for enumType in file.enumType { add(enumType, in: scope, file: name) }
        for field in file.extension { addExtension(field, in: scope, file: name) }
        for service in file.service {
            let serviceName = qualified(scope, service.name)
            fileBySymbol[serviceName] = name
            for method in service.method { fileBySymbol[qualified(serviceName, method.name)] = name }
        }
    }

    private mutating func add(_ message: Google_Protobuf_DescriptorProto, in scope: String, file: String) {
        let messageName = qualified(scope, message.name)
        fileBySymbol[messageName] = file
        messageTypes.insert(messageName)
        for field in message.field { fileBySymbol[qualified(messageName, field.name)] = file }
        for oneof in message.oneofDecl { fileBySymbol[qualified(messageName, oneof.name)] = file }
        for nested in message.nestedType { add(nested, in: messageName, file: file) }
        for enumType in message.enumType { add(enumType, in: messageName, file: file) }
        for field in message.extension { addExtension(field, in: messageName, file: file) }
    }

    private mutating func add(_ enumType: Google_Protobuf_EnumDescriptorProto, in scope: String, file: String) {
        fileBySymbol[qualified(scope, enumType.name)] = file
        // Enum values are scoped beside their enum, as in C++.
        for value in enumType.value { fileBySymbol[qualified(scope, value.name)] = file }
    }

    private mutating func addExtension(
        _ field: Google_Protobuf_FieldDescriptorProto, in scope: String, file: String
    ) {
        fileBySymbol[qualified(scope, field.name)] = file
        let extendee = field.extendee.hasPrefix(".") ? String(field.extendee.dropFirst()) : field.extendee
        extensions[extendee, default: [:]][field.number] = file
    }

    private func qualified(_ scope: String, _ name: String) -> String {
        scope.isEmpty ? name : scope + "." + name
    }
}
