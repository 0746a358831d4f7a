import SluicePostgres
import SluiceProto
import SluiceRPC
import SluiceServer
import SluiceStore
import SwiftProtobuf
import Synchronization
import Testing

/// The one place every storage call passes through: the caller is resolved once per call
/// (the limits reuse it), refusals say why, and what a handler throws — before or in the
/// middle of a stream — reaches the client as the status the README documents.
@Suite struct StorageCallInterceptorTests {
    typealias Text = Google_Protobuf_StringValue

    static let whoAmI = MethodDescriptor(service: "test.Storage", method: "WhoAmI")
    static let missing = MethodDescriptor(service: "test.Storage", method: "Missing")
    static let watch = MethodDescriptor(service: "test.Storage", method: "Watch")
    static let databaseDown = MethodDescriptor(service: "test.Storage", method: "DatabaseDown")
    static let nulParameter = MethodDescriptor(service: "test.Storage", method: "NulParameter")
    static let nulStatement = MethodDescriptor(service: "test.Storage", method: "NulStatement")
    static let blobGone = MethodDescriptor(service: "test.Storage", method: "BlobGone")
    static let goneKey = try! BlobKey(scope: "p1", sha256: [UInt8](repeating: 0xE2, count: 32))
    /// A call that stays in progress for a second (used by one test only: it counts its starts).
    static let hold = MethodDescriptor(service: "test.Storage", method: "Hold")
    static let holdsStarted = Atomic<Int>(0)

    /// A directory that counts its lookups and answers every name with one principal.
    final class CountingDirectory: CallerDirectory {
        let lookups = Atomic<Int>(0)
        let settings: PrincipalSettings

        init(settings: PrincipalSettings = PrincipalSettings()) {
            self.settings = settings
        }

        func caller(named name: String) async throws -> Caller {
            lookups.add(1, ordering: .relaxed)
            return Caller(name: name, principal: Principal(id: 7, name: name, handle: "tester"), settings: settings)
        }
    }

    /// Handlers as storage handlers are written: the caller from the context, then business logic.
    static func router() -> Router {
        var router = Router()
        router.registerUnary(whoAmI) { (_: Text, context: ServerContext) -> Text in
            let first = try context.caller
            let again = try context.caller
            return .with { $0.value = "\(first.principal.handle) \(again.name)" }
        }
        router.registerUnary(missing) { (_: Text, context: ServerContext) -> Text in
            _ = try context.caller
            throw StorageError.notFound("object 'a/b' not found")
        }
        router.registerServerStreaming(watch) { (_: Text, writer: ServerResponseWriter<Text>, context: ServerContext) in
            _ = try context.caller
            try await writer.write(.with { $0.value = "change 1" })
            throw StorageError.aborted("this watcher fell behind; watch again from cursor 1")
        }
        router.registerUnary(databaseDown) { (_: Text, context: ServerContext) -> Text in
            _ = try context.caller
            throw PostgresError(.connection, "could not connect to server at /run/postgresql")
        }
        router.registerUnary(nulParameter) { (_: Text, context: ServerContext) -> Text in
            _ = try context.caller
            throw PostgresError(.encoding, "text parameters cannot contain NUL (U+0000); PostgreSQL text never does")
        }
        router.registerUnary(nulStatement) { (_: Text, context: ServerContext) -> Text in
            _ = try context.caller
            throw PostgresError(.statement, "SQL text cannot contain NUL characters")
        }
        router.registerUnary(blobGone) { (_: Text, context: ServerContext) -> Text in
            _ = try context.caller
            throw BlobError.notFound(goneKey)
        }
        router.registerUnary(hold) { (_: Text, context: ServerContext) -> Text in
            _ = try context.caller
            holdsStarted.add(1, ordering: .relaxed)
            try await Task.sleep(for: .seconds(1))
            return Text()
        }
        router.register(HealthService(registry: HealthStatusRegistry()))
        return router
    }

    static func client(
        _ directory: CountingDirectory, peer: PeerIdentity? = testPeer, mapping: PrincipalMapping = .subjectAndSANs,
        admins: [String] = [], maxCallsPerPrincipal: Int = 0
    ) throws -> RPCClient {
        // The ledger's pool never connects: nothing here flushes traffic.
        let traffic = TrafficRecorder(ledger: UsageLedger(database: try PostgresPool(url: "host=/nonexistent dbname=none")))
        // A clock that stands still: a bucket emptied here stays empty however slow the machine.
        let limits = LimitAdmission(
            limiters: PrincipalLimiters(clock: { .zero }), traffic: traffic, defaults: RateLimits(), admins: AdminRoster(admins),
            maxCallsPerPrincipal: maxCallsPerPrincipal)
        let interceptor = StorageCallInterceptor(mapping: mapping, callers: directory, limits: limits)
        return RPCClient(transport: InMemoryTransport(router: router(), peer: peer, interceptor: interceptor))
    }

    /// The messages a streaming call received before it failed.
    final class Received: Sendable {
        let values = Mutex<[String]>([])
    }

    static func failure(_ body: () async throws -> Void) async -> RPCError? {
        do {
            try await body()
            return nil
        } catch let error as RPCError {
            return error
        } catch {
            Issue.record("expected an RPCError, got \(error)")
            return nil
        }
    }

    @Test func theCallerIsResolvedOncePerCallAndReachesTheHandler() async throws {
        let directory = CountingDirectory()
        let client = try Self.client(directory)
        for call in 1...3 {
            let response: ClientResponse<Text> = try await client.unary(Self.whoAmI, Text())
            #expect(response.message.value == "tester CN=tester,O=Sluice;DNS=tester.example")
            #expect(directory.lookups.load(ordering: .relaxed) == call)
        }
    }

    @Test func theLimitsReuseTheResolvedCaller() async throws {
        let directory = CountingDirectory(settings: PrincipalSettings(overrides: [.requestsPerSecond: 1]))
        let client = try Self.client(directory)
        let _: ClientResponse<Text> = try await client.unary(Self.whoAmI, Text())
        let refused = await Self.failure { let _: ClientResponse<Text> = try await client.unary(Self.whoAmI, Text()) }
        #expect(refused?.code == .resourceExhausted)
        #expect(refused?.trailers.firstString("grpc-retry-pushback-ms").flatMap { Int($0) }.map { $0 > 0 } == true)
        #expect(refused?.trailers.firstString("sluice-exhausted") == "rate")
        #expect(directory.lookups.load(ordering: .relaxed) == 2)
    }

    /// A principal with its most calls in progress is refused more, with a pushback; a call
    /// that ends makes room again.
    @Test func aPrincipalAtItsCallLimitIsRefusedUntilACallEnds() async throws {
        let client = try Self.client(CountingDirectory(), maxCallsPerPrincipal: 1)
        let first = Task { let _: ClientResponse<Text> = try await client.unary(Self.hold, Text()) }
        while Self.holdsStarted.load(ordering: .relaxed) == 0 { try await Task.sleep(for: .milliseconds(5)) }
        let refused = await Self.failure { let _: ClientResponse<Text> = try await client.unary(Self.whoAmI, Text()) }
        #expect(refused?.code == .resourceExhausted)
        #expect(refused?.message.contains("1 calls in progress") == true)
        #expect(refused?.trailers.firstString("sluice-exhausted") == "calls")
        #expect(refused?.trailers.firstString("grpc-retry-pushback-ms") == "1000")
        try await first.value
        let response: ClientResponse<Text> = try await client.unary(Self.whoAmI, Text())
        #expect(response.message.value.hasPrefix("tester"))
    }

    @Test func aDisabledCallerIsRefusedBeforeItsHandlerWithOneLookup() async throws {
        let directory = CountingDirectory(settings: PrincipalSettings(disabled: true))
        let refused = await Self.failure {
            let _: ClientResponse<Text> = try await Self.client(directory).unary(Self.whoAmI, Text())
        }
        #expect(refused?.code == .permissionDenied)
        #expect(refused?.message.hasPrefix("principal 'tester' is disabled by an administrator") == true)
        #expect(directory.lookups.load(ordering: .relaxed) == 1)
    }

    @Test func anAdministratorIsNeverRefusedAsDisabled() async throws {
        let directory = CountingDirectory(settings: PrincipalSettings(disabled: true))
        let admin = try PrincipalMapping.subjectAndSANs.principalName(of: testPeer)
        let response: ClientResponse<Text> = try await Self.client(directory, admins: [admin]).unary(Self.whoAmI, Text())
        #expect(response.message.value == "tester \(admin)")
        #expect(directory.lookups.load(ordering: .relaxed) == 1)
    }

    @Test func aCallWithoutACertificateIsUnauthenticatedAndLooksNothingUp() async throws {
        let directory = CountingDirectory()
        let refused = await Self.failure {
            let _: ClientResponse<Text> = try await Self.client(directory, peer: nil).unary(Self.whoAmI, Text())
        }
        #expect(refused?.code == .unauthenticated)
        #expect(refused?.message == "storage calls need a client certificate: connect with mutual TLS (--cert and --key)")
        #expect(directory.lookups.load(ordering: .relaxed) == 0)
    }

    @Test func aCertificateNamingNoPrincipalIsUnauthenticatedSayingWhy() async throws {
        let directory = CountingDirectory()
        let refused = await Self.failure {
            let _: ClientResponse<Text> = try await Self.client(directory, mapping: .sanURI).unary(Self.whoAmI, Text())
        }
        #expect(refused?.code == .unauthenticated)
        #expect(refused?.message.contains("0 URI subject alternative names") == true)
        #expect(directory.lookups.load(ordering: .relaxed) == 0)
    }

    @Test func healthNeedsNoPrincipalNorALookup() async throws {
        let directory = CountingDirectory()
        let health = Grpc_Health_V1_HealthClient(try Self.client(directory, peer: nil))
        #expect(try await health.check(Grpc_Health_V1_HealthCheckRequest()).status == .serving)
        #expect(directory.lookups.load(ordering: .relaxed) == 0)
    }

    @Test func aHandlerServedWithoutTheInterceptorFailsAsInternalNotAsTheClientsFault() async throws {
        let client = RPCClient(transport: InMemoryTransport(router: Self.router(), peer: testPeer))
        let refused = await Self.failure { let _: ClientResponse<Text> = try await client.unary(Self.whoAmI, Text()) }
        #expect(refused?.code == .internal)
        #expect(refused?.message.hasPrefix("internal error; request id ") == true)
    }

    @Test func aStorageErrorAHandlerThrowsBecomesItsStatus() async throws {
        let refused = await Self.failure {
            let _: ClientResponse<Text> = try await Self.client(CountingDirectory()).unary(Self.missing, Text())
        }
        #expect(refused?.code == .notFound)
        #expect(refused?.message == "object 'a/b' not found")
    }

    @Test func aStorageErrorThrownMidStreamBecomesItsStatusAfterTheMessagesSent() async throws {
        let received = Received()
        let refused = await Self.failure {
            try await Self.client(CountingDirectory()).serverStreaming(Self.watch, Text()) {
                (responses: ClientResponseStream<Text>) in
                for try await message in responses { received.values.withLock { $0.append(message.value) } }
            }
        }
        #expect(received.values.withLock { $0 } == ["change 1"])
        #expect(refused?.code == .aborted)
        #expect(refused?.message == "this watcher fell behind; watch again from cursor 1")
    }

    @Test func aDatabaseFailureIsConcealedBehindTheRequestID() async throws {
        let refused = await Self.failure {
            let _: ClientResponse<Text> = try await Self.client(CountingDirectory()).unary(Self.databaseDown, Text())
        }
        #expect(refused?.code == .unavailable)
        #expect(refused?.message.hasPrefix("the metadata database is unavailable for now; try again; request id ") == true)
        #expect(refused?.message.contains("postgresql") == false)
    }

    /// A NUL no check refused before the query is the request's fault (INVALID_ARGUMENT, no
    /// database text); one in the SQL text itself is the server's (INTERNAL).
    @Test func aNULInATextParameterIsInvalidArgumentAndOneInTheStatementIsInternal() async throws {
        let client = try Self.client(CountingDirectory())
        let parameter = await Self.failure { let _: ClientResponse<Text> = try await client.unary(Self.nulParameter, Text()) }
        #expect(parameter?.code == .invalidArgument)
        #expect(parameter?.message.hasPrefix("a text field of the request contains a NUL character (U+0000)") == true)
        #expect(parameter?.message.contains("PostgreSQL") == false)
        let statement = await Self.failure { let _: ClientResponse<Text> = try await client.unary(Self.nulStatement, Text()) }
        #expect(statement?.code == .internal)
        #expect(statement?.message.contains("SQL") == false)
    }

    /// Missing blob bytes that no reader explained are DATA_LOSS without the blob's key.
    @Test func missingBlobBytesAreDataLossWithoutTheBlobKey() async throws {
        let refused = await Self.failure {
            let _: ClientResponse<Text> = try await Self.client(CountingDirectory()).unary(Self.blobGone, Text())
        }
        #expect(refused?.code == .dataLoss)
        #expect(refused?.message.hasPrefix("stored bytes are missing or damaged; request id ") == true)
        #expect(refused?.message.lowercased().contains("e2e2e2") == false)
        #expect(refused?.message.contains("p1/") == false)
    }
}
