import SluiceProto
import SluiceRPC
import SluiceServer
import Testing

@Suite struct HealthServiceTests {
    let registry = HealthStatusRegistry()
    var service: HealthService { HealthService(registry: registry) }
    let context = makeContext(Grpc_Health_V1_Health.Method.check)

    @Test func overallStatusStartsServing() async throws {
        let response = try await service.check(request: .init(), context: context)
        #expect(response.status == .serving)
    }

    @Test func checkFollowsTheRegistry() async throws {
        registry.set(service: "a.B", status: .notServing)
        let request = Grpc_Health_V1_HealthCheckRequest.with { $0.service = "a.B" }
        #expect(try await service.check(request: request, context: context).status == .notServing)
        registry.set(service: "a.B", status: .serving)
        #expect(try await service.check(request: request, context: context).status == .serving)
    }

    @Test func checkOfUnknownServiceIsNotFound() async throws {
        let request = Grpc_Health_V1_HealthCheckRequest.with { $0.service = "no.such.Service" }
        await #expect(throws: RPCError.self) { try await service.check(request: request, context: context) }
        do {
            _ = try await service.check(request: request, context: context)
        } catch let error as RPCError {
            #expect(error.code == .notFound)
        }
    }

    @Test func listReportsEveryService() async throws {
        registry.set(service: "a.B", status: .notServing)
        let response = try await service.list(request: .init(), context: context)
        #expect(response.statuses.mapValues(\.status) == ["": .serving, "a.B": .notServing])
    }

    @Test func updatesStartWithCurrentStatusThenFollowChanges() async throws {
        registry.set(service: "a.B", status: .notServing)
        var updates = registry.updates(of: "a.B").makeAsyncIterator()
        #expect(await updates.next() == .notServing)
        registry.set(service: "a.B", status: .serving)
        #expect(await updates.next() == .serving)
        registry.remove(service: "a.B")
        #expect(await updates.next() == .serviceUnknown)
    }

    @Test func updatesOfUnknownServiceSayServiceUnknown() async throws {
        var updates = registry.updates(of: "later.Service").makeAsyncIterator()
        #expect(await updates.next() == .serviceUnknown)
        registry.set(service: "later.Service", status: .serving)
        #expect(await updates.next() == .serving)
    }

    @Test func shutdownReportsNotServingAndEndsUpdates() async throws {
        var updates = registry.updates(of: "").makeAsyncIterator()
        #expect(await updates.next() == .serving)
        registry.shutdown()
        #expect(await updates.next() == .notServing)
        #expect(await updates.next() == nil)
        var late = registry.updates(of: "").makeAsyncIterator()
        #expect(await late.next() == .notServing)
        #expect(await late.next() == nil)
    }

    @Test func watchOverTheWireSendsCurrentStatusThenChanges() async throws {
        let server = try TestServer()
        let health = Grpc_Health_V1_HealthClient(server.client)
        let registry = server.health
        let seen = try await health.watch(.with { $0.service = "" }) { responses in
            var seen: [ServingStatus] = []
            for try await response in responses {
                seen.append(response.status)
                if seen.count == 1 { registry.set(service: "", status: .notServing) }
                if seen.count == 2 { break }
            }
            return seen
        }
        #expect(seen == [.serving, .notServing])
    }

    @Test func watchEndsWhenRegistryShutsDown() async throws {
        let server = try TestServer()
        let health = Grpc_Health_V1_HealthClient(server.client)
        let registry = server.health
        let seen = try await health.watch(.with { $0.service = "no.such.Service" }) { responses in
            var seen: [ServingStatus] = []
            for try await response in responses {
                seen.append(response.status)
                registry.shutdown()
            }
            return seen
        }
        #expect(seen == [.serviceUnknown])
    }
}
