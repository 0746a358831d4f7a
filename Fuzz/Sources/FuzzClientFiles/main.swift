// Fuzzes what the CLI reads back from disk and from a server's object description: the
// upload journal, the download sidecar, the configuration file, and GetObject's answer
// (ObjectInfo) as the downloader checks it. Bad input is refused, never a trap; whatever
// is accepted survives being written and read again.
//
// Input: the first byte picks the reader; the rest is the file (or message) content.
import FuzzSupport
import Foundation
import SluiceProto
@testable import SluiceClient

func roundTrip<T: Codable & Equatable>(_ type: T.Type, _ data: Data) {
    guard let value = try? JSONDecoder().decode(type, from: data) else { return }
    guard let encoded = try? JSONEncoder().encode(value), let again = try? JSONDecoder().decode(type, from: encoded)
    else { preconditionFailure("\(type) decoded but does not survive a round trip") }
    precondition(again == value, "\(type) changed in a round trip")
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzClientFiles(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    guard count > 0 else { return 0 }
    let content = Data(UnsafeBufferPointer(start: start + 1, count: count - 1))
    switch start[0] % 4 {
    case 0:
        roundTrip(UploadJournalEntry.self, content)
        if let entry = try? JSONDecoder().decode(UploadJournalEntry.self, from: content) {
            // The uploader reuses the journalled partition size for a file of the journalled size.
            _ = try? PartitionPlan.upload(totalSize: entry.size, partitionSize: entry.partitionSize)
            _ = try? PartitionPlan.automatic(totalSize: entry.size)
        }
    case 1:
        roundTrip(DownloadSidecar.self, content)
    case 2:
        let text = String(decoding: content, as: UTF8.self)
        if let config = try? ConfigFile(text: text, path: "/fuzz/sluice.conf") {
            precondition(Set(config.values.keys).isSubset(of: ConfigFile.knownKeys), "kept an unknown key")
            precondition(config.values.values.allSatisfy { !$0.isEmpty }, "kept an empty value")
        }
    default:
        guard let object = try? Sluice_V1_ObjectInfo(serializedBytes: [UInt8](content)),
              let layout = try? ObjectLayout(object)
        else { return 0 }
        let plan = layout.plan
        precondition(plan.count == object.partitions.count, "a layout with the wrong partition count")
        for index in 0..<plan.count {
            precondition(plan.size(of: index) > 0 && plan.offset(of: index) < plan.totalSize, "a partition outside")
        }
        _ = layout.sidecar()
    }
    return 0
}

runFuzzer(fuzzClientFiles)
