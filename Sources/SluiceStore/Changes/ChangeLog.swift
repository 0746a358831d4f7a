import SluicePostgres

/// Writes the change log. Every change that commits records itself here, in its own
/// transaction, so the log holds a change if and only if it committed.
public enum ChangeLog {
    /// The channel every recorded change is announced on (its payload is the position).
    public static let channel = "sluice_changes"

    /// Records `change` and announces it when the transaction commits.
    ///
    /// The statement travels with the COMMIT, as the transaction's LAST statement
    /// (``PostgresConnection/sendWithCommit(_:)``): it takes the next position from the single
    /// `change_log_state` row, whose row lock is then held only through the commit. That
    /// serialises only the commits of concurrent committers and makes positions follow commit
    /// order with no gaps, so a reader that has seen position N can never later find a change
    /// below N (a sequence value taken earlier in the transaction would let 41 commit after
    /// 42). The NOTIFY is delivered when, and only if, the transaction commits. Without the
    /// state row the position is null and the insert fails, failing the commit: a change is
    /// never lost quietly.
    public static func record(_ change: ChangeRecord, on connection: PostgresConnection) {
        let row = Row(change)
        connection.sendWithCommit(PostgresStatement("""
            WITH next AS (
                UPDATE change_log_state SET last_position = last_position + 1 RETURNING last_position
            ), recorded AS (
                INSERT INTO changes (position, kind, owner_id, name, actor_id, version, size, sha256,
                    grantee_id, grant_scope, grant_access, committed_at)
                VALUES ((SELECT last_position FROM next), $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, clock_timestamp())
                RETURNING position
            )
            SELECT pg_notify('\(channel)', position::text) FROM recorded
            """, [
                .text(row.kind), .int(row.ownerID), .text(row.name), .int(row.actorID),
                row.version.map { .int($0) } ?? .null, row.size.map { .int($0) } ?? .null,
                row.sha256.map { .bytes($0) } ?? .null, row.granteeID.map { .int($0) } ?? .null,
                row.scope.map { .text($0) } ?? .null, row.access.map { .text($0) } ?? .null,
            ]))
    }

    /// The columns of one change row.
    private struct Row {
        var kind: String
        var ownerID: Int64
        var name: String
        var actorID: Int64
        var version: Int64?
        var size: Int64?
        var sha256: [UInt8]?
        var granteeID: Int64?
        var scope: String?
        var access: String?

        init(_ change: ChangeRecord) {
            switch change {
            case let .versionCreated(ownerID, name, version, size, sha256, actorID):
                self.init(kind: "version_created", ownerID: ownerID, name: name, actorID: actorID)
                self.version = version
                self.size = size
                self.sha256 = sha256
            case let .objectDeleted(ownerID, name, actorID):
                self.init(kind: "object_deleted", ownerID: ownerID, name: name, actorID: actorID)
            case let .grantAdded(grant, actorID), let .grantRevoked(grant, actorID):
                let kind = if case .grantAdded = change { "grant_added" } else { "grant_revoked" }
                self.init(kind: kind, ownerID: grant.ownerID, name: grant.path, actorID: actorID)
                granteeID = grant.granteeID
                scope = grant.scope
                access = grant.access
            }
        }

        private init(kind: String, ownerID: Int64, name: String, actorID: Int64) {
            self.kind = kind
            self.ownerID = ownerID
            self.name = name
            self.actorID = actorID
        }
    }
}
