import Foundation

/// The outcome of one benchmark run, printed as one JSON line (snake_case keys) that
/// scripts/bench.sh reads.
public struct BenchmarkResult: Codable, Sendable {
    public var mode: String
    public var streams: Int
    public var messageSize: Int
    /// Calls completed (unary: every call; bulk: every stream's calls).
    public var calls: Int
    /// Payload messages moved (bulk runs; unary: one per call).
    public var messages: Int
    /// Payload bytes moved, counted where they arrived (the server's received_bytes for
    /// uploads, the payloads read by the client for downloads, request payloads for unary).
    public var bytes: Int64
    /// Wall-clock time of the measured phase (the connection is set up before it starts).
    public var elapsedSeconds: Double
    public var callsPerSecond: Double
    public var bytesPerSecond: Double
    /// This client process's CPU time during the measured phase (getrusage).
    public var clientUserSeconds: Double
    public var clientSystemSeconds: Double
    public var clientCPUSeconds: Double
    /// Client CPU-seconds per GiB moved (bulk runs).
    public var clientCPUSecondsPerGiB: Double?
    /// Unary call latency percentiles, microseconds.
    public var latencyP50Micros: Double?
    public var latencyP99Micros: Double?
    /// false when the run stopped at its duration before moving every byte asked for.
    public var complete: Bool

    enum CodingKeys: String, CodingKey {
        case mode, streams, calls, messages, bytes, complete
        case messageSize = "message_size"
        case elapsedSeconds = "elapsed_seconds"
        case callsPerSecond = "calls_per_second"
        case bytesPerSecond = "bytes_per_second"
        case clientUserSeconds = "client_user_seconds"
        case clientSystemSeconds = "client_system_seconds"
        case clientCPUSeconds = "client_cpu_seconds"
        case clientCPUSecondsPerGiB = "client_cpu_seconds_per_gib"
        case latencyP50Micros = "latency_p50_us"
        case latencyP99Micros = "latency_p99_us"
    }

    /// One line of JSON, keys sorted, no trailing newline.
    public func jsonLine() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }
}

/// CPU time this process has used so far, from getrusage(RUSAGE_SELF): every thread.
struct ProcessCPUTime: Sendable {
    var user: Double
    var system: Double

    static func now() -> ProcessCPUTime {
        var usage = rusage()
        #if os(Linux)
        _ = getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        #else
        _ = getrusage(RUSAGE_SELF, &usage)
        #endif
        return ProcessCPUTime(user: seconds(usage.ru_utime), system: seconds(usage.ru_stime))
    }

    static func - (lhs: ProcessCPUTime, rhs: ProcessCPUTime) -> ProcessCPUTime {
        ProcessCPUTime(user: lhs.user - rhs.user, system: lhs.system - rhs.system)
    }

    private static func seconds(_ time: timeval) -> Double {
        Double(time.tv_sec) + Double(time.tv_usec) / 1e6
    }
}
