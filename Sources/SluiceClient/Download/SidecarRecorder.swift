/// Records verified partitions in the sidecar as they complete, one atomic write at a time.
actor SidecarRecorder {
    private var sidecar: DownloadSidecar
    private let path: String

    init(_ sidecar: DownloadSidecar, path: String) {
        self.sidecar = sidecar
        self.path = path
    }

    func save() throws {
        try sidecar.save(to: path)
    }

    func record(_ index: Int) throws {
        sidecar.verified.append(index)
        sidecar.verified.sort()
        try sidecar.save(to: path)
    }
}
