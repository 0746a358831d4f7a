/// The temporary files sync makes beside a target while it downloads, and how a leftover one
/// is told from a user's file that merely looks like one.
///
/// Every temporary name carries the pairing's *marker*, random and kept in the state file
/// (`.NAME.MARKER.sluice-download`, the downloader's `..NAME.MARKER.sluice-download.sluice-part`,
/// its journal `….sluice-part.json` and the journal's own temporary `….sluice-part.json.tmp`).
/// Only a name with this pairing's marker is sync's own and may be removed: a file named so
/// by the user, restored from a backup, or left by another sync of an overlapping folder has
/// another marker (or none) and is left alone.
extension SyncNames {
    static let downloadSuffix = ".sluice-download"

    /// The journal's suffix, and that of the temporary file the journal is written through.
    private static let journalSuffix = PartialFileName.suffix + PartialFileName.sidecarSuffix
    private static let journalTemporarySuffix = journalSuffix + AtomicWrite.temporarySuffix

    /// A fresh marker: 12 random hex digits, so that two pairings never share one.
    static func newTemporaryMarker() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<12).map { _ in String(generator.next(upperBound: 16 as UInt8), radix: 16) }.joined()
    }

    /// Whether `name` (one component) is named like a temporary file of a download, whoever
    /// made it: such a name is never synced (it is either sync's own or skipped with a note).
    public static func isTemporary(_ name: String) -> Bool {
        name.hasPrefix(".")
            && [PartialFileName.suffix, journalSuffix, journalTemporarySuffix, downloadSuffix].contains { name.hasSuffix($0) }
    }

    /// The temporary file a download of `path` is written to before it is renamed into place
    /// (a bare name for a bare name): `.NAME.MARKER.sluice-download`. A large download is first
    /// written by the downloader beside that, as `..NAME.MARKER.sluice-download.sluice-part`
    /// with its journal `….sluice-part.json`; a NAME too long for those to fit in a file name is
    /// shortened (``FileNameLimit``), never the marker.
    static func downloadTemporary(for path: String, marker: String) -> String {
        let directory = parent(of: path)
        // Room for the downloader's partial file and journal around this name, unshortened
        // (so that a leftover of theirs still names this temporary).
        let wrapping = PartialFileName.partial(for: "").utf8.count + PartialFileName.sidecarSuffix.utf8.count
        let tail = "." + marker + downloadSuffix
        let room = FileNameLimit.maxBytes - AtomicWrite.temporaryName(for: "").utf8.count - wrapping - 1 - tail.utf8.count
        let name = "." + FileNameLimit.fitting(lastComponent(of: path), within: room) + tail
        return directory.isEmpty ? name : directory + "/" + name
    }

    /// The download temporary (relative, as `leftover` is) that the file `leftover` belongs
    /// to: itself, or the one the downloader's partial file, journal or journal's temporary
    /// was made for; nil when it is not named as one of this pairing's (`marker`; nil when the
    /// pairing has none yet, so made nothing).
    static func downloadTemporary(ofLeftover leftover: String, marker: String?) -> String? {
        guard let marker else { return nil }
        var name = Substring(lastComponent(of: leftover))
        if name.hasSuffix(journalTemporarySuffix) {
            guard name.hasPrefix(".") else { return nil }
            name = name.dropFirst().dropLast(AtomicWrite.temporarySuffix.utf8.count)
        }
        if name.hasSuffix(PartialFileName.sidecarSuffix) { name = name.dropLast(PartialFileName.sidecarSuffix.utf8.count) }
        if name.hasSuffix(PartialFileName.suffix) {
            guard name.hasPrefix(".") else { return nil }
            name = name.dropFirst().dropLast(PartialFileName.suffix.utf8.count)
        }
        let tail = "." + marker + downloadSuffix
        guard name.utf8.count > 1 + tail.utf8.count, name.hasPrefix("."), name.hasSuffix(tail) else { return nil }
        let directory = parent(of: leftover)
        return directory.isEmpty ? String(name) : directory + "/" + name
    }
}
