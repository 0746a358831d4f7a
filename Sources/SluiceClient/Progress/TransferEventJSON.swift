import Foundation
import SluiceDuration

/// Transfer events as one-line JSON objects, each with an "event" field, for `--json`.
/// Byte-by-byte events (hashing, transferred) are left out; the last object is the summary.
public enum TransferEventJSON {
    /// The JSON line for an event; nil for events `--json` leaves out.
    public static func line(for event: TransferEvent) -> String? {
        guard let object = object(for: event),
              let data = try? JSONSerialization.data(
                  withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        else { return nil }
        return String(decoding: data, as: UTF8.self)
    }

    static func object(for event: TransferEvent) -> [String: Any]? {
        switch event {
        case .started(let start):
            var object: [String: Any] = [
                "event": "started", "direction": start.direction.rawValue, "object": start.objectName,
                "local": start.localPath, "size": start.totalBytes, "partition_size": start.partitionSize,
                "partitions": start.partitionCount, "done_partitions": start.donePartitions,
                "done_bytes": start.doneBytes, "resumed": start.resumed,
            ]
            if let session = start.sessionID { object["session_id"] = session }
            return object
        case .partitionCompleted(let index, let size, let alreadyStored):
            return ["event": "partition_completed", "partition": index, "size": size, "already_stored": alreadyStored]
        case .partitionRestarted(let index, let discarded, let reason):
            return ["event": "partition_restarted", "partition": index, "discarded_bytes": discarded, "reason": reason]
        case .retrying(let notice):
            return [
                "event": "retrying", "operation": notice.operation, "retry": notice.retry,
                "delay_seconds": seconds(notice.delay), "error": notice.error.description,
            ]
        case .committing:
            return ["event": "committing"]
        case .completed(let summary):
            var object: [String: Any] = [
                "event": "completed", "direction": summary.direction.rawValue, "object": summary.objectName,
                "local": summary.localPath, "version": summary.version, "size": summary.size,
                "sha256": summary.sha256, "composite_sha256": summary.compositeSHA256,
                "partitions": summary.partitionCount,
                "partitions_transferred": summary.partitionsTransferred,
                "bytes_transferred": summary.bytesTransferred, "resumed": summary.resumed,
                "elapsed_seconds": seconds(summary.elapsed),
            ]
            if let session = summary.sessionID { object["session_id"] = session }
            return object
        case .hashing, .transferred:
            return nil
        }
    }

    /// A failure, as the last JSON line of a transfer that did not finish.
    public static func failure(_ error: any Error) -> String {
        let kind = FailureKind(error)
        let object: [String: Any] = [
            "event": "failed", "error": kind == .interrupted ? "interrupted" : "\(error)",
            "exit_code": Int(SluiceExitCode(kind).rawValue),
        ]
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    /// Seconds to the millisecond.
    private static func seconds(_ duration: Duration) -> Double {
        (duration.inSeconds * 1000).rounded() / 1000
    }
}
