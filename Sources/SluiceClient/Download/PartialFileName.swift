/// The names a download to a file writes beside its target before the rename: the partial
/// file `.<name>.sluice-part` and its sidecar journal `.<name>.sluice-part.json`, with the
/// target's name shortened (``FileNameLimit``) when the sidecar's name, or that of the
/// temporary file the sidecar is written through (``AtomicWrite``), would not fit.
enum PartialFileName {
    static let suffix = ".sluice-part"
    static let sidecarSuffix = ".json"

    /// The partial file's name for a target named `name`; the sidecar's adds `sidecarSuffix`.
    static func partial(for name: String) -> String {
        let room = FileNameLimit.maxBytes - AtomicWrite.temporaryName(for: "." + suffix + sidecarSuffix).utf8.count
        return "." + FileNameLimit.fitting(name, within: room) + suffix
    }
}
