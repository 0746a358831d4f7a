import Foundation
import SluiceDuration
import SluiceProto
import SluiceRPC
import Synchronization

/// A benchmark run that saw something other than what it asked for.
public struct BenchmarkFailure: Error, CustomStringConvertible {
    public var message: String

    public var description: String { "benchmark failed: \(message)" }
}

/// Runs one benchmark (`BenchmarkConfiguration`) against EchoService over one client, whose
/// transport holds one connection: `streams` callers share it.
///
/// The connection is made (TCP, TLS handshake, HTTP/2 settings) by a warm-up call before
/// the clock starts; the measured phase covers only the calls themselves. The client's CPU
/// time over that phase comes from getrusage; the server's is the caller's to measure (see
/// scripts/bench.sh, which reads it from /proc).
public struct BenchmarkRunner: Sendable {
    typealias Request = Sluice_Interop_V1_EchoRequest

    public let configuration: BenchmarkConfiguration
    private let echo: Sluice_Interop_V1_EchoServiceClient

    public init(configuration: BenchmarkConfiguration, client: RPCClient) {
        self.configuration = configuration
        self.echo = Sluice_Interop_V1_EchoServiceClient(client)
    }

    public func run() async throws -> BenchmarkResult {
        let configuration = self.configuration
        guard configuration.streams > 0, configuration.messageSize > 0, configuration.totalBytes > 0 else {
            throw BenchmarkFailure(message: "streams, message size and total bytes must be positive")
        }
        _ = try await echo.unaryEcho(.with { $0.payload = Data("warm-up".utf8) }, options: options)

        let cpuAtStart = ProcessCPUTime.now()
        let start = ContinuousClock.now
        let deadline = start + configuration.maxDuration
        let tally = try await withWatchdog(until: deadline + Self.grace) { [self] in
            switch configuration.mode {
            case .unary: try await unary(until: deadline)
            case .upload: try await upload(until: deadline)
            case .download: try await download(until: deadline)
            }
        }
        let elapsed = (ContinuousClock.now - start).inSeconds
        let cpu = ProcessCPUTime.now() - cpuAtStart

        let isBulk = configuration.mode != .unary
        let latencies = tally.latenciesMicros.sorted()
        return BenchmarkResult(
            mode: configuration.mode.rawValue,
            streams: configuration.streams,
            messageSize: configuration.messageSize,
            calls: tally.calls,
            messages: tally.messages,
            bytes: tally.bytes,
            elapsedSeconds: elapsed,
            callsPerSecond: Double(tally.calls) / elapsed,
            bytesPerSecond: Double(tally.bytes) / elapsed,
            clientUserSeconds: cpu.user,
            clientSystemSeconds: cpu.system,
            clientCPUSeconds: cpu.user + cpu.system,
            clientCPUSecondsPerGiB: isBulk && tally.bytes > 0 ? (cpu.user + cpu.system) / (Double(tally.bytes) / gibibyte) : nil,
            latencyP50Micros: percentile(latencies, 0.50),
            latencyP99Micros: percentile(latencies, 0.99),
            complete: isBulk ? tally.messages >= configuration.totalMessages : true)
    }

    // MARK: - The three workloads

    /// `streams` callers, each making UnaryEcho calls one after another until the deadline.
    private func unary(until deadline: ContinuousClock.Instant) async throws -> Tally {
        let echo = self.echo
        let options = self.options
        let size = configuration.messageSize
        let request = Request.with { $0.payload = EchoPayload.generated(count: size) }
        return try await inParallel(configuration.streams) { _ in
            var tally = Tally()
            tally.latenciesMicros.reserveCapacity(4096)
            while ContinuousClock.now < deadline {
                let sent = ContinuousClock.now
                let response = try await echo.unaryEcho(request, options: options)
                tally.latenciesMicros.append((ContinuousClock.now - sent).inSeconds * 1e6)
                guard response.payload.count == size else {
                    throw BenchmarkFailure(message: "UnaryEcho answered \(response.payload.count) bytes, not \(size)")
                }
                tally.calls += 1
                tally.messages += 1
                tally.bytes += Int64(size)
            }
            return tally
        }
    }

    /// `streams` ClientStreamEcho calls at once, each sending messages taken from a shared
    /// budget until it is spent (so the streams finish together), or the deadline passes.
    private func upload(until deadline: ContinuousClock.Instant) async throws -> Tally {
        let echo = self.echo
        let options = self.options
        let size = configuration.messageSize
        let budget = MessageBudget(configuration.totalMessages)
        let request = Request.with { $0.payload = EchoPayload.generated(count: size) }
        return try await inParallel(configuration.streams) { _ in
            let response = try await echo.clientStreamEcho(options: options) { writer in
                while ContinuousClock.now < deadline, budget.take(upTo: 1) == 1 {
                    try await writer.write(request)
                }
            }
            guard response.receivedBytes == Int64(response.receivedMessages) * Int64(size) else {
                throw BenchmarkFailure(
                    message: "ClientStreamEcho received \(response.receivedBytes) bytes in \(response.receivedMessages) messages of \(size)")
            }
            return Tally(calls: 1, messages: Int(response.receivedMessages), bytes: response.receivedBytes)
        }
    }

    /// `streams` callers, each making ServerStreamEcho calls for a share of a shared budget
    /// of messages at a time, until it is spent or the deadline passes.
    private func download(until deadline: ContinuousClock.Instant) async throws -> Tally {
        let echo = self.echo
        var options = self.options
        options.maxReceiveMessageSize = max(options.maxReceiveMessageSize, configuration.messageSize + 64 * 1024)
        let size = configuration.messageSize
        let total = configuration.totalMessages
        let budget = MessageBudget(total)
        // At most 64 MiB per call, and no more than an even share, so streams end together.
        let perCall = max(1, min(64 * 1024 * 1024 / size, (total + configuration.streams - 1) / configuration.streams))
        return try await inParallel(configuration.streams) { [options] _ in
            var tally = Tally()
            while ContinuousClock.now < deadline {
                let count = budget.take(upTo: perCall)
                if count == 0 { break }
                let request = Request.with {
                    $0.responseCount = Int32(count)
                    $0.responseSize = Int32(size)
                }
                let received = try await echo.serverStreamEcho(request, options: options) { responses in
                    var received = Tally(calls: 1)
                    for try await response in responses {
                        guard response.payload.count == size else {
                            throw BenchmarkFailure(message: "ServerStreamEcho sent \(response.payload.count) bytes, not \(size)")
                        }
                        received.messages += 1
                        received.bytes += Int64(size)
                        if ContinuousClock.now >= deadline { break }
                    }
                    return received
                }
                guard received.messages == count || ContinuousClock.now >= deadline else {
                    throw BenchmarkFailure(message: "ServerStreamEcho sent \(received.messages) responses, not \(count)")
                }
                tally.add(received)
            }
            return tally
        }
    }

    // MARK: - Helpers

    /// How long past its duration a run may take to wind down before it is failed.
    static let grace: Duration = .seconds(60)

    /// Per-call options. Calls carry no deadline unless asked (`callTimeout`): a deadline
    /// costs both sides a timer per call, which is not what a run measures; the run as a
    /// whole is bounded by `withWatchdog` instead.
    private var options: CallOptions {
        CallOptions(timeout: configuration.callTimeout)
    }

    /// Runs `work`, cancelling it (its calls are reset) if it has not ended by `limit`.
    private func withWatchdog(
        until limit: ContinuousClock.Instant, _ work: @escaping @Sendable () async throws -> Tally
    ) async throws -> Tally {
        try await withThrowingTaskGroup(of: Tally?.self) { group in
            group.addTask { try await work() }
            group.addTask {
                try await Task.sleep(until: limit, clock: .continuous)
                return nil
            }
            defer { group.cancelAll() }
            guard let tally = try await group.next()! else {
                throw BenchmarkFailure(message: "the run did not end within \(configuration.maxDuration + Self.grace)")
            }
            return tally
        }
    }

    /// Runs `body` `count` times concurrently and sums what they counted.
    private func inParallel(
        _ count: Int, _ body: @escaping @Sendable (Int) async throws -> Tally
    ) async throws -> Tally {
        try await withThrowingTaskGroup(of: Tally.self) { group in
            for index in 0..<count { group.addTask { try await body(index) } }
            var total = Tally()
            for try await tally in group { total.add(tally) }
            return total
        }
    }

    private func percentile(_ sorted: [Double], _ fraction: Double) -> Double? {
        guard !sorted.isEmpty else { return nil }
        return sorted[min(sorted.count - 1, Int(Double(sorted.count) * fraction))]
    }
}

private let gibibyte = 1024.0 * 1024.0 * 1024.0

/// What one caller (or all of them, summed) did.
struct Tally: Sendable {
    var calls = 0
    var messages = 0
    var bytes: Int64 = 0
    var latenciesMicros: [Double] = []

    mutating func add(_ other: Tally) {
        calls += other.calls
        messages += other.messages
        bytes += other.bytes
        latenciesMicros += other.latenciesMicros
    }
}

/// Messages left to move, shared by the streams of a run.
final class MessageBudget: Sendable {
    private let remaining: Atomic<Int>

    init(_ messages: Int) {
        remaining = Atomic(messages)
    }

    /// Takes up to `count` messages; returns how many it took, 0 once none are left.
    func take(upTo count: Int) -> Int {
        var current = remaining.load(ordering: .relaxed)
        while current > 0 {
            let taken = min(count, current)
            let (exchanged, original) = remaining.compareExchange(
                expected: current, desired: current - taken, ordering: .relaxed)
            if exchanged { return taken }
            current = original
        }
        return 0
    }
}
