import SluiceProto
import SluiceRPC

/// Reads and manages committed objects: listing (every page), describing, deleting,
/// versions and restores. Reads are retried by the policy; deletes and restores are not,
/// since repeating one whose answer was lost would do it twice. With an owner handle, every
/// call addresses that principal's objects (those it shares with the caller).
public struct ObjectCatalog: Sendable {
    private let objects: Sluice_V1_ObjectServiceClient
    private let retry: RetryPolicy
    private let callOptions: CallOptions
    private let owner: String

    public init(
        client: RPCClient, retry: RetryPolicy = RetryPolicy(), callTimeout: Duration = .seconds(60), owner: String = ""
    ) {
        self.objects = Sluice_V1_ObjectServiceClient(client)
        self.retry = retry
        self.callOptions = CallOptions(timeout: callTimeout)
        self.owner = owner
    }

    /// Lists objects whose names start with `prefix`, page after page, calling `entry` for
    /// each in name order. With a delimiter, names continuing past it are rolled up into
    /// prefixes ending with it.
    public func list(
        prefix: String, delimiter: String, entry: (ListingEntry) throws -> Void
    ) async throws {
        var request = Sluice_V1_ListObjectsRequest()
        request.owner = owner
        request.prefix = prefix
        request.delimiter = delimiter
        request.pageSize = 1000
        try await PageTokens.walk("listing of '\(prefix)'", retry: retry) { token in
            request.pageToken = token
            return try await objects.listObjects(request, options: callOptions)
        } each: { page in
            let entries = page.objects.map(ListingEntry.object) + page.commonPrefixes.map(ListingEntry.prefix)
            for item in entries.sorted(by: { Array($0.name.utf8).lexicographicallyPrecedes(Array($1.name.utf8)) }) {
                try entry(item)
            }
            return (page.nextPageToken, entries.count)
        }
    }

    /// Whether any object's name starts with `prefix`: one listing call for one entry.
    public func hasObjects(under prefix: String) async throws -> Bool {
        var request = Sluice_V1_ListObjectsRequest()
        request.owner = owner
        request.prefix = prefix
        request.pageSize = 1
        let page = try await retry.run("listing of '\(prefix)'") {
            try await objects.listObjects(request, options: callOptions)
        }
        return !page.objects.isEmpty || !page.commonPrefixes.isEmpty
    }

    /// Describes version `version` (0: the current one) of an object, with its partitions.
    public func describe(_ name: String, version: Int64 = 0) async throws -> Sluice_V1_ObjectInfo {
        var request = Sluice_V1_GetObjectRequest()
        request.owner = owner
        request.name = name
        request.version = version
        return try await retry.run("lookup of \(name)") { try await objects.getObject(request, options: callOptions) }
    }

    /// Deletes an object and all its versions; returns how many versions went. With
    /// `keepVersions` the object is only hidden and its versions stay restorable (returns 0).
    /// With `ifCurrentVersion` (not 0) only while that version is current: the server refuses
    /// with FAILED_PRECONDITION, deleting nothing, once another version has been made.
    public func delete(_ name: String, keepVersions: Bool = false, ifCurrentVersion: Int64 = 0) async throws -> Int64 {
        var request = Sluice_V1_DeleteObjectRequest()
        request.owner = owner
        request.name = name
        request.keepVersions = keepVersions
        request.ifCurrentVersion = ifCurrentVersion
        return try await objects.deleteObject(request, options: callOptions).deletedVersions
    }

    /// Every version of an object, newest first, page after page.
    public func versions(of name: String, version: (Sluice_V1_ObjectInfo) throws -> Void) async throws {
        var request = Sluice_V1_ListObjectVersionsRequest()
        request.owner = owner
        request.name = name
        request.pageSize = 1000
        try await PageTokens.walk("listing of the versions of \(name)", retry: retry) { token in
            request.pageToken = token
            return try await objects.listObjectVersions(request, options: callOptions)
        } each: { page in
            try page.versions.forEach(version)
            return (page.nextPageToken, page.versions.count)
        }
    }

    /// Makes an older version current again, as a new version; returns the new version. With
    /// `ifCurrentVersion` (not 0) only while that version is current: the server refuses with
    /// FAILED_PRECONDITION, restoring nothing, once another version has been made.
    public func restore(_ name: String, version: Int64, ifCurrentVersion: Int64 = 0) async throws
        -> Sluice_V1_ObjectInfo
    {
        var request = Sluice_V1_RestoreObjectVersionRequest()
        request.owner = owner
        request.name = name
        request.version = version
        request.ifCurrentVersion = ifCurrentVersion
        return try await objects.restoreObjectVersion(request, options: callOptions)
    }
}
