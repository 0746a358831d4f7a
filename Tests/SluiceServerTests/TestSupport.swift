import SluiceInterop
import SluiceProto
import SluiceRPC
import SluiceServer

/// A context as the dispatcher would make it for a call of `method`.
func makeContext(
    _ method: MethodDescriptor, metadata: Metadata = [:], peer: PeerIdentity? = nil
) -> ServerContext {
    ServerContext(method: method, requestMetadata: metadata, peer: peer, remoteAddress: nil, deadline: nil)
}

/// The identity calls over `makeServer` carry.
let testPeer = PeerIdentity(subject: "CN=tester,O=Sluice", commonName: "tester", dnsNames: ["tester.example"])

/// The services `sluice-interop serve` offers, behind an in-memory transport.
struct TestServer {
    let echo: EchoService
    let health: HealthStatusRegistry
    let client: RPCClient

    init() throws {
        let echo = EchoService(transportStats: { TransportStats(streamWindowBytes: 1 << 20, activeCalls: 1) })
        let health = HealthStatusRegistry()
        health.set(service: Sluice_Interop_V1_EchoService.serviceName, status: .serving)
        var router = Router()
        router.register(echo)
        router.register(HealthService(registry: health))
        router.register(try ReflectionService(serviceNames: router.serviceNames))
        self.echo = echo
        self.health = health
        self.client = RPCClient(transport: InMemoryTransport(router: router, peer: testPeer))
    }
}
