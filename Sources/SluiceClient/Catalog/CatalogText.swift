import Foundation
import SluiceOpenSSL
import SluiceProto
import SwiftProtobuf

/// How objects, versions and sessions are printed by `ls`, `stat`, `versions` and `sessions`.
public enum CatalogText {
    /// A listing line: the name alone, or with `long`, size in bytes, version, commit time,
    /// SHA-256 and name. Prefixes show as `PRE` in long listings.
    public static func listing(_ entry: ListingEntry, long: Bool) -> String {
        switch entry {
        case .prefix(let prefix):
            guard long else { return prefix }
            return [padLeft("PRE", 14), pad("", 6), pad("", 20), pad("", 64), prefix].joined(separator: " ")
        case .object(let object):
            guard long else { return object.name }
            return [
                padLeft("\(object.size)", 14), pad("v\(object.version)", 6), time(object.updateTime),
                shownSHA256(object), object.name,
            ].joined(separator: " ")
        }
    }

    /// A version line: version, size, commit time, SHA-256, and marks for the current
    /// version and restores.
    public static func version(_ object: Sluice_V1_ObjectInfo) -> String {
        var line = [
            pad("v\(object.version)", 6), padLeft("\(object.size)", 14), time(object.updateTime),
            shownSHA256(object),
        ].joined(separator: " ")
        if object.isCurrent { line += " current" }
        if object.restoredFromVersion > 0 { line += " restored-from=v\(object.restoredFromVersion)" }
        return line
    }

    /// The whole-object SHA-256 in a 64-column field: "pending" until the server has it,
    /// "not-computed" when its uploader asked for none, "MISMATCH!" padded when the
    /// uploader's declared hash proved wrong.
    static func shownSHA256(_ object: Sluice_V1_ObjectInfo) -> String {
        switch object.sha256State {
        case .pending: pad("pending", 64)
        case .notComputed: pad("not-computed", 64)
        case .mismatch: pad("MISMATCH:" + Hex.encode(object.sha256).prefix(55), 64)
        default: Hex.encode(object.sha256)
        }
    }

    /// What the whole-object SHA-256 is worth, after it on the `sha256:` line.
    static func stateNote(_ object: Sluice_V1_ObjectInfo) -> String {
        switch object.sha256State {
        case .pending: "(pending: the server has not hashed the whole object yet)"
        case .verified: " (verified)"
        case .undeclared: " (computed; the uploader declared none)"
        case .mismatch: " (MISMATCH: not the SHA-256 the uploader declared)"
        case .notComputed: "(not computed: the uploader asked for none; composite-sha256 covers the object)"
        case .unspecified, .UNRECOGNIZED: ""
        }
    }

    /// `key: value` lines describing one object version.
    public static func details(_ object: Sluice_V1_ObjectInfo) -> [String] {
        var lines = [
            "name: \(object.name)",
            "version: \(object.version)\(object.isCurrent ? " (current)" : "")",
            "size: \(object.size) (\(Format.bytes(object.size)))",
            "sha256: \(Hex.encode(object.sha256))\(stateNote(object))",
            "composite-sha256: \(object.compositeSha256.isEmpty ? "-" : Hex.encode(object.compositeSha256))",
            "content-type: \(object.contentType.isEmpty ? "-" : object.contentType)",
            "created: \(time(object.createTime))",
            "updated: \(time(object.updateTime))",
            "partition-size: \(object.partitionSize) (\(Format.bytes(object.partitionSize)))",
            "partitions: \(object.partitionCount)",
        ]
        if object.restoredFromVersion > 0 { lines.append("restored-from: \(object.restoredFromVersion)") }
        for (key, value) in object.userMetadata.sorted(by: { $0.key < $1.key }) {
            lines.append("metadata: \(key)=\(value)")
        }
        return lines
    }

    /// A partition line: index, offset, size and SHA-256.
    public static func partition(_ partition: Sluice_V1_PartitionInfo) -> String {
        [
            "partition", padLeft("\(partition.index)", 5), "offset", padLeft("\(partition.offset)", 14), "size",
            padLeft("\(partition.size)", 10), Hex.encode(partition.sha256),
        ].joined(separator: " ")
    }

    /// A session line: id, state, partitions stored, bytes stored, expiry, object name.
    public static func session(_ session: Sluice_V1_UploadSession) -> String {
        [
            session.sessionID, pad(stateName(session.state), 9),
            pad("\(session.storedPartitions.count)/\(session.partitionCount)", 11),
            pad("\(Format.bytes(session.storedBytes))/\(Format.bytes(session.totalSize))", 21),
            "expires \(time(session.expireTime))", session.objectName,
        ].joined(separator: " ")
    }

    public static func stateName(_ state: Sluice_V1_UploadSession.State) -> String {
        switch state {
        case .open: "OPEN"
        case .committed: "COMMITTED"
        case .aborted: "ABORTED"
        case .expired: "EXPIRED"
        default: "UNKNOWN"
        }
    }

    private static func time(_ timestamp: Google_Protobuf_Timestamp) -> String {
        Format.timestamp(timestamp.date)
    }

    private static func padLeft(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : String(repeating: " ", count: width - text.count) + text
    }

    private static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }
}
