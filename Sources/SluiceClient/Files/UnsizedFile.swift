/// A local file whose size stat does not report: a /proc file says 0 bytes, a /sys file 4096,
/// whatever they hold. An upload declares the size and the partition hashes before it sends a
/// byte, so such a file cannot be sent as it is; it must not go up empty either, nor be taken
/// for a file that changed while it was read. `upload` refuses it and `sync` skips it with a
/// note, both saying ``reason`` (sluice-c words it the same).
enum UnsizedFile {
    /// What is wrong with such a file, to follow its path (or "it").
    static let reason = "reports no size (a /proc or /sys file?), so what it holds cannot be declared before it is sent"

    /// Whether `file`, which `status` describes, says it is empty yet has a byte to read (a
    /// /proc file). Asked before anything is read or sent.
    static func claimsEmpty(_ file: LocalFile, _ status: LocalFile.Status) throws -> Bool {
        guard status.size == 0 else { return false }
        return try file.hasBytes(at: 0)
    }

    /// Whether a read of `file` that ended before `status.size` (a ``FileChangedError``) ended
    /// there because the size was never the content's (a /sys file) rather than because the file
    /// changed: stat still says all it said before the read.
    static func explainsShortRead(of file: LocalFile, _ status: LocalFile.Status) throws -> Bool {
        try file.status() == status
    }
}
