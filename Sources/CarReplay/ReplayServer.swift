import CarDefinition
import LoopbackHTTP
import MappingDSL
import Locking

/// Serves a step's recorded exchanges on 127.0.0.1. A request no exchange holds gets a 404 (not
/// retried, so the run ends at once) and is remembered, so that the test fails naming it.
public final class ReplayServer: Sendable {
    struct State: Sendable {
        var exchanges: [RecordedExchange] = []
        var used: [Int] = []
        var misses: [String] = []
    }

    private let state = Locked(State())
    private let server = Locked<HTTPServer?>(nil)

    public init() throws {
        let http = try HTTPServer { [weak self] request in
            self?.answer(request) ?? HTTPServerResponse(status: 503)
        }
        server.withLock { $0 = http }
    }

    public var baseURL: String { server.withLock { $0?.baseURL ?? "" } }

    public var port: UInt16 { server.withLock { $0?.port ?? 0 } }

    /// Text of a case with the server's address in place of `{{datasource}}` (its base URL),
    /// `{{datasource_host}}` and `{{datasource_port}}`.
    public func substitute(_ text: String) -> String {
        guard text.contains("{{") else { return text }
        return text.replacing("{{datasource}}", with: baseURL).replacing("{{datasource_host}}", with: "127.0.0.1")
            .replacing("{{datasource_port}}", with: String(port))
    }

    public func stop() { server.withLock { $0?.stop() } }

    /// Serves these exchanges from now on (the previous step's are forgotten).
    public func load(_ exchanges: [RecordedExchange]) {
        state.withLock {
            $0 = State(exchanges: exchanges, used: Array(repeating: 0, count: exchanges.count), misses: [])
        }
    }

    /// Requests that no exchange held, and exchanges never used.
    public func problems() -> [String] {
        state.withLock { s in
            var out = s.misses.map { "a request the recordings do not hold: \($0)" }
            for (i, e) in s.exchanges.enumerated() where s.used[i] == 0 && e.uses != .any {
                out.append("an exchange was never requested (line \(e.location.line)): \(e.summary)")
            }
            return out
        }
    }

    func answer(_ request: HTTPServerRequest) -> HTTPServerResponse {
        let wanted = ReplayRequest(request)
        let substitute = self.substitute
        return state.withLock { s in
            var candidate: Int?
            for (i, e) in s.exchanges.enumerated() where wanted.matches(e, substitute: substitute) {
                if case .exactly(let n) = e.uses, s.used[i] >= n { continue }
                candidate = i
                break
            }
            guard let i = candidate else {
                s.misses.append(wanted.summary)
                return HTTPServerResponse.json(#"{"car_test":"no recorded exchange answers this request"}"#, status: 404)
            }
            s.used[i] += 1
            let e = s.exchanges[i]
            let headers = e.responseHeaders.map { (name: $0.name, value: substitute($0.value)) }
            return HTTPServerResponse(status: e.status, headers: headers, body: Array(substitute(e.responseBody).utf8))
        }
    }
}

/// A request as the replay server compares it with recordings.
struct ReplayRequest {
    var method: String
    var path: String
    var query: [String: [String]]
    var headers: [(name: String, value: String)]
    var body: [UInt8]

    init(_ request: HTTPServerRequest) {
        method = request.method.uppercased()
        path = Self.percentDecode(request.path, plusIsSpace: false)
        var q: [String: [String]] = [:]
        for (name, value) in request.query { q[name, default: []].append(value) }
        query = q
        headers = request.headers
        body = request.body
    }

    var summary: String {
        let q = query.isEmpty ? "" : "?" + query.keys.sorted().flatMap { k in (query[k] ?? []).map { "\(k)=\($0)" } }.joined(separator: "&")
        var text = "\(method) \(path)\(q)"
        if !body.isEmpty { text += " with body " + String(decoding: body.prefix(300), as: UTF8.self) }
        return text
    }

    func matches(_ e: RecordedExchange, substitute: (String) -> String) -> Bool {
        guard e.method == method, e.path == path, e.query.count == query.count else { return false }
        for (k, v) in e.query where query[k] != v.map(substitute) { return false }
        for h in e.headers {
            let lower = h.name.lowercased()
            let value = substitute(h.value)
            guard headers.contains(where: { $0.name.lowercased() == lower && $0.value == value }) else { return false }
        }
        switch e.body {
        case nil: return true
        case .text(let t): return String(decoding: body, as: UTF8.self) == t
        case .json(let expected):
            guard let actual = try? JSONParser.parse(body) else { return false }
            return Self.normalized(actual) == Self.normalized(expected)
        case .form(let expected):
            var form: [String: [String]] = [:]
            for part in String(decoding: body, as: UTF8.self).split(separator: "&") {
                let kv = part.split(separator: "=", maxSplits: 1).map { Self.percentDecode(String($0), plusIsSpace: true) }
                form[kv[0], default: []].append(kv.count > 1 ? kv[1] : "")
            }
            return form == expected
        }
    }

    /// GraphQL query text compares with its whitespace collapsed.
    static func normalized(_ value: JSON) -> JSON {
        guard case .object(var o) = value, case .string(let q)? = o["query"] else { return value }
        o["query"] = .string(q.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" }).joined(separator: " "))
        return .object(o)
    }

    static func percentDecode(_ text: String, plusIsSpace: Bool) -> String {
        var out: [UInt8] = []
        let b = Array(text.utf8)
        var i = 0
        while i < b.count {
            if b[i] == UInt8(ascii: "%"), i + 2 < b.count, let h = hex(b[i + 1]), let l = hex(b[i + 2]) {
                out.append(h << 4 | l)
                i += 3
            } else {
                out.append(plusIsSpace && b[i] == UInt8(ascii: "+") ? UInt8(ascii: " ") : b[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func hex(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
