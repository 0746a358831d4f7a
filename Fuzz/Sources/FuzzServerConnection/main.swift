// Fuzzes a whole server connection: a real HTTP2Server (cleartext h2c) on loopback serving
// the health and reflection services (unary, server-streaming and bidirectional calls), fed the input as the bytes a client sends after
// the HTTP/2 preface. The server must answer or close, never trap; each input's connection
// is read to its end, so whatever the bytes cause happens within the input's run.
import FuzzSupport
import Foundation
import Logging
import NIOPosix
import SluiceHTTP2
import SluiceRPC
import SluiceServer
import Synchronization

let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

/// Starts the server once, on an event loop of its own; returns its port.
let serverPort: UInt16 = {
    let port = Mutex(0)
    let started = DispatchSemaphore(value: 0)
    Task.detached {
        defer { started.signal() }
        let health = HealthStatusRegistry()
        var router = Router()
        router.register(HealthService(registry: health))
        router.register(try! ReflectionService(serviceNames: router.serviceNames))
        let server = HTTP2Server(
            configuration: HTTP2ServerConfiguration(host: "127.0.0.1", port: 0, tls: nil),
            dispatcher: CallDispatcher(router: router, maxReceiveMessageSize: 64 * 1024),
            logger: Logger(label: "fuzz") { _ in SwiftLogNoOpLogHandler() },
            group: MultiThreadedEventLoopGroup(numberOfThreads: 1))
        let address = try! await server.start()
        port.withLock { $0 = address.port! }
    }
    started.wait()
    return UInt16(port.withLock { $0 })
}()

/// Sends `bytes` on a new connection, half-closes, and reads until the server closes
/// (at most two seconds).
func exchange(_ bytes: [UInt8]) {
    let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    precondition(socket >= 0, "socket: \(errno)")
    defer { close(socket) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = serverPort.bigEndian
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    }
    if connected != 0 && errno == EINTR {
        // A signal (libFuzzer's own timer) interrupted the call; the connection goes on: wait for it.
        var ready = pollfd(fd: socket, events: Int16(POLLOUT), revents: 0)
        while poll(&ready, 1, 2000) < 0 && errno == EINTR {}
        var failure: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(socket, SOL_SOCKET, SO_ERROR, &failure, &length)
        connected = failure == 0 && ready.revents & Int16(POLLOUT) != 0 ? 0 : -1
    }
    precondition(connected == 0, "connect: \(errno)")
    var timeout = timeval(tv_sec: 2, tv_usec: 0)
    setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    setsockopt(socket, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    // Close with a reset: no TIME_WAIT left behind by thousands of connections.
    var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
    setsockopt(socket, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))

    bytes.withUnsafeBytes { buffer in
        var sent = 0
        while sent < buffer.count {
            let written = send(socket, buffer.baseAddress! + sent, buffer.count - sent, Int32(MSG_NOSIGNAL))
            if written <= 0 { return }
            sent += written
        }
    }
    shutdown(socket, Int32(SHUT_WR))
    var sink = [UInt8](repeating: 0, count: 16 * 1024)
    while recv(socket, &sink, sink.count, 0) > 0 {}
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzServerConnection(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    exchange(preface + Array(UnsafeBufferPointer(start: start, count: count)))
    return 0
}

runFuzzer(fuzzServerConnection)
