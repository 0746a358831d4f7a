/// `sluice share` of an object name the caller has no object at. A grant always covers the
/// caller's own objects, so such a share is most often a mistake: the name of someone else's
/// object shared with the caller (which cannot be shared on), or a typo. It would silently
/// grant access to a non-existent object of the caller's. Refused unless `--allow-missing`
/// says a grant for an object to come is meant. A not-found failure.
///
/// When the caller has objects under `PATH/`, the likeliest mistake is a folder named without
/// its trailing slash, and the message says so first: `--allow-missing` would then make an
/// object grant that shares nothing.
public struct NothingToShareError: Error, CustomStringConvertible, Sendable {
    public var path: String
    /// Whether the caller has objects under `path` + "/".
    public var folderExists: Bool

    public init(path: String, folderExists: Bool = false) {
        self.path = path
        self.folderExists = folderExists
    }

    public var description: String {
        if folderExists {
            return "you have no object \(path), but a folder \(path)/: to share the folder, write \(path)/ "
                + "(with the slash)"
        }
        return "you have no object \(path) to share: a grant covers only your own objects (what others share with "
            + "you cannot be shared on); give --allow-missing to share the name for an object you will upload later"
    }
}
