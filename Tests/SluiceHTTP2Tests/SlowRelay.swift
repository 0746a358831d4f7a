import Foundation
import Synchronization

/// A TCP relay on 127.0.0.1 to a local port, passing what the client sends at most `rate`
/// bytes a second (a slow uplink) and what the server sends as it comes. The kernel's buffers
/// on the client's side take a burst at once, as a real link's do, so the client has long
/// written its bytes while they still trickle to the server.
final class SlowRelay: Sendable {
    let port: Int
    private let listener: Int32
    private let sockets = Mutex<[Int32]>([])

    init(to target: Int, rate: Int) throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = Self.loopback(port: 0)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(listener, 16) == 0 else { throw TestFailure("cannot listen: errno \(errno)") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        self.listener = listener
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread.detachNewThread { [self] in
            while true {
                let client = accept(listener, nil, nil)
                guard client >= 0 else { return }
                let server = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
                var targetAddress = Self.loopback(port: target)
                let connected = withUnsafePointer(to: &targetAddress) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        connect(server, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                    }
                }
                sockets.withLock { $0 += [client, server] }
                guard connected == 0 else {
                    shutdown(client, Int32(SHUT_RDWR))
                    continue
                }
                Thread.detachNewThread { Self.pump(from: client, to: server, rate: rate) }
                Thread.detachNewThread { Self.pump(from: server, to: client, rate: nil) }
            }
        }
    }

    /// Stops accepting and ends every relayed connection.
    func close() {
        shutdown(listener, Int32(SHUT_RDWR))
        Glibc.close(listener)
        for socket in sockets.withLock({ $0 }) { shutdown(socket, Int32(SHUT_RDWR)) }
    }

    /// Copies until either side ends, at most `rate` bytes a second (a tenth of it every
    /// 100 ms), or as fast as they come.
    private static func pump(from source: Int32, to destination: Int32, rate: Int?) {
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        let step = rate.map { max(1, $0 / 10) } ?? buffer.count
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(source, $0.baseAddress, step, 0) }
            guard count > 0 else { break }
            var sent = 0
            while sent < count {
                let written = buffer.withUnsafeBytes { send(destination, $0.baseAddress! + sent, count - sent, Int32(MSG_NOSIGNAL)) }
                guard written > 0 else { break }
                sent += written
            }
            guard sent == count else { break }
            if rate != nil { usleep(100_000) }
        }
        shutdown(source, Int32(SHUT_RDWR))
        shutdown(destination, Int32(SHUT_RDWR))
    }

    private static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }
}
