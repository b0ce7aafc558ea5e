import Foundation
import Locking

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A request as the server received it.
public struct HTTPServerRequest: Sendable {
    public var method: String
    /// The request target as sent: path and query.
    public var target: String
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    /// The number of the connection it came on (1, 2, ... in accept order).
    public var connection: Int

    /// The path without the query.
    public var path: String {
        if let q = target.firstIndex(of: "?") { return String(target[..<q]) }
        return target
    }

    /// The decoded query parameters, in order.
    public var query: [(name: String, value: String)] {
        guard let q = target.firstIndex(of: "?") else { return [] }
        return target[target.index(after: q)...].split(separator: "&", omittingEmptySubsequences: true).map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = PercentDecoding.decode(String(parts[0]))
            let value = parts.count > 1 ? PercentDecoding.decode(String(parts[1])) : ""
            return (name, value)
        }
    }

    /// The first query parameter with this name.
    public func queryValue(_ name: String) -> String? { query.first { $0.name == name }?.value }

    /// The first header with this name (case-insensitive).
    public func header(_ name: String) -> String? {
        let lower = name.lowercased()
        return headers.first { $0.name.lowercased() == lower }?.value
    }

    /// The body as text.
    public var text: String { String(decoding: body, as: UTF8.self) }
}

/// A response, and how to deliver it.
public struct HTTPServerResponse: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    /// Wait this long before answering.
    public var delayMs: Int = 0
    /// Close the connection after this many bytes of the response (0: before any byte).
    public var dropAfterBytes: Int?
    /// Raw steps to perform instead of writing the response: a datasource that misbehaves on
    /// the wire (see `RawStep`, `Misbehaviour`). Status, headers and body are then ignored.
    public var raw: [RawStep]?

    public init(status: Int = 200, headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A JSON response.
    public static func json(_ text: String, status: Int = 200, headers: [(name: String, value: String)] = []) -> HTTPServerResponse {
        HTTPServerResponse(status: status, headers: [("Content-Type", "application/json")] + headers, body: Array(text.utf8))
    }

    /// A plain-text response.
    public static func text(_ text: String, status: Int = 200) -> HTTPServerResponse {
        HTTPServerResponse(status: status, headers: [("Content-Type", "text/plain")], body: Array(text.utf8))
    }
}

/// The reason phrases of common statuses.
enum Reason {
    static func phrase(_ status: Int) -> String {
        switch status {
        case 200: return "OK"
        case 201: return "Created"
        case 204: return "No Content"
        case 301: return "Moved Permanently"
        case 302: return "Found"
        case 400: return "Bad Request"
        case 401: return "Unauthorized"
        case 403: return "Forbidden"
        case 404: return "Not Found"
        case 422: return "Unprocessable Entity"
        case 429: return "Too Many Requests"
        case 500: return "Internal Server Error"
        case 502: return "Bad Gateway"
        case 503: return "Service Unavailable"
        case 504: return "Gateway Timeout"
        default: return "Status"
        }
    }
}

/// A small HTTP/1.1 server on 127.0.0.1 for tests, demos and simulators: one thread per
/// connection, keep-alive, Content-Length bodies. It listens on loopback only.
public final class HTTPServer: Sendable {
    public typealias Handler = @Sendable (HTTPServerRequest) -> HTTPServerResponse

    struct State {
        var listening: Int32 = -1
        var connections: [Int32] = []
        var accepted = 0
        var requests = 0
        var inFlight = 0
        var maxInFlight = 0
        var stopped = false
    }

    private let state = Locked(State())
    private let handler: Handler
    /// The port it listens on.
    public let port: UInt16

    /// Starts a server on 127.0.0.1 (port 0: any free port).
    public init(port: UInt16 = 0, handler: @escaping Handler) throws {
        self.handler = handler
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ServerError("socket: \(String(cString: strerror(errno)))") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        guard Loopback.bindLocal(fd, port: port), listen(fd, 128) == 0 else {
            let message = String(cString: strerror(errno))
            close(fd)
            throw ServerError("bind 127.0.0.1:\(port): \(message)")
        }
        self.port = Loopback.localPort(fd)
        state.withLock { $0.listening = fd }
        let thread = Thread { [self] in acceptLoop(fd) }
        thread.name = "http-accept-\(self.port)"
        thread.start()
    }

    deinit { stop() }

    /// The base URL, `http://127.0.0.1:<port>`.
    public var baseURL: String { "http://127.0.0.1:\(port)" }

    /// Connections accepted so far.
    public var connectionsAccepted: Int { state.withLock { $0.accepted } }
    /// Requests answered so far.
    public var requestsServed: Int { state.withLock { $0.requests } }
    /// The most requests that were being handled at once.
    public var maxConcurrentRequests: Int { state.withLock { $0.maxInFlight } }

    /// Stops listening and closes every connection.
    public func stop() {
        // Under the lock: a connection's thread closes its descriptor under the same lock, so a
        // number shut down here is still this server's (not one another server reused).
        let fd = state.withLock { s -> Int32 in
            if s.stopped { return -1 }
            s.stopped = true
            let listening = s.listening
            s.listening = -1
            for c in s.connections { shutdown(c, Int32(SHUT_RDWR)) }
            return listening
        }
        if fd >= 0 {
            shutdown(fd, Int32(SHUT_RDWR))
            close(fd)
        }
    }

    private func acceptLoop(_ fd: Int32) {
        while true {
            let client = accept(fd, nil, nil)
            if client < 0 {
                if errno == EINTR { continue }
                return
            }
            var one: Int32 = 1
            setsockopt(client, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            let (number, stopped) = state.withLock { s -> (Int, Bool) in
                if s.stopped { return (0, true) }
                s.accepted += 1
                s.connections.append(client)
                return (s.accepted, false)
            }
            if stopped {
                close(client)
                return
            }
            let thread = Thread { [self] in serve(client, number: number) }
            thread.start()
        }
    }

    private func serve(_ fd: Int32, number: Int) {
        defer {
            state.withLock { s in
                s.connections.removeAll { $0 == fd }
                close(fd)
            }
        }
        var reader = SocketReader(fd: fd)
        while let request = reader.readRequest(connection: number) {
            state.withLock { s in
                s.inFlight += 1
                s.maxInFlight = max(s.maxInFlight, s.inFlight)
            }
            let response = handler(request)
            if response.delayMs > 0 { usleep(UInt32(min(response.delayMs, 60_000)) * 1000) }
            state.withLock { s in
                s.inFlight -= 1
                s.requests += 1
            }
            if let steps = response.raw {
                if !perform(steps, on: fd) { return }
                continue
            }
            var out = Array("HTTP/1.1 \(response.status) \(Reason.phrase(response.status))\r\n".utf8)
            var headers = response.headers
            if !headers.contains(where: { $0.name.lowercased() == "content-length" }) {
                headers.append(("Content-Length", String(response.body.count)))
            }
            let close = request.header("Connection")?.lowercased() == "close"
            if close { headers.append(("Connection", "close")) }
            for (n, v) in headers { out += Array("\(n): \(v)\r\n".utf8) }
            out += [13, 10]
            if request.method != "HEAD" { out += response.body }
            if let drop = response.dropAfterBytes {
                _ = writeAll(fd, Array(out.prefix(drop)))
                return
            }
            if !writeAll(fd, out) || close { return }
        }
    }

    /// Performs raw steps; false when the connection is finished (closed, reset or gone).
    private func perform(_ steps: [RawStep], on fd: Int32) -> Bool {
        for step in steps {
            switch step {
            case .send(let bytes):
                if !writeAll(fd, bytes) { return false }
            case .pause(let ms):
                if isStopped { return false }
                usleep(UInt32(min(max(ms, 0), 60_000)) * 1000)
            case .close:
                shutdown(fd, Int32(SHUT_WR))
                return false
            case .reset:
                // SO_LINGER with a zero timeout: close sends RST, not FIN.
                var hold = linger(l_onoff: 1, l_linger: 0)
                setsockopt(fd, SOL_SOCKET, SO_LINGER, &hold, socklen_t(MemoryLayout<linger>.size))
                return false
            }
        }
        return true
    }

    private var isStopped: Bool { state.withLock { $0.stopped } }

    private func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress.map { $0 + offset }, bytes.count - offset, Int32(MSG_NOSIGNAL)) }
            if n <= 0 {
                if n < 0 && errno == EINTR { continue }
                return false
            }
            offset += n
        }
        return true
    }
}

/// A server that could not start.
public struct ServerError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ d: String) { description = d }
}

struct SocketReader {
    let fd: Int32
    var buffer: [UInt8] = []

    mutating func fill() -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n <= 0 { return false }
        buffer += chunk[0..<n]
        return true
    }

    mutating func readRequest(connection: Int) -> HTTPServerRequest? {
        var headerEnd: Int?
        while headerEnd == nil {
            if buffer.count >= 4 {
                for i in 0...(buffer.count - 4) where buffer[i] == 13 && buffer[i + 1] == 10 && buffer[i + 2] == 13 && buffer[i + 3] == 10 {
                    headerEnd = i
                    break
                }
            }
            if headerEnd == nil {
                if buffer.count > 1 << 20 || !fill() { return nil }
            }
        }
        guard let end = headerEnd else { return nil }
        let head = String(decoding: buffer[0..<end], as: UTF8.self)
        buffer.removeFirst(end + 4)
        var lines = head.split(separator: "\r\n", omittingEmptySubsequences: false).map(String.init)
        guard !lines.isEmpty else { return nil }
        let requestLine = lines.removeFirst().split(separator: " ")
        guard requestLine.count >= 2 else { return nil }
        var headers: [(name: String, value: String)] = []
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = String(line[..<colon])
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            headers.append((name, value))
        }
        let length = headers.first { $0.name.lowercased() == "content-length" }.flatMap { Int($0.value) } ?? 0
        while buffer.count < length {
            if !fill() { return nil }
        }
        let body = Array(buffer[0..<length])
        buffer.removeFirst(length)
        return HTTPServerRequest(
            method: String(requestLine[0]), target: String(requestLine[1]), headers: headers, body: body, connection: connection)
    }
}


/// A loopback port that refuses connections: bound, never listening, held until released, so
/// that no other server can take it meanwhile.
public final class RefusingPort: Sendable {
    private let fd: Int32
    public let port: UInt16

    public init() throws {
        let sock = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard sock >= 0 else { throw ServerError("socket: \(String(cString: strerror(errno)))") }
        guard Loopback.bindLocal(sock, port: 0) else {
            close(sock)
            throw ServerError("bind: \(String(cString: strerror(errno)))")
        }
        fd = sock
        port = Loopback.localPort(sock)
    }

    deinit { close(fd) }

    public var baseURL: String { "http://127.0.0.1:\(port)" }
}

/// Socket calls on 127.0.0.1 that the server, the refusing port and callers waiting for a
/// server share.
public enum Loopback {
    static func address(_ port: UInt16) -> sockaddr_in {
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        return addr
    }

    /// Binds `fd` to 127.0.0.1:`port` (0: any free port).
    static func bindLocal(_ fd: Int32, port: UInt16) -> Bool {
        var addr = address(port)
        return withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }

    /// The port `fd` is bound to.
    static func localPort(_ fd: Int32) -> UInt16 {
        var actual = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return UInt16(bigEndian: actual.sin_port)
    }

    /// Whether something accepts connections on 127.0.0.1:`port`.
    public static func accepts(port: UInt16) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var addr = address(port)
        return withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }
}
