import CCurl

/// libcurl's process-wide set-up, done once before the first handle: `curl_global_init` is not
/// thread-safe, and a `static let` runs its initializer exactly once even under contention.
enum Curl {
    private static let initialized: Bool = curl_global_init(Int(CURL_GLOBAL_DEFAULT)) == CURLE_OK

    /// Makes sure libcurl is initialized; false if it could not be (out of memory at start).
    static func ensureInitialized() -> Bool { initialized }

    /// libcurl's own words for a result code.
    static func describe(_ code: CURLcode) -> String {
        String(cString: curl_easy_strerror(code))
    }
}

/// A libcurl call that failed before or during a transfer.
public struct CurlError: Error, CustomStringConvertible {
    /// libcurl's result code, e.g. 7 (couldn't connect) or 28 (timed out).
    public let code: UInt32
    /// What libcurl said, plus its detail buffer when it filled one.
    public let message: String

    init(_ code: CURLcode, detail: String = "") {
        self.code = code.rawValue
        let text = Curl.describe(code)
        self.message = detail.isEmpty ? text : "\(text): \(detail)"
    }

    public var description: String { "curl error \(code): \(message)" }
}
