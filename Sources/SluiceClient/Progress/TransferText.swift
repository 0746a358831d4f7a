import SluiceDuration

/// The plain lines a transfer reports when its output is not a terminal, and the summary
/// it ends with.
public enum TransferText {
    /// The line for an event worth a line of its own; nil for the rest (hashing, bytes).
    public static func line(for event: TransferEvent, progress: TransferProgress) -> String? {
        switch event {
        case .started(let start):
            let verb = start.direction == .upload ? "uploading \(start.localPath) to \(start.objectName)"
                : "downloading \(start.objectName) to \(spoken(start.localPath))"
            var line = "\(verb): \(Format.bytes(start.totalBytes)) in \(count(start.partitionCount, "partition")) of "
                + Format.bytes(start.partitionSize)
            if start.resumed {
                line += "; resuming with \(start.donePartitions) partitions done"
            }
            if let session = start.sessionID { line += " (session \(session))" }
            return line
        case .partitionCompleted(let index, let size, let alreadyStored):
            let total = progress.start.map { "\($0.partitionCount)" } ?? "?"
            let of = progress.start.map { " of \(Format.bytes($0.totalBytes))" } ?? ""
            return "partition \(index) \(alreadyStored ? "was already stored" : "done") (\(Format.bytes(size))); "
                + "\(progress.partitionsDone)/\(total) partitions, \(Format.bytes(progress.bytesDone))\(of)"
        case .partitionRestarted(let index, _, let reason):
            return "partition \(index): the attempt failed: \(reason)"
        case .retrying(let notice):
            return "retry \(notice.retry) of \(notice.operation) in \(Format.seconds(notice.delay)): \(notice.error)"
        case .committing:
            return "committing"
        case .hashing, .transferred, .completed:
            return nil
        }
    }

    /// What a finished transfer did, in one line.
    public static func summary(_ summary: TransferSummary) -> String {
        let what = summary.direction == .upload
            ? "uploaded \(summary.localPath) to \(summary.objectName) version \(summary.version)"
            : "downloaded \(summary.objectName) version \(summary.version) to \(spoken(summary.localPath))"
        let seconds = summary.elapsed.inSeconds
        let hash = summary.sha256.isEmpty ? "composite-sha256 \(summary.compositeSHA256)" : "sha256 \(summary.sha256)"
        var line = "\(what): \(Format.bytes(summary.size)), \(hash); "
            + "\(summary.partitionsTransferred) of \(count(summary.partitionCount, "partition")) moved"
        if summary.bytesTransferred >= 1 << 20 && seconds > 0 {
            line += " in \(Format.seconds(summary.elapsed)) "
                + "(\(Format.rate(bytesPerSecond: Double(summary.bytesTransferred) / seconds)))"
        }
        return line
    }

    /// A local path as a sentence names it: "-" (how events mark standard output, as `--json`
    /// reports it) is "standard output" in words.
    private static func spoken(_ localPath: String) -> String {
        localPath == "-" ? "standard output" : localPath
    }

    /// "1 partition", "2 partitions".
    private static func count(_ number: Int, _ noun: String) -> String {
        "\(number) \(noun)\(number == 1 ? "" : "s")"
    }
}
