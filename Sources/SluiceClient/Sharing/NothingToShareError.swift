/// `sluice share` of an object name the caller has no object at. A grant always covers the
/// caller's own objects, so such a share is most often a mistake: the name of someone else's
/// object shared with the caller (which cannot be shared on), or a typo. It would silently
/// grant access to a non-existent object of the caller's. Refused unless `--allow-missing`
/// says a grant for an object to come is meant. A not-found failure.
public struct NothingToShareError: Error, CustomStringConvertible, Sendable {
    public var path: String

    public init(path: String) {
        self.path = path
    }

    public var description: String {
        "you have no object \(path) to share: a grant covers only your own objects (what others share with you "
            + "cannot be shared on); give --allow-missing to share the name for an object you will upload later"
    }
}
