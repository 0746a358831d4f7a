/// The state of a transfer as its events tell it, with the rate and time left, and the
/// one-line status a terminal shows. Times are seconds on any monotonic clock.
public struct TransferProgress: Sendable {
    /// Local hashing under way: which pass, bytes hashed, bytes to hash.
    public struct Hashing: Sendable, Equatable {
        public var phase: HashingPhase
        public var bytes: Int64
        public var total: Int64
    }

    /// How far back the rate looks.
    public static let rateWindow: Double = 5

    public private(set) var start: TransferStart?
    public private(set) var hashing: Hashing?
    /// Bytes done, those an earlier run did included; bytes of failed attempts excluded.
    public private(set) var bytesDone: Int64 = 0
    public private(set) var partitionsDone = 0
    public private(set) var isCommitting = false
    /// Bytes moved by this run, failed attempts included: what the rate measures.
    private var bytesMoved: Int64 = 0
    private var samples: [(time: Double, bytes: Int64)] = []

    public init() {}

    public mutating func apply(_ event: TransferEvent, at time: Double) {
        if case .hashing(let phase, let bytes, let total) = event {
            hashing = Hashing(phase: phase, bytes: bytes, total: total)
            return
        }
        hashing = nil
        switch event {
        case .started(let start):
            self.start = start
            bytesDone = start.doneBytes
            partitionsDone = start.donePartitions
            samples = [(time, 0)]
        case .transferred(_, let bytes):
            // Within the totals: a partition fetched again after a failed attempt in its run
            // (whose verified partitions are not taken back) would count twice.
            bytesDone = min(bytesDone + bytes, start?.totalBytes ?? .max)
            bytesMoved += bytes
            record(at: time)
        case .partitionRestarted(_, let discarded, _):
            bytesDone = max(0, bytesDone - discarded)
        case .partitionCompleted:
            partitionsDone = min(partitionsDone + 1, start?.partitionCount ?? .max)
        case .committing:
            isCommitting = true
        case .hashing, .retrying, .completed:
            break
        }
    }

    /// Bytes per second over the last few seconds; nil until there is enough to tell.
    public func rate(at time: Double) -> Double? {
        guard let base = samples.first, let last = samples.last, time - base.time >= 0.5 else { return nil }
        return Double(last.bytes - base.bytes) / (time - base.time)
    }

    /// Seconds left at the current rate; nil when the rate is unknown or zero.
    public func secondsLeft(at time: Double) -> Double? {
        guard let start, let rate = rate(at: time), rate > 0 else { return nil }
        return Double(max(0, start.totalBytes - bytesDone)) / rate
    }

    /// The status line: hashing, transferring, or committing.
    public func statusLine(at time: Double) -> String {
        if let hashing {
            let verb = switch hashing.phase {
            case .planning: "hashing"
            case .resuming: "checking kept partitions"
            case .verifying: "verifying"
            }
            return "\(verb) \(Format.bytes(hashing.bytes)) / \(Format.bytes(hashing.total)) "
                + Format.percent(hashing.bytes, of: hashing.total)
        }
        guard let start else { return "connecting" }
        if isCommitting {
            let size = Format.bytes(start.totalBytes)
            return "committing \(start.objectName) (\(size), \(start.partitionCount) partitions)"
        }
        var line = "\(start.direction.rawValue) \(Format.bytes(bytesDone)) / \(Format.bytes(start.totalBytes)) "
            + Format.percent(bytesDone, of: start.totalBytes)
        if let rate = rate(at: time) {
            line += "  \(Format.rate(bytesPerSecond: rate))"
            if let left = secondsLeft(at: time) { line += "  ETA \(Format.duration(seconds: left))" }
        }
        line += "  partitions \(partitionsDone)/\(start.partitionCount)"
        return line
    }

    private mutating func record(at time: Double) {
        samples.append((time, bytesMoved))
        // Keep the newest sample older than the window as the base the rate is measured from.
        while samples.count > 2 && samples[1].time <= time - Self.rateWindow {
            samples.removeFirst()
        }
    }
}
