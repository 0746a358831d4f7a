import Foundation
import SluiceInterop
import SluiceProto
import SluiceRPC
import Testing

@Suite struct EchoServiceTests {
    typealias Request = Sluice_Interop_V1_EchoRequest
    let unaryContext = makeContext(Sluice_Interop_V1_EchoService.Method.unaryEcho, peer: testPeer)

    @Test func unaryEchoesPayloadAndIdentity() async throws {
        let response = try await EchoService().unaryEcho(request: .with { $0.payload = Data("hello".utf8) }, context: unaryContext)
        #expect(response.payload == Data("hello".utf8))
        #expect(response.peerIdentity == "CN=tester;DNS=tester.example")
    }

    @Test func unaryWithoutPeerHasEmptyIdentity() async throws {
        let context = makeContext(Sluice_Interop_V1_EchoService.Method.unaryEcho)
        #expect(try await EchoService().unaryEcho(request: Request(), context: context).peerIdentity == "")
    }

    @Test func responseSizeGeneratesPattern() async throws {
        let response = try await EchoService().unaryEcho(
            request: .with { $0.payload = Data("ignored".utf8); $0.responseSize = 1000 }, context: unaryContext)
        #expect(response.payload == Data((0..<1000).map { UInt8($0 % 256) }))
    }

    @Test func respondWithStatusFails() async throws {
        let request = Request.with { $0.respondWithStatus = .with { $0.code = 9; $0.message = "précondition ✗ 失败" } }
        do {
            _ = try await EchoService().unaryEcho(request: request, context: unaryContext)
            Issue.record("the call succeeded")
        } catch let error as RPCError {
            #expect(error.code == .failedPrecondition)
            #expect(error.message == "précondition ✗ 失败")
        }
        // Code 0 means "not asked for".
        let ok = Request.with { $0.payload = Data([1]); $0.respondWithStatus = .with { $0.message = "ignored" } }
        #expect(try await EchoService().unaryEcho(request: ok, context: unaryContext).payload == Data([1]))
    }

    @Test func cancelledDelayRecordsTag() async throws {
        let service = EchoService()
        let context = unaryContext
        let call = Task {
            try await service.unaryEcho(request: .with { $0.delayMs = 60_000; $0.tag = "t-cancel" }, context: context)
        }
        try await Task.sleep(for: .milliseconds(50))
        call.cancel()
        await #expect(throws: CancellationError.self) { try await call.value }
        let stats = try await service.getStats(request: .init(), context: context)
        #expect(stats.cancelledTags == ["t-cancel"])
    }

    @Test func failuresThatAreNotCancellationRecordNothing() async throws {
        let service = EchoService()
        let request = Request.with { $0.tag = "t-status"; $0.respondWithStatus = .with { $0.code = 3 } }
        _ = try? await service.unaryEcho(request: request, context: unaryContext)
        #expect(service.cancelled.isEmpty)
    }

    @Test func statsComeFromTheTransport() async throws {
        let service = EchoService(transportStats: {
            TransportStats(maxBufferedStreamBytes: 123, streamWindowBytes: 456, activeCalls: 7)
        })
        let stats = try await service.getStats(request: .init(), context: unaryContext)
        #expect(stats.maxBufferedStreamBytes == 123)
        #expect(stats.streamWindowBytes == 456)
        #expect(stats.activeCalls == 7)
        #expect(stats.cancelledTags.isEmpty)
    }

    // Over the in-memory transport: streaming kinds and metadata.

    @Test func metadataIsEchoedInHeadersAndTrailers() async throws {
        let server = try TestServer()
        var options = CallOptions()
        options.metadata.add("x-echo-initial-a", "one")
        options.metadata.add("x-echo-trailing-bin", bytes: [0, 1, 255])
        options.metadata.add("x-other", "not echoed")
        let response: ClientResponse<Sluice_Interop_V1_EchoResponse> = try await server.client.unary(
            Sluice_Interop_V1_EchoService.Method.unaryEcho, Request(), options: options)
        #expect(response.initialMetadata.firstString("x-echo-initial-a") == "one")
        #expect(response.initialMetadata.firstString("x-other") == nil)
        #expect(response.trailingMetadata.firstBytes("x-echo-trailing-bin") == [0, 1, 255])
    }

    @Test func trailingMetadataAccompaniesFailure() async throws {
        let server = try TestServer()
        var options = CallOptions()
        options.metadata.add("x-echo-trailing", "still here")
        let request = Request.with { $0.respondWithStatus = .with { $0.code = 5; $0.message = "gone" } }
        do {
            _ = try await Sluice_Interop_V1_EchoServiceClient(server.client).unaryEcho(request, options: options)
            Issue.record("the call succeeded")
        } catch let error as RPCError {
            #expect(error.code == .notFound)
            #expect(error.trailers.firstString("x-echo-trailing") == "still here")
        }
    }

    @Test func serverStreamingSendsCountMessages() async throws {
        let server = try TestServer()
        let sizes = try await Sluice_Interop_V1_EchoServiceClient(server.client).serverStreamEcho(
            .with { $0.responseCount = 5; $0.responseSize = 10 }
        ) { responses in
            try await responses.reduce(into: [Int]()) { $0.append($1.payload.count) }
        }
        #expect(sizes == [10, 10, 10, 10, 10])
    }

    @Test func clientStreamingCountsWhatArrived() async throws {
        let server = try TestServer()
        let response = try await Sluice_Interop_V1_EchoServiceClient(server.client).clientStreamEcho { writer in
            try await writer.write(.with { $0.payload = Data(count: 10); $0.pauseReadingMs = 20; $0.responseSize = 3 })
            try await writer.write(.with { $0.payload = Data(count: 5) })
        }
        #expect(response.receivedBytes == 15)
        #expect(response.receivedMessages == 2)
        #expect(response.payload == Data([0, 1, 2]))
        #expect(response.peerIdentity == testPeer.description)
    }

    @Test func bidiCancellationRecordsTag() async throws {
        let server = try TestServer()
        try await Sluice_Interop_V1_EchoServiceClient(server.client).bidiEcho { requests, responses in
            try await requests.write(.with { $0.payload = Data("x".utf8); $0.tag = "t-bidi" })
            var iterator = responses.makeAsyncIterator()
            _ = try await iterator.next()
        }
        let echo = server.echo
        for _ in 0..<100 where !echo.cancelled.contains("t-bidi") {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(echo.cancelled == ["t-bidi"])
    }
}
