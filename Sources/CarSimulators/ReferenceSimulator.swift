import CarDefinition
import CarEngine
import LoopbackHTTP
import MappingDSL
import Locking

/// The reference datasource (reference-datasource.md) on loopback: its routes, its quirks
/// (301 to the slashed URL, 403 for bad Basic auth, hyperlinks from the Host header, `?pk=`
/// with the empty-list behaviour), its change log, a deterministic generator, and an admin API
/// under `/_admin/` to change records the way the original server logs changes.
public final class ReferenceSimulator: Sendable {
    /// The shape of a route's records.
    struct Route: Sendable {
        var name: String
        var scalars: [String]
        /// Foreign keys: field, target route, what deleting the target does.
        var foreignKeys: [(field: String, target: String, cascade: Bool)]
        var manyToMany: [(field: String, target: String)]
    }

    static let routes: [Route] = [
        Route(name: "xrefproperties", scalars: ["extref_typename", "extref_value", "q_extref_typeid"], foreignKeys: [], manyToMany: []),
        Route(name: "vulnerabilities", scalars: ["name", "published_on", "disclosed_on", "updated_on", "vcvssbmid", "base_score"],
              foreignKeys: [], manyToMany: [("xref_properties", "xrefproperties")]),
        Route(name: "sites", scalars: ["name", "address"], foreignKeys: [], manyToMany: []),
        Route(name: "assets", scalars: ["name", "type", "initial_value"], foreignKeys: [("site", "sites", false)],
              manyToMany: [("vulnerabilities", "vulnerabilities")]),
        Route(name: "ip_addresses", scalars: ["address"], foreignKeys: [("asset", "assets", true)], manyToMany: []),
        Route(name: "mac_addresses", scalars: ["address"], foreignKeys: [("asset", "assets", true)], manyToMany: [("ip_addresses", "ip_addresses")]),
        Route(name: "hosts", scalars: ["host"], foreignKeys: [("asset", "assets", true)], manyToMany: []),
        Route(name: "apps", scalars: ["name"], foreignKeys: [], manyToMany: [("assets", "assets")]),
        Route(name: "ports", scalars: ["port_number", "layer7application", "protocol"], foreignKeys: [],
              manyToMany: [("apps", "apps"), ("ip_addresses", "ip_addresses")]),
    ]

    static func route(_ name: String) -> Route? { routes.first { $0.name == name } }

    struct LogRow: Sendable {
        var route: String
        var pk: Int
        var deleted: Bool
    }

    struct Data: Sendable {
        var tables: [String: [Int: JSONObject]] = [:]
        var nextPK: [String: Int] = [:]
        var log: [LogRow] = []
    }

    let data: Locked<Data>
    let server: Locked<HTTPServer?> = Locked(nil)
    public let username: String
    public let password: String
    let requests = Locked<Int>(0)
    let redirects = Locked<Int>(0)
    let faults = Locked<[Fault]>([])

    /// An answer given in place of the real one, for requests whose path starts with `path`:
    /// misbehaviour a real server shows (an error object under 200, an empty body, HTML, a slow
    /// answer).
    public struct Fault: Sendable {
        public var path: String
        public var status: Int
        /// The body to answer with; nil: the real answer (only delayed).
        public var body: String?
        public var contentType: String
        public var delayMs: Int
        /// How many requests it applies to (nil: all).
        public var count: Int?

        public init(path: String, status: Int = 200, body: String? = nil, contentType: String = "application/json", delayMs: Int = 0, count: Int? = 1) {
            self.path = path
            self.status = status
            self.body = body
            self.contentType = contentType
            self.delayMs = delayMs
            self.count = count
        }
    }

    /// Adds a fault (also `POST /_admin/faults`).
    public func add(_ fault: Fault) { faults.withLock { $0.append(fault) } }

    /// A simulator with a generated model of `assets` assets (0: empty).
    public init(port: UInt16 = 0, assets: Int = 0, seed: UInt64 = 1, username: String = "admin", password: String = "admin") throws {
        self.username = username
        self.password = password
        var d = Data()
        if assets > 0 { ReferenceGenerator.generate(assets: assets, seed: seed, into: &d) }
        data = Locked(d)
        let http = try HTTPServer(port: port) { [weak self] request in
            guard let self else { return .text("gone", status: 503) }
            return self.handle(request)
        }
        server.withLock { $0 = http }
    }

    public var port: UInt16 { server.withLock { $0?.port ?? 0 } }
    public var baseURL: String { "http://127.0.0.1:\(port)" }
    public func stop() { server.withLock { $0?.stop() } }

    /// Requests served (data, change log and admin).
    public var requestCount: Int { requests.withLock { $0 } }

    /// The number of records of a route.
    public func count(_ route: String) -> Int { data.withLock { $0.tables[route]?.count ?? 0 } }

    /// The pks of a route, sorted.
    public func pks(_ route: String) -> [Int] { data.withLock { ($0.tables[route] ?? [:]).keys.sorted() } }

    /// The current model state id ("None" for an empty log).
    public var modelStateID: String { data.withLock { $0.log.isEmpty ? "None" : String($0.log.count) } }

    // MARK: Serving

    func handle(_ request: HTTPServerRequest) -> HTTPServerResponse {
        requests.withLock { $0 += 1 }
        let path = request.path
        if path.hasPrefix("/_admin/") { return admin(request) }
        let fault: Fault? = faults.withLock { list in
            guard let i = list.firstIndex(where: { path.hasPrefix($0.path) }) else { return nil }
            let f = list[i]
            if let n = f.count {
                if n <= 1 { list.remove(at: i) } else { list[i].count = n - 1 }
            }
            return f
        }
        if let fault {
            var response = fault.body.map { HTTPServerResponse(status: fault.status, headers: [("Content-Type", fault.contentType)], body: Array($0.utf8)) }
                ?? serve(request, path: path)
            response.delayMs = fault.delayMs
            return response
        }
        return serve(request, path: path)
    }

    func serve(_ request: HTTPServerRequest, path: String) -> HTTPServerResponse {
        guard path.hasSuffix("/") else {
            redirects.withLock { $0 += 1 }
            let query = request.target.firstIndex(of: "?").map { String(request.target[$0...]) } ?? ""
            return HTTPServerResponse(status: 301, headers: [("Location", path + "/" + query)])
        }
        let parts = path.split(separator: "/").map(String.init)
        if parts == ["model_state_id"] { return Self.json(["model_state_id": .string(modelStateID)]) }
        if parts == ["delta"] { return delta(request) }
        guard let first = parts.first, let route = Self.route(first), parts.count <= 2 else {
            return Self.json(["detail": "Not found."], status: 404)
        }
        guard authorized(request) else {
            let detail = request.header("Authorization") == nil ? "Authentication credentials were not provided." : "Invalid username/password."
            return Self.json(["detail": .string(detail)], status: 403)
        }
        let base = "http://" + (request.header("Host") ?? "127.0.0.1:\(port)")
        return data.withLock { d in
            let table = d.tables[route.name] ?? [:]
            if parts.count == 2 {
                guard let pk = Int(parts[1]), let record = table[pk] else { return Self.json(["detail": "Not found."], status: 404) }
                return Self.json(Self.render(record, pk: pk, route: route, base: base))
            }
            let pks: [Int]
            if let filter = request.queryValue("pk"), !filter.isEmpty {
                pks = Set(filter.split(separator: ",").compactMap { Int($0.filter { $0 != " " }) }).filter { table[$0] != nil }.sorted()
            } else {
                pks = table.keys.sorted()
            }
            var out: [UInt8] = [UInt8(ascii: "[")]
            for (i, pk) in pks.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                guard let record = table[pk] else { continue }
                JSONWriter().write(Self.render(record, pk: pk, route: route, base: base), into: &out)
            }
            out.append(UInt8(ascii: "]"))
            return HTTPServerResponse(status: 200, headers: [("Content-Type", "application/json")], body: out)
        }
    }

    func authorized(_ request: HTTPServerRequest) -> Bool {
        request.header("Authorization") == "Basic " + Base64.encode(Array("\(username):\(password)".utf8))
    }

    static func json(_ value: JSON, status: Int = 200) -> HTTPServerResponse {
        .json(JSONWriter().string(value), status: status)
    }

    static func render(_ record: JSONObject, pk: Int, route: Route, base: String) -> JSON {
        var o = JSONObject(minimumCapacity: 8)
        o.append("pk", .int(Int64(pk)))
        for f in route.scalars { o.append(f, record[f] ?? .null) }
        for fk in route.foreignKeys {
            if case .int(let target)? = record[fk.field] {
                o.append(fk.field, .string("\(base)/\(fk.target)/\(target)/"))
            } else {
                o.append(fk.field, .null)
            }
        }
        for m in route.manyToMany {
            let targets = record[m.field]?.arrayValue ?? []
            o.append(m.field, .array(targets.map { t in .string("\(base)/\(m.target)/\(renderString(t))/") }))
        }
        return .object(o)
    }

    func delta(_ request: HTTPServerRequest) -> HTTPServerResponse {
        guard let fromText = request.queryValue("from"), let toText = request.queryValue("to") else {
            return Self.json(["detail": "from and to are required"], status: 400)
        }
        if fromText == toText { return Self.json([:]) }
        func number(_ s: String) -> Int? { s == "None" ? 0 : Int(s) }
        guard let from = number(fromText), let to = number(toText), from <= to else {
            return Self.json(["detail": "invalid range"], status: 400)
        }
        return data.withLock { d in
            var updates: [String: Set<Int>] = [:]
            var deletions: [String: Set<Int>] = [:]
            let upper = min(to, d.log.count)
            if from < upper {
                for row in d.log[from..<upper] {
                    if row.deleted {
                        deletions[row.route, default: []].insert(row.pk)
                    } else {
                        updates[row.route, default: []].insert(row.pk)
                    }
                }
            }
            var out = JSONObject()
            for route in Self.routes.map(\.name) where updates[route] != nil || deletions[route] != nil {
                out[route] = ["updates": .array((updates[route] ?? []).sorted().map { .int(Int64($0)) }),
                              "deletions": .array((deletions[route] ?? []).sorted().map { .int(Int64($0)) })]
            }
            return Self.json(["delta": .object(out)])
        }
    }
}
