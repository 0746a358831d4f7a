import CCurl

/// One libcurl easy handle with typed option setters: the only place that holds a `CURL *`.
///
/// A handle keeps its connections alive between transfers, so handles are reused through
/// ``CurlHandlePool`` rather than made per request. It is used by one thread at a time (the one
/// running its transfer), which is what `@unchecked Sendable` promises.
// Safe because one thread at a time uses a handle (the pool hands it out exclusively).
final class CurlEasyHandle: @unchecked Sendable {
    let raw: UnsafeMutableRawPointer
    /// libcurl writes its detailed error text here during a transfer.
    private var errorBuffer = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)

    init() throws(CurlError) {
        guard Curl.ensureInitialized(), let handle = curl_easy_init() else {
            throw CurlError(CURLE_FAILED_INIT)
        }
        raw = handle
    }

    deinit { curl_easy_cleanup(raw) }

    /// Clears every option of the previous transfer while keeping its live connections, then
    /// sets the options every transfer shares.
    func reset() throws(CurlError) {
        curl_easy_reset(raw)
        errorBuffer.withUnsafeMutableBufferPointer { buffer in buffer[0] = 0 }
        let code = errorBuffer.withUnsafeMutableBufferPointer { buffer in
            sluice_curl_setopt_pointer(raw, CURLOPT_ERRORBUFFER, buffer.baseAddress)
        }
        try check(code)
        // Signals would interrupt other threads' system calls; timeouts work without them here.
        try set(CURLOPT_NOSIGNAL, 1)
    }

    func set(_ option: CURLoption, _ value: Int) throws(CurlError) {
        try check(sluice_curl_setopt_long(raw, option, value))
    }

    func set(_ option: CURLoption, offset value: Int64) throws(CurlError) {
        try check(sluice_curl_setopt_offset(raw, option, curl_off_t(value)))
    }

    /// libcurl copies string options, so the Swift string need not outlive the call.
    func set(_ option: CURLoption, _ value: String) throws(CurlError) {
        try check(sluice_curl_setopt_string(raw, option, value))
    }

    func set(_ option: CURLoption, pointer value: UnsafeMutableRawPointer?) throws(CurlError) {
        try check(sluice_curl_setopt_pointer(raw, option, value))
    }

    func set(_ option: CURLoption, list: CurlStringList) throws(CurlError) {
        try check(sluice_curl_setopt_slist(raw, option, list.raw))
    }

    func set(_ option: CURLoption, callback: sluice_curl_data_callback) throws(CurlError) {
        try check(sluice_curl_setopt_data_callback(raw, option, callback))
    }

    func set(progress callback: curl_xferinfo_callback) throws(CurlError) {
        try check(sluice_curl_setopt_xferinfo_callback(raw, callback))
    }

    /// Runs the configured transfer to its end on the calling thread.
    func perform() throws(CurlError) {
        let code = curl_easy_perform(raw)
        guard code == CURLE_OK else { throw CurlError(code, detail: detail) }
    }

    /// The HTTP status of the last response received, 0 if none.
    var responseCode: Int {
        var code = 0
        _ = sluice_curl_getinfo_long(raw, CURLINFO_RESPONSE_CODE, &code)
        return code
    }

    private var detail: String {
        errorBuffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    private func check(_ code: CURLcode) throws(CurlError) {
        guard code == CURLE_OK else { throw CurlError(code) }
    }
}

/// A `curl_slist` of header lines, freed when the list is.
final class CurlStringList {
    private(set) var raw: UnsafeMutablePointer<curl_slist>?

    init(_ lines: [String]) {
        for line in lines { raw = curl_slist_append(raw, line) }
    }

    deinit { curl_slist_free_all(raw) }
}
