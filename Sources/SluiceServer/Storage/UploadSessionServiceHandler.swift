import Foundation
import SluiceProto
import SluiceRPC
import SluiceStore

/// sluice.v1.UploadSessionService on top of the store.
public struct UploadSessionServiceHandler: Sluice_V1_UploadSessionServiceService {
    let storage: Storage

    public init(storage: Storage) {
        self.storage = storage
    }

    public func createSession(request: Sluice_V1_CreateSessionRequest, context: ServerContext) async throws
        -> Sluice_V1_UploadSession
    {
        let caller = try context.caller
        let declaration = SessionDeclaration(
            objectName: request.objectName, totalSize: request.totalSize, partitionSize: request.partitionSize,
            partitionSHA256: request.partitionSha256.map { [UInt8]($0) },
            objectSHA256: request.objectSha256.isEmpty ? nil : [UInt8](request.objectSha256),
            contentType: request.contentType, userMetadata: request.userMetadata,
            requestID: request.requestID.isEmpty ? nil : request.requestID,
            skipsWholeSHA256: request.skipWholeSha256)
        let owner = try await caller.owner(request.owner, in: storage)
        return Sluice_V1_UploadSession(try await storage.sessions.create(declaration, by: caller.principal, owner: owner))
    }

    public func uploadPartition(
        requests: ServerRequestStream<Sluice_V1_UploadPartitionRequest>, context: ServerContext
    ) async throws -> Sluice_V1_UploadPartitionResponse {
        var messages = requests.encodedMessages.makeAsyncIterator()
        let first = try await messages.next().map(ServerRequestStream<Sluice_V1_UploadPartitionRequest>.decode)
        guard case .target(let target)? = first?.message else {
            throw RPCError(
                .invalidArgument,
                "the first UploadPartition message must be a target naming the session and partition")
        }
        let id = try SessionIdentifier.parse(target.sessionID)
        let index = try RequestBounds.uploadPartitionIndex(target.partitionIndex, limits: storage.limits)
        let caller = try context.caller
        let result = try await storage.sessions.storePartition(
            index, of: id, by: caller.principal, chunks: PartitionChunks(messages: messages))
        var response = Sluice_V1_UploadPartitionResponse()
        response.partitionIndex = Int32(clamping: result.index)
        response.size = result.size
        response.sha256 = Data(result.sha256)
        response.alreadyStored = result.alreadyStored
        return response
    }

    public func getSession(request: Sluice_V1_GetSessionRequest, context: ServerContext) async throws
        -> Sluice_V1_UploadSession
    {
        let caller = try context.caller
        let id = try SessionIdentifier.parse(request.sessionID)
        return Sluice_V1_UploadSession(try await storage.sessions.get(id, of: caller.principal))
    }

    public func commitSession(request: Sluice_V1_CommitSessionRequest, context: ServerContext) async throws
        -> Sluice_V1_CommitSessionResponse
    {
        let caller = try context.caller
        let id = try SessionIdentifier.parse(request.sessionID)
        var response = Sluice_V1_CommitSessionResponse()
        response.object = Sluice_V1_ObjectInfo(
            try await storage.sessions.commit(id, by: caller.principal, objects: storage.objects))
        return response
    }

    public func abortSession(request: Sluice_V1_AbortSessionRequest, context: ServerContext) async throws
        -> Sluice_V1_UploadSession
    {
        let caller = try context.caller
        let id = try SessionIdentifier.parse(request.sessionID)
        return Sluice_V1_UploadSession(try await storage.sessions.abort(id, of: caller.principal))
    }

    public func listSessions(request: Sluice_V1_ListSessionsRequest, context: ServerContext) async throws
        -> Sluice_V1_ListSessionsResponse
    {
        let caller = try context.caller
        let page = try await storage.sessions.list(
            of: caller.principal, pageSize: Int(request.pageSize), pageToken: request.pageToken,
            openOnly: request.openOnly)
        var response = Sluice_V1_ListSessionsResponse()
        response.sessions = page.sessions.map(Sluice_V1_UploadSession.init)
        response.nextPageToken = page.nextPageToken
        return response
    }
}

/// Parses session ids as clients send them.
enum SessionIdentifier {
    static func parse(_ text: String) throws -> SessionID {
        guard let id = SessionID(hex: text) else {
            throw RPCError(.invalidArgument, "session_id '\(text.prefix(64))' is not a session id (32 hex digits)")
        }
        return id
    }
}

/// The data messages after an UploadPartition's target, as byte chunks: each a view into the
/// buffer its message arrived in, hashed and written from there (decoding it would copy every
/// uploaded byte into a `Data` first).
struct PartitionChunks: AsyncSequence {
    typealias Element = ArraySlice<UInt8>
    /// `UploadPartitionRequest.data`'s field number (upload_sessions.proto).
    static let dataField = 2
    let messages: ServerRequestStream<Sluice_V1_UploadPartitionRequest>.EncodedMessages.AsyncIterator

    struct AsyncIterator: AsyncIteratorProtocol {
        var messages: ServerRequestStream<Sluice_V1_UploadPartitionRequest>.EncodedMessages.AsyncIterator

        mutating func next() async throws -> ArraySlice<UInt8>? {
            guard let encoded = try await messages.next() else { return nil }
            if let data = LengthDelimitedField.soleField(PartitionChunks.dataField, in: encoded) { return data }
            // Anything else (unknown fields, a field sent twice) is read by protobuf's rules.
            let request = try ServerRequestStream<Sluice_V1_UploadPartitionRequest>.decode(encoded)
            switch request.message {
            case .data(let data):
                return ArraySlice(data)
            case .target:
                throw RPCError(.invalidArgument, "only the first UploadPartition message may be a target; later ones carry data")
            case nil:
                throw RPCError(
                    .invalidArgument,
                    "an UploadPartition message after the target carries no data; set data in each (it may be empty)")
            }
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(messages: messages) }
}
