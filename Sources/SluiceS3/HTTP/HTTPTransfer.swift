#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import CCurl
import Foundation
import Synchronization

/// Runs one HTTP request to its end on the calling thread through a libcurl easy handle.
///
/// The state libcurl's C callbacks need lives here and reaches them as their user-data pointer,
/// retained for exactly the duration of `perform()`. Response bytes of a successful response go
/// to `sink` as they arrive (a `false` answer stops the transfer); any other response's body is
/// kept for its error document.
final class HTTPTransfer {
    /// Bodies of successful answers kept in memory (listings) stop growing here.
    static let keptBodyLimit = 16 << 20
    /// An error document is a few hundred bytes; what an endpoint sends past this is read and
    /// dropped, so that a misbehaving one cannot make every failed request hold megabytes
    /// (48 reads answered with 15 MiB error bodies once took sluiced to 2.5 GiB).
    static let keptErrorBodyLimit = 64 << 10

    private let handle: CurlEasyHandle
    private let request: HTTPRequest
    private let settings: HTTPClient.Settings
    private let cancelled: TransferCancellation
    private let sink: ((UnsafeRawBufferPointer) -> Bool)?

    private var headers: [String: String] = [:]
    private var keptBody: [UInt8] = []
    private var bodyDescriptor: Int32 = -1
    private var bodyOffset: Int64 = 0
    private var failure: HTTPTransferError?
    private var lastProgress = ContinuousClock.now
    private var lastProgressTotal: Int64 = 0

    init(
        handle: CurlEasyHandle, request: HTTPRequest, settings: HTTPClient.Settings,
        cancelled: TransferCancellation, sink: ((UnsafeRawBufferPointer) -> Bool)?
    ) {
        self.handle = handle
        self.request = request
        self.settings = settings
        self.cancelled = cancelled
        self.sink = sink
    }

    func perform() throws(HTTPTransferError) -> HTTPResponse {
        if let body = request.body {
            bodyDescriptor = open(body.path, O_RDONLY | O_CLOEXEC)
            guard bodyDescriptor >= 0 else { throw .bodyUnreadable(path: body.path, errno: errno) }
        }
        defer { if bodyDescriptor >= 0 { close(bodyDescriptor) } }
        let headerLines = CurlStringList(
            request.headers.map { "\($0.name): \($0.value)" }
                // libcurl would otherwise wait for "100 Continue" before each body, a round trip per upload.
                + ["Expect:"])
        let context = Unmanaged.passRetained(self)
        defer { context.release() }
        do {
            try configure(headerLines: headerLines, context: context.toOpaque())
            try handle.perform()
        } catch {
            throw failure ?? .transport(error)
        }
        if let failure { throw failure }
        return HTTPResponse(status: handle.responseCode, headers: headers, body: keptBody)
    }

    private func configure(headerLines: CurlStringList, context: UnsafeMutableRawPointer) throws(CurlError) {
        try handle.reset()
        try handle.set(CURLOPT_URL, request.url)
        try handle.set(CURLOPT_HTTPHEADER, list: headerLines)
        try handle.set(CURLOPT_CONNECTTIMEOUT_MS, Int(settings.connectTimeout / .milliseconds(1)))
        try handle.set(CURLOPT_BUFFERSIZE, 256 << 10)
        if let caFile = settings.caFile { try handle.set(CURLOPT_CAINFO, caFile) }
        switch request.method {
        case "GET": break
        case "HEAD": try handle.set(CURLOPT_NOBODY, 1)
        case "PUT" where request.body != nil: try handle.set(CURLOPT_UPLOAD, 1)
        default: try handle.set(CURLOPT_CUSTOMREQUEST, request.method)
        }
        if let body = request.body {
            try handle.set(CURLOPT_INFILESIZE_LARGE, offset: body.length)
            try handle.set(CURLOPT_UPLOAD_BUFFERSIZE, 512 << 10)
            try handle.set(CURLOPT_READFUNCTION, callback: { buffer, size, count, context in
                Unmanaged<HTTPTransfer>.fromOpaque(context!).takeUnretainedValue().fill(buffer!, capacity: size * count)
            })
            try handle.set(CURLOPT_READDATA, pointer: context)
        }
        try handle.set(CURLOPT_HEADERFUNCTION, callback: { buffer, size, count, context in
            Unmanaged<HTTPTransfer>.fromOpaque(context!).takeUnretainedValue()
                .receiveHeader(UnsafeRawBufferPointer(start: buffer, count: size * count))
        })
        try handle.set(CURLOPT_HEADERDATA, pointer: context)
        try handle.set(CURLOPT_WRITEFUNCTION, callback: { buffer, size, count, context in
            Unmanaged<HTTPTransfer>.fromOpaque(context!).takeUnretainedValue()
                .receiveBody(UnsafeRawBufferPointer(start: buffer, count: size * count))
        })
        try handle.set(CURLOPT_WRITEDATA, pointer: context)
        try handle.set(CURLOPT_NOPROGRESS, 0)
        try handle.set(progress: { context, _, downloaded, _, uploaded in
            Unmanaged<HTTPTransfer>.fromOpaque(context!).takeUnretainedValue().shouldAbort(moved: Int64(downloaded) + Int64(uploaded)) ? 1 : 0
        })
        try handle.set(CURLOPT_XFERINFODATA, pointer: context)
    }

    /// The read callback: the next bytes of the body file.
    private func fill(_ buffer: UnsafeMutablePointer<CChar>, capacity: Int) -> Int {
        guard let body = request.body else { return 0 }
        let wanted = Int(min(Int64(capacity), body.length - bodyOffset))
        guard wanted > 0 else { return 0 }
        let count = pread(bodyDescriptor, buffer, wanted, off_t(bodyOffset))
        guard count > 0 else {
            failure = .bodyUnreadable(path: body.path, errno: count < 0 ? errno : EIO)
            return Int(CURL_READFUNC_ABORT)
        }
        bodyOffset += Int64(count)
        return count
    }

    /// The header callback: one raw header line per call, including each response's status
    /// line, which starts the headers afresh (an interim response's headers are not the final's).
    private func receiveHeader(_ line: UnsafeRawBufferPointer) -> Int {
        let text = String(decoding: line, as: UTF8.self)
        if text.hasPrefix("HTTP/") {
            headers = [:]
        } else if let colon = text.firstIndex(of: ":") {
            let name = text[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
            headers[name] = text[text.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return line.count
    }

    /// The write callback: bytes of the response body. Returning fewer than given aborts.
    private func receiveBody(_ bytes: UnsafeRawBufferPointer) -> Int {
        if let sink, (200..<300).contains(handle.responseCode) {
            guard sink(bytes) else {
                failure = .cancelled
                return 0
            }
            // Time spent waiting for a slow consumer is not a stall of the connection.
            lastProgress = .now
        } else {
            let limit = (200..<300).contains(handle.responseCode) ? Self.keptBodyLimit : Self.keptErrorBodyLimit
            if keptBody.count < limit { keptBody.append(contentsOf: bytes.prefix(limit - keptBody.count)) }
        }
        return bytes.count
    }

    /// The progress callback, which libcurl calls at least once a second even when nothing
    /// moves: gives up on a stalled connection or a cancelled caller.
    private func shouldAbort(moved total: Int64) -> Bool {
        if cancelled.isCancelled {
            failure = .cancelled
            return true
        }
        let now = ContinuousClock.now
        if total != lastProgressTotal {
            lastProgressTotal = total
            lastProgress = now
            return false
        }
        if now - lastProgress > settings.stallTimeout {
            failure = .stalled(settings.stallTimeout)
            return true
        }
        return false
    }
}
