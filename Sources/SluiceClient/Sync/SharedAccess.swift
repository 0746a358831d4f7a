import SluiceProto
import SluiceRPC

/// What a grantee may do in the owner's folder it syncs (`--owner`), from the grants that owner
/// made to it (`ListSharedWithMe`). The listing alone cannot tell a revoked or narrowed grant
/// from a folder whose files were deleted: without a grant the server answers as if nothing
/// existed, so that existence never leaks. The grants tell them apart. Access to a name is the
/// best of the grants covering it, as the server decides it (a prefix covers the names that
/// start with it, compared as bytes).
public struct SharedAccess: Sendable, Equatable {
    private struct Covering: Sendable, Hashable {
        var path: [UInt8]
        var isPrefix: Bool
        var access: Sluice_V1_Access
    }

    private let grants: [Covering]

    public init(grants: [Sluice_V1_Grant]) {
        self.grants = grants.map {
            Covering(path: Array($0.path.utf8), isPrefix: $0.scope == .prefix, access: $0.access)
        }
    }

    /// Whether both allow the same: the same grants, in whatever order they were listed.
    public static func == (lhs: SharedAccess, rhs: SharedAccess) -> Bool {
        Set(lhs.grants) == Set(rhs.grants)
    }

    /// The grants `owner` made to the caller, read now, page after page.
    static func load(owner: String, client: RPCClient, retry: RetryPolicy, tally: SyncTally) async throws -> SharedAccess {
        var grants: [Sluice_V1_Grant] = []
        try await ShareCatalog(client: client, retry: retry).grantsReceived(
            from: owner, pageRead: { tally.add { $0.calls += 1 } }) { grants.append($0) }
        return SharedAccess(grants: grants)
    }

    /// The caller's access to the owner's object `name`; nil when no grant covers it.
    public func access(to name: String) -> Sluice_V1_Access? {
        let bytes = Array(name.utf8)
        return grants.filter { $0.isPrefix ? bytes.starts(with: $0.path) : bytes == $0.path }
            .map(\.access).max { $0.rawValue < $1.rawValue }
    }

    /// Whether the caller may read `name` (and so sees it in a listing when it exists).
    public func reads(_ name: String) -> Bool { access(to: name) != nil }

    /// Whether the caller may upload, delete and restore `name`.
    public func writes(_ name: String) -> Bool { access(to: name) == .write }

    /// Refuses a plan that would act on paths the caller can no longer read: a path gone from
    /// the listing because the grant went is not deleted, and nothing else in the pass is done
    /// either (the folder is no longer the one that was synced).
    public func requireStillShared(_ actions: [SyncAction], owner: String, prefix: String) throws {
        let lost = actions.compactMap { action -> String? in
            switch action {
            case .deleteLocal(let path, _), .upload(let path, _, _), .conflict(let path, _, _):
                reads(prefix + path) ? nil : path
            default:
                nil
            }
        }
        guard !lost.isEmpty else { return }
        throw SharedAccessLostError(owner: owner, prefix: prefix, paths: lost)
    }
}
