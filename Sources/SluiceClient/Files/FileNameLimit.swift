import SluiceOpenSSL

/// The file system's limit on one name (NAME_MAX: 255 bytes on Linux), for the names sluice
/// derives from a user's file name (temporary files of a download, conflict copies). Those add
/// to the name, so a legal long name would give an illegal derived one, and a file that one
/// device made could never be downloaded by another. A derived part that would not fit is
/// shortened: as much of its start as fits (cut between characters), then `~` and 16 hex
/// digits of the SHA-256 of the whole part, so that two long names never share a shortened
/// form and the same name always gets the same one (a cut-short download resumes).
public enum FileNameLimit {
    /// The most bytes one file name may have.
    public static let maxBytes = 255

    /// `part` unchanged when it has at most `limit` bytes, else its shortened form of at most
    /// `limit` bytes (`limit` must leave room for the 17 bytes of the hash).
    public static func fitting(_ part: String, within limit: Int) -> String {
        guard part.utf8.count > limit else { return part }
        let hash = "~" + Hex.encode(SHA256.hash(Array(part.utf8))).prefix(16)
        var room = limit - hash.utf8.count
        var kept = String.UnicodeScalarView()
        for scalar in part.unicodeScalars {
            room -= String(scalar).utf8.count
            guard room >= 0 else { break }
            kept.append(scalar)
        }
        return String(kept) + hash
    }
}
