import Foundation
import SluicePostgres

/// Reading session rows into records; shared by every session operation.
enum SessionQueries {
    /// Columns of `upload_sessions s` plus the stored partitions, for `record(from:)`.
    static let selectColumns = selectColumns()

    /// ``selectColumns``, optionally without the declared partition hashes (an empty array in
    /// their place): a listing leaves them out.
    static func selectColumns(partitionHashes: Bool = true) -> String {
        """
        s.id, s.object_name, s.total_size, s.partition_size,
        \(partitionHashes ? "s.partition_sha256" : "'{}'::bytea[] AS partition_sha256"), s.object_sha256,
        s.whole_hash_skipped, s.content_type, s.user_metadata::text AS user_metadata, s.state,
        extract(epoch FROM s.created_at)::float8 AS created_at,
        extract(epoch FROM s.expires_at)::float8 AS expires_at,
        s.expires_at < clock_timestamp() AS is_expired, s.committed_version, s.committed_object_id,
        coalesce((SELECT array_agg(sp.index ORDER BY sp.index)::text FROM session_partitions sp
                  WHERE sp.session_id = s.id), '{}') AS stored_partitions,
        coalesce((SELECT sum(sp.size) FROM session_partitions sp WHERE sp.session_id = s.id), 0)::bigint
            AS stored_bytes,
        s.owner_id, (SELECT p.handle FROM principals p WHERE p.id = coalesce(s.owner_id, s.principal_id)) AS owner_handle
        """
    }

    /// Whose sessions a lookup finds besides the principal's own.
    enum Reach {
        /// Only sessions the principal opened: a session stays its creator's, so storing
        /// partitions and committing use this.
        case creator
        /// Also sessions others (its WRITE grantees) opened into the principal's folder: they
        /// reserve the principal's quotas, so it may see and abort them.
        case creatorOrOwner

        /// The condition on `upload_sessions s` for the principal id in parameter `parameter`.
        func condition(_ parameter: String) -> String {
            switch self {
            case .creator: "s.principal_id = \(parameter)"
            case .creatorOrOwner: "(s.principal_id = \(parameter) OR s.owner_id = \(parameter))"
            }
        }
    }

    /// The session if it exists and `reach` lets the principal find it; nil otherwise (the
    /// caller answers NOT_FOUND either way, so nobody learns another principal's ids).
    static func load(
        _ id: SessionID, of principal: Principal, reach: Reach = .creator, on connection: PostgresConnection,
        lock: Bool = false
    ) throws -> SessionRecord? {
        try connection.execute(loading(id, of: principal, reach: reach, lock: lock)).rows.first.map(record(from:))
    }

    /// The statement of ``load(_:of:reach:on:lock:)``, for a pipeline.
    static func loading(_ id: SessionID, of principal: Principal, reach: Reach = .creator, lock: Bool = false)
        -> PostgresStatement
    {
        PostgresStatement("""
            SELECT \(selectColumns) FROM upload_sessions s
            WHERE s.id = $1 AND \(reach.condition("$2")) \(lock ? "\(RowLock.exclusive) OF s" : "")
            """, [.bytes(id.bytes), .int(principal.id)])
    }

    /// The principal's session made with `requestID`, if it is still retained: the statement,
    /// for a pipeline (its answer's first row, if any, is the session).
    static func loading(requestID: String, of principal: Principal) -> PostgresStatement {
        PostgresStatement("""
            SELECT \(selectColumns) FROM upload_sessions s WHERE s.principal_id = $1 AND s.request_id = $2
            """, [.int(principal.id), .text(requestID)])
    }

    static func record(from row: PostgresRow) throws -> SessionRecord {
        let stored = try row.string("stored_partitions")
            .trimmingCharacters(in: CharacterSet(charactersIn: "{}"))
            .split(separator: ",").compactMap { Int($0) }
        var state = SessionRecord.State(rawValue: try row.string("state")) ?? .aborted
        let isExpired = try row.bool("is_expired")
        if state == .open && isExpired { state = .expired }
        let totalSize = try row.int("total_size")
        let partitionSize = try row.int("partition_size")
        let partitionCount = Int(clamping: PartitionLayout.count(totalSize: totalSize, partitionSize: partitionSize))
        // A commit moves its partitions into the object version: all of them were stored.
        let committed = state == .committed
        return SessionRecord(
            id: SessionID(bytes: try row.bytes("id")),
            objectName: try row.string("object_name"),
            totalSize: totalSize,
            partitionSize: partitionSize,
            partitionSHA256: try row.bytesArray("partition_sha256"),
            objectSHA256: try row.optionalBytes("object_sha256"),
            skipsWholeSHA256: try row.bool("whole_hash_skipped"),
            contentType: try row.string("content_type"),
            userMetadata: UserMetadata.decode(try row.string("user_metadata")),
            state: state,
            createdAt: Date(timeIntervalSince1970: try row.double("created_at")),
            expiresAt: Date(timeIntervalSince1970: try row.double("expires_at")),
            committedVersion: try row.optionalInt("committed_version"),
            committedObjectID: try row.optionalInt("committed_object_id"),
            storedPartitions: committed ? Array(0..<partitionCount) : stored,
            storedBytes: committed ? totalSize : try row.int("stored_bytes"),
            ownerID: try row.optionalInt("owner_id"),
            ownerHandle: try row.optionalString("owner_handle") ?? "")
    }
}

/// User metadata as stored: a JSON object of strings.
enum UserMetadata {
    static func encode(_ metadata: [String: String]) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: metadata, options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    static func decode(_ json: String) -> [String: String] {
        (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: String] ?? [:]
    }
}
