import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A listener that could not be opened, named by the address asked for: what an operator reads
/// when the port is taken or the address is not this host's ("cannot listen on
/// 127.0.0.1:8443: Address already in use"), rather than the socket call's own wording.
public struct ListenError: Error, CustomStringConvertible {
    public let description: String

    /// Runs `bind`, turning a system error into a ListenError naming `what` (the flag) and the address.
    public static func naming<Result>(
        _ what: String, host: String, port: Int, _ bind: () async throws -> Result
    ) async throws -> Result {
        do {
            return try await bind()
        } catch let error as IOError {
            throw ListenError(description: "\(what): cannot listen on \(host):\(port): \(String(cString: strerror(error.errnoCode)))")
        }
    }
}
