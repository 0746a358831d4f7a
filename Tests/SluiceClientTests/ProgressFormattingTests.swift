import Foundation
import SluiceRPC
import Testing

@testable import SluiceClient

/// What people and scripts see of a transfer: sizes, rates, the status line, plain lines, JSON.
@Suite struct ProgressFormattingTests {
    static let start = TransferStart(
        direction: .upload, objectName: "o", localPath: "/f", totalBytes: 100 << 20, partitionSize: 10 << 20,
        partitionCount: 10, donePartitions: 2, doneBytes: 20 << 20, sessionID: "abc", resumed: true)

    @Test(arguments: [
        (Int64(0), "0 B"), (1, "1 B"), (1023, "1023 B"), (1024, "1.0 KiB"), (1536, "1.5 KiB"),
        (8 << 20, "8.0 MiB"), (1_073_741_823, "1.0 GiB"), (5 << 40, "5.0 TiB"), (-1536, "-1.5 KiB"),
        (1_023_948, "999.9 KiB"), (1_023_949, "1.0 MiB"), (2611, "2.5 KiB"), (Int64.max, "8.0 EiB"),
    ])
    func bytes(count: Int64, text: String) {
        #expect(Format.bytes(count) == text)
    }

    @Test func durationsAndPercentages() {
        #expect(Format.duration(seconds: 0) == "0s")
        #expect(Format.duration(seconds: 42.4) == "42s")
        #expect(Format.duration(seconds: 187) == "3m07s")
        #expect(Format.duration(seconds: 3720) == "1h02m")
        #expect(Format.percent(1, of: 3) == "33%")
        #expect(Format.percent(0, of: 0) == "100%")
        #expect(Format.seconds(.milliseconds(400)) == "0.4s")
        #expect(Format.timestamp(Date(timeIntervalSince1970: 1_795_243_145)) == "2026-11-21T06:39:05Z")
    }

    @Test func trackerCountsResumedWorkAndDiscardsFailedAttempts() {
        var progress = TransferProgress()
        progress.apply(.started(Self.start), at: 0)
        #expect(progress.bytesDone == 20 << 20)
        #expect(progress.partitionsDone == 2)
        progress.apply(.transferred(partition: 2, bytes: 5 << 20), at: 1)
        progress.apply(.partitionRestarted(partition: 2, discardedBytes: 5 << 20, reason: "x"), at: 1)
        #expect(progress.bytesDone == 20 << 20)
        progress.apply(.transferred(partition: 2, bytes: 10 << 20), at: 2)
        progress.apply(.partitionCompleted(partition: 2, size: 10 << 20, alreadyStored: false), at: 2)
        #expect(progress.bytesDone == 30 << 20)
        #expect(progress.partitionsDone == 3)
    }

    @Test func partitionsFetchedAgainDoNotCountPastTheTotals() {
        var progress = TransferProgress()
        progress.apply(.started(Self.start), at: 0)
        for partition in 2..<12 {
            progress.apply(.transferred(partition: partition % 10, bytes: 10 << 20), at: 1)
            progress.apply(.partitionCompleted(partition: partition % 10, size: 10 << 20, alreadyStored: false), at: 1)
        }
        #expect(progress.partitionsDone == 10)
        #expect(progress.bytesDone == 100 << 20)
    }

    @Test func rateAndTimeLeft() throws {
        var progress = TransferProgress()
        progress.apply(.started(Self.start), at: 0)
        #expect(progress.rate(at: 0.1) == nil)
        for second in 1...4 {
            progress.apply(.transferred(partition: 3, bytes: 10 << 20), at: Double(second))
        }
        let rate = try #require(progress.rate(at: 4))
        #expect(abs(rate - Double(10 << 20)) < 1)
        #expect(try #require(progress.secondsLeft(at: 4)).rounded() == 4)
        let line = progress.statusLine(at: 4)
        #expect(line == "upload 60.0 MiB / 100.0 MiB 60%  10.0 MiB/s  ETA 4s  partitions 2/10")
    }

    @Test func rateForgetsOldSamples() throws {
        var progress = TransferProgress()
        progress.apply(.started(Self.start), at: 0)
        progress.apply(.transferred(partition: 3, bytes: 100 << 20), at: 1)
        for second in 2...20 {
            progress.apply(.transferred(partition: 3, bytes: 1 << 20), at: Double(second))
        }
        let rate = try #require(progress.rate(at: 20))
        #expect(abs(rate - Double(1 << 20)) < Double(1 << 18))
    }

    @Test func hashingAndCommittingLines() {
        var progress = TransferProgress()
        progress.apply(.hashing(.planning, bytes: 50 << 20, of: 200 << 20), at: 0)
        #expect(progress.statusLine(at: 0) == "hashing 50.0 MiB / 200.0 MiB 25%")
        progress.apply(.started(Self.start), at: 1)
        progress.apply(.committing, at: 2)
        #expect(progress.statusLine(at: 2) == "committing o (100.0 MiB, 10 partitions)")
    }

    @Test func plainLines() {
        var progress = TransferProgress()
        progress.apply(.started(Self.start), at: 0)
        #expect(TransferText.line(for: .started(Self.start), progress: progress)
            == "uploading /f to o: 100.0 MiB in 10 partitions of 10.0 MiB; "
                + "resuming with 2 partitions done (session abc)")
        let completed = TransferEvent.partitionCompleted(partition: 4, size: 10 << 20, alreadyStored: false)
        progress.apply(.transferred(partition: 4, bytes: 10 << 20), at: 1)
        progress.apply(completed, at: 1)
        #expect(TransferText.line(for: completed, progress: progress)
            == "partition 4 done (10.0 MiB); 3/10 partitions, 30.0 MiB of 100.0 MiB")
        #expect(TransferText.line(for: .transferred(partition: 4, bytes: 1), progress: progress) == nil)
        let retry = RetryNotice(operation: "upload of partition 4", retry: 2, delay: .milliseconds(300),
                                error: RPCError(.unavailable, "down"))
        #expect(TransferText.line(for: .retrying(retry), progress: progress)
            == "retry 2 of upload of partition 4 in 0.3s: UNAVAILABLE: down")
    }

    @Test func summaryLine() {
        let summary = TransferSummary(
            direction: .download, objectName: "o", localPath: "/f", version: 2, size: 4 << 20, sha256: "ab",
            compositeSHA256: "cd", partitionCount: 1, partitionsTransferred: 1, bytesTransferred: 4 << 20,
            resumed: false, elapsed: .seconds(2), sessionID: nil)
        #expect(TransferText.summary(summary)
            == "downloaded o version 2 to /f: 4.0 MiB, sha256 ab; 1 of 1 partition moved in 2.0s (2.0 MiB/s)")
        var composite = summary
        composite.sha256 = ""
        #expect(TransferText.summary(composite)
            == "downloaded o version 2 to /f: 4.0 MiB, composite-sha256 cd; 1 of 1 partition moved in 2.0s (2.0 MiB/s)")
        var streamed = summary
        streamed.localPath = "-"
        #expect(TransferText.summary(streamed)
            == "downloaded o version 2 to standard output: 4.0 MiB, sha256 ab; 1 of 1 partition moved in 2.0s (2.0 MiB/s)")
    }

    @Test func jsonEvents() throws {
        let completed = TransferEvent.partitionCompleted(partition: 3, size: 7, alreadyStored: true)
        let line = try #require(TransferEventJSON.line(for: completed))
        #expect(line == #"{"already_stored":true,"event":"partition_completed","partition":3,"size":7}"#)
        #expect(TransferEventJSON.line(for: .transferred(partition: 3, bytes: 1)) == nil)
        #expect(TransferEventJSON.line(for: .hashing(.planning, bytes: 1, of: 2)) == nil)
        let started = try #require(TransferEventJSON.line(for: .started(Self.start)))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(started.utf8)) as? [String: Any])
        #expect(object["event"] as? String == "started")
        #expect(object["session_id"] as? String == "abc")
        #expect(object["done_partitions"] as? Int == 2)
        let failure = TransferEventJSON.failure(CancellationError())
        #expect(failure == #"{"error":"interrupted","event":"failed","exit_code":130}"#)
    }
}
