import SluiceOpenSSL
import SluiceProto

/// An object version as GetObject described it, checked to be whole: partitions in order,
/// contiguous, of the declared sizes, each with a 32-byte SHA-256, adding up to the object,
/// and (from a server that publishes it) hashing together to the composite SHA-256. A version
/// whose uploader declared a whole-object hash the bytes do not have is refused.
struct ObjectLayout: Sendable {
    let object: Sluice_V1_ObjectInfo
    let plan: PartitionPlan

    init(_ object: Sluice_V1_ObjectInfo) throws {
        func inconsistent(_ problem: String) -> IntegrityError {
            IntegrityError("the server described \(object.name) version \(object.version) inconsistently: \(problem)")
        }
        guard object.sha256.count == 32 || (object.sha256.isEmpty && object.mayLackWholeSHA256) else {
            throw inconsistent("its SHA-256 is not 32 bytes")
        }
        guard object.sha256State != .mismatch else {
            throw IntegrityError(
                "\(object.name) version \(object.version) is not the file its uploader described: its bytes hash to "
                    + "\(Hex.encode(object.sha256)), not the SHA-256 declared at upload; refusing to download it")
        }
        guard object.size >= 0, object.partitionSize > 0 else {
            throw inconsistent("size \(object.size) and partition size \(object.partitionSize) do not fit")
        }
        let plan = PartitionPlan(totalSize: object.size, partitionSize: object.partitionSize)
        guard object.partitions.count == plan.count, Int(object.partitionCount) == plan.count else {
            throw inconsistent("\(object.partitions.count) partitions listed, \(plan.count) expected")
        }
        for (index, partition) in object.partitions.enumerated() {
            guard partition.index == index, partition.offset == plan.offset(of: index),
                  partition.size == plan.size(of: index), partition.sha256.count == 32
            else { throw inconsistent("partition \(index) is out of place") }
        }
        if !object.compositeSha256.isEmpty,
           CompositeDigest.of(object.partitions.lazy.map { [UInt8]($0.sha256) }) != [UInt8](object.compositeSha256)
        {
            throw IntegrityError(
                "the partition hashes of \(object.name) version \(object.version) do not hash to its composite "
                    + "SHA-256 \(Hex.encode(object.compositeSha256)); refusing to download it")
        }
        self.object = object
        self.plan = plan
    }

    /// Whether the partition checks cover the whole object: the server published the
    /// composite the partition hashes were checked against. Only an older server's answer
    /// needs the whole file hashed again.
    var partitionsVouchForWhole: Bool { !object.compositeSha256.isEmpty }

    /// The sidecar describing these bytes, with nothing verified yet.
    func sidecar() -> DownloadSidecar {
        DownloadSidecar(
            objectName: object.name, version: object.version, size: object.size, partitionSize: plan.partitionSize,
            objectSHA256: Hex.encode(object.sha256), partitionSHA256: object.partitions.map { Hex.encode($0.sha256) },
            verified: [])
    }
}

extension Sluice_V1_ObjectInfo {
    /// Whether the version's state allows an empty `sha256`: pending, not computed, or a state
    /// this client does not know (a later server's), so that a new state does not make every
    /// version in it look corrupt. Verified, undeclared and mismatched versions have one, and
    /// so does every version of a server older than the states.
    var mayLackWholeSHA256: Bool {
        switch sha256State {
        case .verified, .undeclared, .mismatch, .unspecified: false
        case .pending, .notComputed, .UNRECOGNIZED: true
        }
    }
}
