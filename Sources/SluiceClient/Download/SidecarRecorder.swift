/// Records verified partitions in the sidecar as they complete: the description is written
/// once (atomically), then each partition appends one line, so a download's bookkeeping is
/// linear in its partitions (re-writing the whole sidecar each time was quadratic: 8,192
/// partitions cost over a minute of CPU).
///
/// Appends are not fsync'ed one by one: a resumed download re-hashes every partition the
/// sidecar lists before trusting it, so a lost line costs only fetching that partition
/// again. They are synced every ``syncEvery`` lines to bound that loss after a crash.
actor SidecarRecorder {
    private let sidecar: DownloadSidecar
    private let path: String
    private var file: LocalFile?
    private var end: Int64 = 0
    private var unsynced = 0
    /// Bytes written to the sidecar by this recorder (for tests of its growth).
    private(set) var bytesWritten = 0

    static let syncEvery = 256

    init(_ sidecar: DownloadSidecar, path: String) {
        self.sidecar = sidecar
        self.path = path
    }

    /// Writes the description and opens the file for appending.
    func save() throws {
        let written = try sidecar.save(to: path)
        bytesWritten += written
        file = try LocalFile.openForUpdate(path)
        end = Int64(written)
    }

    func record(_ index: Int) throws {
        if file == nil { try save() }
        guard let file else { return }
        let line = Array("\(index)\n".utf8)
        try line.withUnsafeBytes { try file.write($0, at: end) }
        end += Int64(line.count)
        bytesWritten += line.count
        unsynced += 1
        if unsynced >= Self.syncEvery {
            try file.sync()
            unsynced = 0
        }
    }
}
