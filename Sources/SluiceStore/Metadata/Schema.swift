import SluicePostgres

/// The metadata schema, as versioned migrations applied at start-up (in order, once each).
/// Never edit a released migration: add a new one.
///
/// Blobs are referenced through foreign keys from every row that uses them, so the
/// database itself refuses to forget a blob something still refers to; the collector's
/// "unreferenced" is whatever those keys allow it to delete.
public enum Schema {
    public static let migrations: [Migration] = [
        Migration(version: 1, name: "storage", sql: """
            CREATE TABLE principals (
                id bigserial PRIMARY KEY,
                name text NOT NULL UNIQUE,
                created_at timestamptz NOT NULL DEFAULT now()
            );

            -- One row per stored blob. last_used_at is a lease: an upload refreshes it
            -- before writing bytes, and the collector leaves alone any blob used within
            -- its grace period. deleting marks a blob whose bytes the collector is
            -- removing: no upload may lease it until the row is gone.
            CREATE TABLE blobs (
                scope text NOT NULL,
                sha256 bytea NOT NULL CHECK (length(sha256) = 32),
                size bigint NOT NULL CHECK (size >= 0),
                created_at timestamptz NOT NULL DEFAULT now(),
                last_used_at timestamptz NOT NULL DEFAULT now(),
                deleting boolean NOT NULL DEFAULT false,
                PRIMARY KEY (scope, sha256)
            );

            CREATE TABLE upload_sessions (
                id bytea PRIMARY KEY CHECK (length(id) = 16),
                principal_id bigint NOT NULL REFERENCES principals (id),
                object_name text NOT NULL,
                total_size bigint NOT NULL CHECK (total_size >= 0),
                partition_size bigint NOT NULL CHECK (partition_size > 0),
                partition_sha256 bytea[] NOT NULL,
                object_sha256 bytea,
                content_type text NOT NULL,
                user_metadata jsonb NOT NULL,
                state text NOT NULL CHECK (state IN ('open', 'committed', 'aborted')),
                created_at timestamptz NOT NULL DEFAULT now(),
                expires_at timestamptz NOT NULL,
                closed_at timestamptz,
                committed_object_id bigint,
                committed_version bigint
            );
            CREATE INDEX upload_sessions_by_principal ON upload_sessions (principal_id, created_at DESC);
            CREATE INDEX upload_sessions_by_expiry ON upload_sessions (state, expires_at);

            CREATE TABLE session_partitions (
                session_id bytea NOT NULL REFERENCES upload_sessions (id) ON DELETE CASCADE,
                index integer NOT NULL CHECK (index >= 0),
                size bigint NOT NULL,
                sha256 bytea NOT NULL,
                blob_scope text NOT NULL,
                stored_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (session_id, index),
                FOREIGN KEY (blob_scope, sha256) REFERENCES blobs (scope, sha256)
            );
            CREATE INDEX session_partitions_by_blob ON session_partitions (blob_scope, sha256);

            CREATE TABLE objects (
                id bigserial PRIMARY KEY,
                principal_id bigint NOT NULL REFERENCES principals (id),
                name text COLLATE "C" NOT NULL,
                current_version bigint NOT NULL,
                next_version bigint NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now(),
                UNIQUE (principal_id, name)
            );

            CREATE TABLE object_versions (
                object_id bigint NOT NULL REFERENCES objects (id) ON DELETE CASCADE,
                version bigint NOT NULL,
                size bigint NOT NULL,
                sha256 bytea NOT NULL,
                content_type text NOT NULL,
                user_metadata jsonb NOT NULL,
                partition_size bigint NOT NULL,
                partition_count integer NOT NULL,
                committed_at timestamptz NOT NULL DEFAULT now(),
                restored_from bigint,
                PRIMARY KEY (object_id, version)
            );

            CREATE TABLE version_partitions (
                object_id bigint NOT NULL,
                version bigint NOT NULL,
                index integer NOT NULL,
                "offset" bigint NOT NULL,
                size bigint NOT NULL,
                sha256 bytea NOT NULL,
                blob_scope text NOT NULL,
                PRIMARY KEY (object_id, version, index),
                FOREIGN KEY (object_id, version) REFERENCES object_versions (object_id, version) ON DELETE CASCADE,
                FOREIGN KEY (blob_scope, sha256) REFERENCES blobs (scope, sha256)
            );
            CREATE INDEX version_partitions_by_blob ON version_partitions (blob_scope, sha256);
            """),
        Migration(version: 2, name: "hardening", sql: """
            -- A client-chosen id that makes CreateSession idempotent per principal. NULL for
            -- sessions created without one; unique while the session row exists.
            ALTER TABLE upload_sessions ADD COLUMN request_id text;
            CREATE UNIQUE INDEX upload_sessions_by_request_id ON upload_sessions (principal_id, request_id)
                WHERE request_id IS NOT NULL;

            -- Blobs whose stored bytes no longer hash to their address (or are gone), as found
            -- by the scrubber, a verified read or a commit. A later upload of the same bytes
            -- rewrites the blob and removes its row here. No foreign key: the finding outlives
            -- a blob row the collector deletes, until the collector forgets it too.
            CREATE TABLE damaged_blobs (
                scope text NOT NULL,
                sha256 bytea NOT NULL CHECK (length(sha256) = 32),
                detected_at timestamptz NOT NULL DEFAULT now(),
                detected_by text NOT NULL,
                detail text NOT NULL,
                PRIMARY KEY (scope, sha256)
            );

            -- Server-wide settings shared by every instance on this database (the page token
            -- key, so that instances accept each other's tokens).
            CREATE TABLE settings (
                name text PRIMARY KEY,
                value bytea NOT NULL
            );
            """),
        Migration(version: 3, name: "sharing", sql: """
            -- A principal's handle: the stable, unique, readable name others use to share with
            -- it (sluice.v1.PrincipalInfo.handle). Set when the principal is first recorded or
            -- registered ahead of time; NULL only for principals recorded before this migration
            -- until they next call.
            ALTER TABLE principals ADD COLUMN handle text COLLATE "C" UNIQUE
                CHECK (handle ~ '^[a-z0-9._-]{1,64}$');

            -- Grants: owner lets grantee READ or WRITE one object (scope 'object', path = the
            -- name) or every object under a folder prefix (scope 'prefix', path ends with '/').
            -- Checked inside the queries that enforce isolation, never in a separate step.
            CREATE TABLE grants (
                owner_id bigint NOT NULL REFERENCES principals (id),
                grantee_id bigint NOT NULL REFERENCES principals (id),
                scope text NOT NULL CHECK (scope IN ('object', 'prefix')),
                path text COLLATE "C" NOT NULL,
                access text NOT NULL CHECK (access IN ('read', 'write')),
                updated_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (owner_id, grantee_id, scope, path),
                CHECK (owner_id <> grantee_id),
                CHECK (scope = 'object' OR right(path, 1) = '/')
            );
            CREATE INDEX grants_by_grantee ON grants (grantee_id, owner_id);

            -- Who made each version (the owner, or a WRITE grantee); NULL on versions made
            -- before this migration, which were all made by the owner.
            ALTER TABLE object_versions ADD COLUMN written_by bigint REFERENCES principals (id);

            -- The owner of the object a session uploads (principal_id is the principal that
            -- created the session and alone may use it). NULL means principal_id.
            ALTER TABLE upload_sessions ADD COLUMN owner_id bigint REFERENCES principals (id);
            """),
        Migration(version: 4, name: "change log", sql: """
            -- The change feed's log: one row per committed change, written in the transaction of
            -- the change itself (ChangeLog.record), so a row exists if and only if its change
            -- committed. Positions are handed out from change_log_state as the last statement
            -- before COMMIT: its row lock orders the tails of the committing transactions, so
            -- positions follow commit order without gaps and a reader that has seen position N
            -- has seen every change at or below N. owner_id is the owner of the object (or the
            -- grant's owner); name is the object name (or the grant's path).
            CREATE TABLE changes (
                position bigint PRIMARY KEY,
                kind text NOT NULL
                    CHECK (kind IN ('version_created', 'object_deleted', 'grant_added', 'grant_revoked')),
                owner_id bigint NOT NULL REFERENCES principals (id),
                name text COLLATE "C" NOT NULL,
                actor_id bigint NOT NULL REFERENCES principals (id),
                version bigint,
                size bigint,
                sha256 bytea,
                grantee_id bigint REFERENCES principals (id),
                grant_scope text CHECK (grant_scope IN ('object', 'prefix')),
                grant_access text CHECK (grant_access IN ('read', 'write')),
                committed_at timestamptz NOT NULL
            );
            CREATE INDEX changes_by_time ON changes (committed_at);

            -- The single row that numbers changes (last_position) and remembers how far the
            -- collector pruned the log (pruned_through: cursors below it are out of range).
            CREATE TABLE change_log_state (
                only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
                last_position bigint NOT NULL,
                pruned_through bigint NOT NULL
            );
            INSERT INTO change_log_state (last_position, pruned_through) VALUES (0, 0);
            """),
        Migration(version: 5, name: "quotas and administration", sql: """
            -- A disabled principal's calls are refused (PERMISSION_DENIED); nothing it stores is
            -- touched. NULL: enabled.
            ALTER TABLE principals ADD COLUMN disabled_at timestamptz;

            -- Per-principal overrides of the server's quota and rate-limit defaults. A NULL column
            -- takes the default; 0 means unlimited.
            CREATE TABLE principal_limits (
                principal_id bigint PRIMARY KEY REFERENCES principals (id),
                quota_bytes bigint CHECK (quota_bytes >= 0),
                quota_objects bigint CHECK (quota_objects >= 0),
                quota_sessions bigint CHECK (quota_sessions >= 0),
                requests_per_second bigint CHECK (requests_per_second >= 0),
                bytes_in_per_second bigint CHECK (bytes_in_per_second >= 0),
                bytes_out_per_second bigint CHECK (bytes_out_per_second >= 0),
                updated_at timestamptz NOT NULL DEFAULT now()
            );

            -- Request (uploaded) and response (downloaded) message bytes per principal per UTC day.
            CREATE TABLE principal_traffic (
                principal_id bigint NOT NULL REFERENCES principals (id),
                day date NOT NULL,
                uploaded_bytes bigint NOT NULL DEFAULT 0,
                downloaded_bytes bigint NOT NULL DEFAULT 0,
                PRIMARY KEY (principal_id, day)
            );

            -- The byte and object quotas sum the open sessions uploading into an owner's objects.
            CREATE INDEX upload_sessions_open_by_owner ON upload_sessions (coalesce(owner_id, principal_id))
                WHERE state = 'open';
            """),
        Migration(version: 6, name: "composite hashes", sql: """
            -- Commits read no payload: a version carries the composite hash of its partitions
            -- (SHA-256 of their SHA-256s concatenated in order) at once, and its whole-object
            -- SHA-256 once known. sha256_state says what sha256 is worth: 'verified' (the hash of
            -- the stored bytes, equal to the one the uploader declared), 'undeclared' (the hash of
            -- the stored bytes; nothing was declared), 'pending' (not known yet: sha256 is NULL
            -- until the whole-hash verifier has read the bytes) or 'mismatch' (the stored bytes,
            -- each verified against its partition hash, hash to sha256, which is NOT the declared
            -- declared_sha256). Versions made before this migration were hashed at commit.
            ALTER TABLE object_versions ADD COLUMN composite_sha256 bytea;
            UPDATE object_versions v SET composite_sha256 = sha256(coalesce(
                (SELECT string_agg(p.sha256, ''::bytea ORDER BY p.index) FROM version_partitions p
                 WHERE p.object_id = v.object_id AND p.version = v.version), ''::bytea));
            ALTER TABLE object_versions ALTER COLUMN composite_sha256 SET NOT NULL;
            ALTER TABLE object_versions ADD COLUMN declared_sha256 bytea;
            ALTER TABLE object_versions ADD COLUMN sha256_state text NOT NULL DEFAULT 'verified'
                CHECK (sha256_state IN ('pending', 'verified', 'undeclared', 'mismatch'));
            ALTER TABLE object_versions ALTER COLUMN sha256_state DROP DEFAULT;
            ALTER TABLE object_versions ALTER COLUMN sha256 DROP NOT NULL;
            ALTER TABLE object_versions ADD CONSTRAINT object_versions_sha256_known
                CHECK ((sha256_state = 'pending') = (sha256 IS NULL));
            CREATE INDEX object_versions_pending ON object_versions (committed_at)
                WHERE sha256_state = 'pending';

            -- The whole-object SHA-256 of a session, advanced while partitions arrive in order:
            -- whole_hash_state is the exported SHA-256 state over partitions 0 ..< whole_hashed_through.
            ALTER TABLE upload_sessions ADD COLUMN whole_hash_state bytea;
            ALTER TABLE upload_sessions ADD COLUMN whole_hashed_through integer NOT NULL DEFAULT 0;
            """),
        Migration(version: 7, name: "deletes that keep versions", sql: """
            -- NULL: the object was deleted with keep_versions. It has no current version (reads of
            -- the current version answer NOT_FOUND, listings omit it) but its versions stay,
            -- readable by number and restorable; a commit or restore makes one current again.
            ALTER TABLE objects ALTER COLUMN current_version DROP NOT NULL;
            """),
        Migration(version: 8, name: "sessions into an owner's folder", sql: """
            -- An owner lists (ListSessions) the sessions its grantees opened into its folder,
            -- newest first, beside its own (upload_sessions_by_principal).
            CREATE INDEX upload_sessions_by_owner ON upload_sessions (owner_id, created_at DESC)
                WHERE owner_id IS NOT NULL;
            """),
        Migration(version: 9, name: "reclaimed blob tombstones", sql: """
            -- Set when the collector deleted the bytes of a blob whose deletion had failed
            -- before: the row stays, marked deleting (so no upload leases those bytes), until
            -- a DELETE the store gave up on can no longer arrive (Collector, lingering deletes).
            ALTER TABLE blobs ADD COLUMN reclaimed_at timestamptz;
            CREATE INDEX blobs_tombstones ON blobs (reclaimed_at) WHERE reclaimed_at IS NOT NULL;
            """),
        Migration(version: 10, name: "version numbers outlive their object", sql: """
            -- The next version number of a name whose object was deleted for good: a new
            -- object of that name carries on from it, so a version number names one version of
            -- a name for ever (a saved number never reads other bytes, and a conditional delete
            -- or a page token from before the delete cannot match the new object's versions).
            CREATE TABLE retired_names (
                principal_id bigint NOT NULL REFERENCES principals (id),
                name text NOT NULL,
                next_version bigint NOT NULL CHECK (next_version > 0),
                PRIMARY KEY (principal_id, name)
            );
            """),
        Migration(version: 11, name: "verifier resumes a session's hash", sql: """
            -- The whole-hash verifier finds the session that made a pending version, to resume
            -- from the hash the session advanced while its partitions arrived.
            CREATE INDEX upload_sessions_by_committed_version ON upload_sessions (committed_object_id, committed_version)
                WHERE committed_object_id IS NOT NULL;
            """),
        Migration(version: 12, name: "uploads without a whole-object hash", sql: """
            -- A client that checks objects by their partitions and composite may ask for no
            -- whole-object SHA-256 (CreateSessionRequest.skip_whole_sha256): its session never
            -- extends or reads back a whole hash, and its version is 'not_computed', with no sha256.
            ALTER TABLE upload_sessions ADD COLUMN whole_hash_skipped boolean NOT NULL DEFAULT false;
            ALTER TABLE object_versions DROP CONSTRAINT object_versions_sha256_state_check;
            ALTER TABLE object_versions ADD CONSTRAINT object_versions_sha256_state_check
                CHECK (sha256_state IN ('pending', 'verified', 'undeclared', 'mismatch', 'not_computed'));
            ALTER TABLE object_versions DROP CONSTRAINT object_versions_sha256_known;
            ALTER TABLE object_versions ADD CONSTRAINT object_versions_sha256_known
                CHECK ((sha256_state IN ('pending', 'not_computed')) = (sha256 IS NULL));
            """),
        Migration(version: 13, name: "blob holds", sql: """
            -- An upload's hold on a blob while its bytes arrive: one row per upload, renewed as
            -- they arrive, dropped when the partition is recorded or the upload brings no bytes,
            -- and lapsing at expires_at if its server dies. The collector reclaims a blob that no
            -- partition refers to and no live hold keeps, at once. blobs.last_used_at, one time
            -- shared by every upload of the same bytes, no longer decides that (it could not tell
            -- bytes an upload in flight needs from bytes an aborted session let go); it only
            -- says when the blob was last leased or recorded.
            CREATE TABLE blob_holds (
                id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                scope text NOT NULL,
                sha256 bytea NOT NULL,
                expires_at timestamptz NOT NULL,
                FOREIGN KEY (scope, sha256) REFERENCES blobs (scope, sha256) ON DELETE CASCADE
            );
            CREATE INDEX blob_holds_by_blob ON blob_holds (scope, sha256);
            """),
        Migration(version: 14, name: "blob reclaim claims", sql: """
            -- Who is deleting a blob's bytes, and since when: set when a reclaimer (the collector,
            -- an abort, a delete, any instance) marks the row deleting. Another reclaimer takes the
            -- row over only once the claim is older than any delete can take, and each forgets
            -- the row only under its own claim: two reclaimers of one blob could otherwise drop
            -- the row while the other's DELETE was still on its way, and that DELETE would take
            -- the bytes of an upload made in between.
            ALTER TABLE blobs ADD COLUMN reclaim_claim bigint, ADD COLUMN claimed_at timestamptz;
            """),
    ]
}
