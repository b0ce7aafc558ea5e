import CarDefinition
import CCurl
import Foundation
import Locking
import Synchronization

/// HTTP over libcurl. Easy handles are pooled and reused, so connections to a host stay open
/// between requests (keep-alive). Each transfer runs on a thread of its own while it lasts
/// (libcurl blocks; the threads are kept for the next transfers), never on Swift's cooperative
/// pool. Cancelling the calling task aborts the transfer.
public final class CurlTransport: HTTPTransport {
    private static let globalInit: Bool = {
        curl_global_init(Int(CURL_GLOBAL_DEFAULT)) == CURLE_OK
    }()

    /// A libcurl easy handle; used by one transfer at a time.
    struct Handle: @unchecked Sendable {
        let pointer: UnsafeMutableRawPointer
    }

    private let idle = Locked<[Handle]>([])
    private let maxIdle: Int
    /// The largest response body accepted.
    public let maxBodyBytes: Int

    public init(maxIdleHandles: Int = 16, maxBodyBytes: Int = 512 << 20) {
        _ = Self.globalInit
        self.maxIdle = maxIdleHandles
        self.maxBodyBytes = maxBodyBytes
    }

    deinit {
        for h in idle.withLock({ $0 }) { curl_easy_cleanup(h.pointer) }
    }

    private func takeHandle() -> UnsafeMutableRawPointer? {
        if let h = idle.withLock({ $0.popLast() }) { return h.pointer }
        return curl_easy_init()
    }

    private func returnHandle(_ pointer: UnsafeMutableRawPointer) {
        let h = Handle(pointer: pointer)
        let kept = idle.withLock { list -> Bool in
            guard list.count < maxIdle else { return false }
            list.append(h)
            return true
        }
        if !kept { curl_easy_cleanup(pointer) }
    }

    public func send(_ request: HTTPRequest) async throws(TransportError) -> HTTPResponse {
        try await send(request, stream: nil)
    }

    public func send(_ request: HTTPRequest, streamingTo stream: BodyStream) async throws(TransportError) -> HTTPResponse {
        defer { stream.finish() }
        return try await send(request, stream: stream)
    }

    /// The most redirects one request follows.
    static let maxRedirects = 10
    /// The headers a redirect to another origin keeps: none that can carry credentials
    /// (Authorization, Cookie, an API key header, a header of the definition).
    static let headersKeptAcrossOrigins: Set<String> = ["accept", "accept-language", "content-type", "user-agent"]

    /// Sends a request, following redirects when it allows them. car follows them itself, not
    /// libcurl: a redirect to another origin (scheme, host, port) drops every header that may
    /// hold a credential, and a loop ends with a clear error.
    func send(_ request: HTTPRequest, stream: BodyStream?) async throws(TransportError) -> HTTPResponse {
        var current = request
        var followed = 0
        while true {
            let response = try await sendOnce(current, stream: stream)
            guard request.followRedirects, [301, 302, 303, 307, 308].contains(response.status), let location = response.header("Location"),
                !location.isEmpty
            else { return response }
            guard followed < Self.maxRedirects else {
                throw TransportError(.other, "more than \(Self.maxRedirects) redirects (a redirect loop?), the last to \(location)")
            }
            followed += 1
            let next = URLs.resolve(location, against: current.url)
            if !URLs.sameOrigin(next, current.url) {
                current.headers = current.headers.filter { Self.headersKeptAcrossOrigins.contains($0.name.lowercased()) }
            }
            if response.status == 303 || ([301, 302].contains(response.status) && current.method == .post) {
                current.method = .get
                current.body = nil
            }
            current.url = next
        }
    }

    func sendOnce(_ request: HTTPRequest, stream: BodyStream?) async throws(TransportError) -> HTTPResponse {
        let transfer = Transfer(maxBodyBytes: maxBodyBytes)
        transfer.stream = stream
        let result: Result<HTTPResponse, TransportError> = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Result<HTTPResponse, TransportError>, Never>) in
                if Task.isCancelled {
                    continuation.resume(returning: .failure(TransportError(.cancelled, "cancelled")))
                    return
                }
                TransferThreads.shared.run { [self] in
                    continuation.resume(returning: perform(request, transfer))
                }
            }
        } onCancel: {
            transfer.cancel()
        }
        return try result.get()
    }

    private func perform(_ request: HTTPRequest, _ transfer: Transfer) -> Result<HTTPResponse, TransportError> {
        guard let handle = takeHandle() else { return .failure(TransportError(.other, "libcurl could not create a handle")) }
        defer { returnHandle(handle) }
        transfer.handle = handle
        curl_easy_reset(handle)
        var headerList: UnsafeMutablePointer<curl_slist>?
        defer { curl_slist_free_all(headerList) }
        // server_name: the URL names the server_name (SNI, verification, Host), the connection
        // goes to the URL's own host and port.
        var url = request.url
        var connectTo: UnsafeMutablePointer<curl_slist>?
        defer { curl_slist_free_all(connectTo) }
        var renamed: ServerNameOverride?
        if let override = request.tls.serverName, let authority = URLs.authority(url), authority.host.lowercased() == override.host.lowercased() {
            url.replaceSubrange(authority.range, with: override.name)
            connectTo = curl_slist_append(nil, "\(override.name):\(authority.port):\(authority.host):\(authority.port)")
            renamed = override
        }
        var errorBuffer = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)

        let code: CURLcode = errorBuffer.withUnsafeMutableBufferPointer { errorPointer in
            car_curl_setopt_pointer(handle, CURLOPT_ERRORBUFFER, errorPointer.baseAddress)
            car_curl_setopt_string(handle, CURLOPT_URL, url)
            if let connectTo { car_curl_setopt_slist(handle, CURLOPT_CONNECT_TO, connectTo) }
            car_curl_setopt_long(handle, CURLOPT_NOSIGNAL, 1)
            car_curl_setopt_string(handle, CURLOPT_PROTOCOLS_STR, "http,https")
            car_curl_setopt_string(handle, CURLOPT_ACCEPT_ENCODING, "")
            // Redirects are followed by `send`, one transfer each.
            car_curl_setopt_long(handle, CURLOPT_FOLLOWLOCATION, 0)
            // A Content-Length over the limit is refused before any byte of the body is read.
            car_curl_setopt_off(handle, CURLOPT_MAXFILESIZE_LARGE, curl_off_t(maxBodyBytes))
            car_curl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, Int(request.connectTimeoutMs))
            car_curl_setopt_long(handle, CURLOPT_TIMEOUT_MS, Int(request.timeoutMs))
            car_curl_setopt_long(handle, CURLOPT_TCP_KEEPALIVE, 1)
            // Receive in pieces of up to 64 KB (libcurl's default is 16 KB): fewer hand-overs
            // to the reader, each a wake-up of another thread.
            car_curl_setopt_long(handle, CURLOPT_BUFFERSIZE, 64 << 10)
            let tls = request.tls
            car_curl_setopt_long(handle, CURLOPT_SSL_VERIFYPEER, tls.insecureSkipVerify ? 0 : 1)
            car_curl_setopt_long(handle, CURLOPT_SSL_VERIFYHOST, tls.insecureSkipVerify ? 0 : 2)
            if let pem = tls.caPEM {
                var bytes = Array(pem.utf8)
                bytes.withUnsafeMutableBytes { raw in _ = car_curl_setopt_blob(handle, CURLOPT_CAINFO_BLOB, raw.baseAddress, raw.count) }
            } else if let ca = tls.caBundle {
                car_curl_setopt_string(handle, CURLOPT_CAINFO, ca)
            }
            if let cert = tls.clientCert { car_curl_setopt_string(handle, CURLOPT_SSLCERT, cert) }
            if let key = tls.clientKey { car_curl_setopt_string(handle, CURLOPT_SSLKEY, key) }

            switch request.method {
            case .get: car_curl_setopt_long(handle, CURLOPT_HTTPGET, 1)
            case .head: car_curl_setopt_long(handle, CURLOPT_NOBODY, 1)
            default: car_curl_setopt_string(handle, CURLOPT_CUSTOMREQUEST, request.method.rawValue)
            }
            if let body = request.body {
                car_curl_setopt_off(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count))
                body.withUnsafeBytes { raw in
                    // COPYPOSTFIELDS copies the bytes, so the buffer need not outlive this call.
                    _ = car_curl_setopt_pointer(handle, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: raw.baseAddress ?? UnsafeRawPointer(bitPattern: 1)))
                }
            }
            for (name, value) in request.headers { headerList = curl_slist_append(headerList, "\(name): \(value)") }
            // No "Expect: 100-continue" round trip for larger bodies.
            headerList = curl_slist_append(headerList, "Expect:")
            car_curl_setopt_slist(handle, CURLOPT_HTTPHEADER, headerList)

            let context = Unmanaged.passUnretained(transfer).toOpaque()
            car_curl_setopt_data_callback(handle, CURLOPT_WRITEFUNCTION, curlWrite)
            car_curl_setopt_pointer(handle, CURLOPT_WRITEDATA, context)
            car_curl_setopt_data_callback(handle, CURLOPT_HEADERFUNCTION, curlHeader)
            car_curl_setopt_pointer(handle, CURLOPT_HEADERDATA, context)
            car_curl_setopt_long(handle, CURLOPT_NOPROGRESS, 0)
            car_curl_setopt_progress_callback(handle, curlProgress)
            car_curl_setopt_pointer(handle, CURLOPT_XFERINFODATA, context)
            return curl_easy_perform(handle)
        }
        if code != CURLE_OK {
            let detail = String(decoding: errorBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            let message = detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail
            if transfer.isCancelled { return .failure(TransportError(.cancelled, "cancelled")) }
            if transfer.tooLarge || code == CURLE_FILESIZE_EXCEEDED {
                let declared = transfer.headers.last { $0.name.lowercased() == "content-length" }.map { " (Content-Length: \($0.value) bytes)" } ?? ""
                return .failure(TransportError(.other, "the response is larger than the \(Self.megabytes(maxBodyBytes)) limit\(declared); refused"))
            }
            return .failure(TransportError(Self.kind(of: code), message))
        }
        var status = 0
        car_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        var effective: UnsafeMutablePointer<CChar>?
        car_curl_getinfo_string(handle, CURLINFO_EFFECTIVE_URL, &effective)
        var effectiveURL = effective.map { String(cString: $0) } ?? request.url
        if let renamed, let authority = URLs.authority(effectiveURL), authority.host.lowercased() == renamed.name.lowercased() {
            // Next links resolve against the URL the definition knows.
            effectiveURL.replaceSubrange(authority.range, with: renamed.host)
        }
        return .success(HTTPResponse(status: status, headers: transfer.headers, body: transfer.body, url: effectiveURL))
    }

    static func megabytes(_ bytes: Int) -> String { bytes % (1 << 20) == 0 ? "\(bytes >> 20) MB" : "\(bytes) bytes" }

    static func kind(of code: CURLcode) -> TransportError.Kind {
        switch code {
        case CURLE_COULDNT_CONNECT: return .refused
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY: return .dns
        case CURLE_OPERATION_TIMEDOUT: return .timeout
        case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CIPHER,
            CURLE_SSL_CACERT_BADFILE, CURLE_SSL_ISSUER_ERROR, CURLE_SSL_PINNEDPUBKEYNOTMATCH, CURLE_SSL_INVALIDCERTSTATUS,
            CURLE_SSL_CRL_BADFILE, CURLE_SSL_ENGINE_NOTFOUND, CURLE_SSL_ENGINE_SETFAILED, CURLE_SSL_SHUTDOWN_FAILED:
            return .tls
        case CURLE_GOT_NOTHING, CURLE_RECV_ERROR, CURLE_SEND_ERROR, CURLE_PARTIAL_FILE: return .connection
        case CURLE_ABORTED_BY_CALLBACK: return .cancelled
        default: return .other
        }
    }
}

/// The state of one transfer, shared with libcurl's callbacks.
final class Transfer: @unchecked Sendable {
    // body and headers are written by the transfer's thread only, and read after it finished.
    var body: [UInt8] = []
    var headers: [(name: String, value: String)] = []
    var tooLarge = false
    /// Bytes handed to the stream so far.
    var streamed = 0
    let maxBodyBytes: Int
    /// Where a successful body goes as it arrives, if anywhere.
    var stream: BodyStream?
    var handle: UnsafeMutableRawPointer?
    private let cancelled = Atomic<Bool>(false)

    init(maxBodyBytes: Int) { self.maxBodyBytes = maxBodyBytes }

    func cancel() { cancelled.store(true, ordering: .relaxed) }
    var isCancelled: Bool { cancelled.load(ordering: .relaxed) }
}

private func curlWrite(_ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ userdata: UnsafeMutableRawPointer?) -> Int {
    guard let data, let userdata else { return 0 }
    let transfer = Unmanaged<Transfer>.fromOpaque(userdata).takeUnretainedValue()
    let n = size * count
    if let stream = transfer.stream, let handle = transfer.handle {
        var status = 0
        car_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        if (200..<300).contains(status) {
            transfer.streamed += n
            if transfer.streamed > transfer.maxBodyBytes {
                transfer.tooLarge = true
                return 0
            }
            let bytes = data.withMemoryRebound(to: UInt8.self, capacity: n) { Array(UnsafeBufferPointer(start: $0, count: n)) }
            return stream.push(bytes) ? n : 0
        }
    }
    if transfer.body.count + n > transfer.maxBodyBytes {
        transfer.tooLarge = true
        return 0
    }
    data.withMemoryRebound(to: UInt8.self, capacity: n) { transfer.body.append(contentsOf: UnsafeBufferPointer(start: $0, count: n)) }
    return n
}

private func curlHeader(_ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ userdata: UnsafeMutableRawPointer?) -> Int {
    guard let data, let userdata else { return 0 }
    let transfer = Unmanaged<Transfer>.fromOpaque(userdata).takeUnretainedValue()
    let n = size * count
    let line = data.withMemoryRebound(to: UInt8.self, capacity: n) { String(decoding: UnsafeBufferPointer(start: $0, count: n), as: UTF8.self) }
    if line.hasPrefix("HTTP/") {
        // A new response (after a redirect or 100 Continue): start over.
        transfer.headers = []
    } else if let colon = line.firstIndex(of: ":") {
        let name = String(line[..<colon])
        let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines)
        transfer.headers.append((name, value))
        // Room for the whole body at once: no doubling past a large response's size.
        if name.lowercased() == "content-length", let length = Int(value), length > 0, length <= transfer.maxBodyBytes {
            transfer.body.reserveCapacity(length)
        }
    }
    return n
}

private func curlProgress(_ userdata: UnsafeMutableRawPointer?, _ dltotal: curl_off_t, _ dlnow: curl_off_t, _ ultotal: curl_off_t,
                          _ ulnow: curl_off_t) -> Int32
{
    guard let userdata else { return 0 }
    return Unmanaged<Transfer>.fromOpaque(userdata).takeUnretainedValue().isCancelled ? 1 : 0
}
