import CarDefinition
import CarEngine
import LoopbackHTTP
import MappingDSL

/// A change the admin API refused.
public struct ReferenceChangeError: Error, Sendable, CustomStringConvertible {
    public var description: String
}

extension ReferenceSimulator {
    // MARK: Changes, logged as the original server logs them

    /// Creates a record; relations are pks (a foreign key) or lists of pks (many-to-many).
    /// Returns its pk.
    @discardableResult
    public func create(_ route: String, _ fields: JSON) throws(ReferenceChangeError) -> Int {
        try data.withLock { d throws(ReferenceChangeError) -> Int in try Self.create(route, fields, &d) }
    }

    /// Changes scalar fields and foreign keys of a record.
    public func update(_ route: String, _ pk: Int, _ fields: JSON) throws(ReferenceChangeError) {
        try data.withLock { d throws(ReferenceChangeError) in
            guard let r = Self.route(route), var record = d.tables[route]?[pk] else { throw ReferenceChangeError(description: "no \(route) \(pk)") }
            guard case .object(let o) = fields else { throw ReferenceChangeError(description: "fields must be an object") }
            for (k, v) in o {
                if r.scalars.contains(k) {
                    record[k] = v
                } else if let fk = r.foreignKeys.first(where: { $0.field == k }) {
                    if case .int(let target) = v, d.tables[fk.target]?[Int(target)] == nil {
                        throw ReferenceChangeError(description: "no \(fk.target) \(target)")
                    }
                    record[k] = v.isNull ? .null : v
                } else {
                    throw ReferenceChangeError(description: "\(route) has no field '\(k)' to update (many-to-many: use link/unlink)")
                }
            }
            d.tables[route]?[pk] = record
            d.log.append(LogRow(route: route, pk: pk, deleted: false))
        }
    }

    /// Deletes a record: records that depend on it go too (each logged); links to it and
    /// nullable references disappear without a log row, as in the original server.
    public func delete(_ route: String, _ pk: Int) throws(ReferenceChangeError) {
        try data.withLock { d throws(ReferenceChangeError) in
            guard d.tables[route]?[pk] != nil else { throw ReferenceChangeError(description: "no \(route) \(pk)") }
            Self.delete(route, pk, &d)
        }
    }

    /// Adds or removes many-to-many links; logs the owner and each related record.
    public func link(_ route: String, _ pk: Int, field: String, add: [Int] = [], remove: [Int] = []) throws(ReferenceChangeError) {
        try data.withLock { d throws(ReferenceChangeError) in
            guard let r = Self.route(route), var record = d.tables[route]?[pk] else { throw ReferenceChangeError(description: "no \(route) \(pk)") }
            guard let m = r.manyToMany.first(where: { $0.field == field }) else {
                throw ReferenceChangeError(description: "\(route) has no many-to-many field '\(field)'")
            }
            var current = (record[field]?.arrayValue ?? []).compactMap { v -> Int? in if case .int(let i) = v { Int(i) } else { nil } }
            var changed: [Int] = []
            for t in add where !current.contains(t) {
                guard d.tables[m.target]?[t] != nil else { throw ReferenceChangeError(description: "no \(m.target) \(t)") }
                current.append(t)
                changed.append(t)
            }
            for t in remove where current.contains(t) {
                current.removeAll { $0 == t }
                changed.append(t)
            }
            record[field] = .array(current.sorted().map { .int(Int64($0)) })
            d.tables[route]?[pk] = record
            guard !changed.isEmpty else { return }
            d.log.append(LogRow(route: route, pk: pk, deleted: false))
            for t in changed { d.log.append(LogRow(route: m.target, pk: t, deleted: false)) }
        }
    }

    static func create(_ route: String, _ fields: JSON, _ d: inout Data, log: Bool = true) throws(ReferenceChangeError) -> Int {
        guard let r = Self.route(route) else { throw ReferenceChangeError(description: "no route \(route)") }
        guard case .object(let o) = fields else { throw ReferenceChangeError(description: "fields must be an object") }
        var record = JSONObject(minimumCapacity: 8)
        for f in r.scalars { record.append(f, o[f] ?? (route == "assets" && f == "type" ? "Other" : .null)) }
        for fk in r.foreignKeys {
            let v = o[fk.field] ?? .null
            if case .int(let t) = v, d.tables[fk.target]?[Int(t)] == nil { throw ReferenceChangeError(description: "no \(fk.target) \(t)") }
            record.append(fk.field, v)
        }
        var links: [(String, [Int])] = []
        for m in r.manyToMany {
            let targets = (o[m.field]?.arrayValue ?? []).compactMap { v -> Int? in if case .int(let i) = v { Int(i) } else { nil } }
            for t in targets where d.tables[m.target]?[t] == nil { throw ReferenceChangeError(description: "no \(m.target) \(t)") }
            record.append(m.field, .array(Array(Set(targets)).sorted().map { .int(Int64($0)) }))
            if !targets.isEmpty { links.append((m.target, targets)) }
        }
        for k in o.keys where !r.scalars.contains(k) && !r.foreignKeys.contains(where: { $0.field == k }) && !r.manyToMany.contains(where: { $0.field == k }) {
            throw ReferenceChangeError(description: "\(route) has no field '\(k)'")
        }
        let pk = (d.nextPK[route] ?? 1)
        d.nextPK[route] = pk + 1
        d.tables[route, default: [:]][pk] = record
        if log {
            d.log.append(LogRow(route: route, pk: pk, deleted: false))
            // Setting many-to-many links after the create logs the owner and each related record.
            for (target, pks) in links {
                d.log.append(LogRow(route: route, pk: pk, deleted: false))
                for t in pks { d.log.append(LogRow(route: target, pk: t, deleted: false)) }
            }
        }
        return pk
    }

    static func delete(_ route: String, _ pk: Int, _ d: inout Data) {
        guard d.tables[route]?[pk] != nil else { return }
        d.tables[route]?[pk] = nil
        d.log.append(LogRow(route: route, pk: pk, deleted: true))
        for other in routes {
            for fk in other.foreignKeys where fk.target == route {
                for (opk, record) in d.tables[other.name] ?? [:] where record[fk.field] == .int(Int64(pk)) {
                    if fk.cascade {
                        delete(other.name, opk, &d)
                    } else {
                        d.tables[other.name]?[opk]?[fk.field] = .null
                    }
                }
            }
            for m in other.manyToMany where m.target == route {
                for (opk, record) in d.tables[other.name] ?? [:] {
                    guard case .array(let list)? = record[m.field], list.contains(.int(Int64(pk))) else { continue }
                    d.tables[other.name]?[opk]?[m.field] = .array(list.filter { $0 != .int(Int64(pk)) })
                }
            }
        }
    }

    // MARK: The admin API

    /// `POST /_admin/<route>/` {fields} → {"pk"}; `PATCH /_admin/<route>/<pk>/` {fields};
    /// `DELETE /_admin/<route>/<pk>/`; `POST /_admin/<route>/<pk>/<field>/` {"add": [...], "remove": [...]};
    /// `GET /_admin/stats`; `POST /_admin/faults` {"path", "status", "body", "content_type",
    /// "delay_ms", "count"} (an answer in place of the real one).
    func admin(_ request: HTTPServerRequest) -> HTTPServerResponse {
        let parts = request.path.split(separator: "/").map(String.init).dropFirst()
        let body = (try? JSONParser.parse(request.body)) ?? .null
        do throws(ReferenceChangeError) {
            switch (request.method, parts.count) {
            case ("GET", 1) where parts.first == "stats":
                var o = JSONObject()
                for r in Self.routes { o[r.name] = .int(Int64(count(r.name))) }
                o["model_state_id"] = .string(modelStateID)
                o["requests"] = .int(Int64(requestCount))
                o["connections"] = .int(Int64(server.withLock { $0?.connectionsAccepted ?? 0 }))
                o["redirects"] = .int(Int64(redirects.withLock { $0 }))
                return Self.json(.object(o))
            case ("POST", 1) where parts.first == "faults":
                guard let path = body["path"]?.stringValue else { return Self.json(["detail": "a fault needs a path"], status: 400) }
                add(Fault(path: path, status: Int(body["status"]?.doubleValue ?? 200), body: body["body"]?.stringValue,
                          contentType: body["content_type"]?.stringValue ?? "application/json", delayMs: Int(body["delay_ms"]?.doubleValue ?? 0),
                          count: body["count"] == .null ? nil : Int(body["count"]?.doubleValue ?? 1)))
                return Self.json(["ok": true])
            case ("POST", 1):
                let pk = try create(parts[parts.startIndex], body)
                return Self.json(["pk": .int(Int64(pk))], status: 201)
            case ("PATCH", 2):
                guard let pk = Int(parts[parts.startIndex + 1]) else { break }
                try update(parts[parts.startIndex], pk, body)
                return Self.json(["ok": true])
            case ("DELETE", 2):
                guard let pk = Int(parts[parts.startIndex + 1]) else { break }
                try delete(parts[parts.startIndex], pk)
                return Self.json(["ok": true])
            case ("POST", 3):
                guard let pk = Int(parts[parts.startIndex + 1]) else { break }
                func ints(_ v: JSON?) -> [Int] { (v?.arrayValue ?? []).compactMap { $0.doubleValue.map { Int($0) } } }
                try link(parts[parts.startIndex], pk, field: parts[parts.startIndex + 2], add: ints(body["add"]), remove: ints(body["remove"]))
                return Self.json(["ok": true])
            default: break
            }
        } catch {
            return Self.json(["detail": .string(error.description)], status: 400)
        }
        return Self.json(["detail": "unknown admin route"], status: 404)
    }
}

/// Builds a model of N assets from a seed: sites, vulnerabilities with xref properties, one ip,
/// mac and host per asset, apps linked to assets, ports linked to apps and ips.
/// SplitMix64: a small deterministic generator, for models built from a seed (and seeded tests).
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

enum ReferenceGenerator {
    struct Random {
        var generator: SplitMix64
        init(state: UInt64) { generator = SplitMix64(seed: state) }
        mutating func next() -> UInt64 { generator.next() }
        mutating func int(_ n: Int) -> Int { n <= 0 ? 0 : Int(next() % UInt64(n)) }
        mutating func pick(_ range: ClosedRange<Int>, _ count: Int) -> [Int] {
            guard range.count > 0 else { return [] }
            var out: Set<Int> = []
            for _ in 0..<count { out.insert(range.lowerBound + int(range.count)) }
            return out.sorted()
        }
    }

    static func generate(assets n: Int, seed: UInt64, into d: inout ReferenceSimulator.Data) {
        var rng = Random(state: seed)
        let siteCount = max(1, n / 50)
        let vulnCount = max(5, n / 10)
        let appCount = max(2, n / 20)
        let portCount = max(2, n / 10)
        let types = ["Server", "Workstation", "Router", "Other"]
        @discardableResult
        func make(_ route: String, _ fields: JSON) -> Int {
            (try? ReferenceSimulator.create(route, fields, &d)) ?? 0
        }
        for i in 1...vulnCount {
            let xrefs = (0..<rng.int(3)).map { _ in
                make("xrefproperties", ["extref_typename": rng.int(2) == 0 ? "CVE" : "BID",
                                        "extref_value": .string("REF-\(i)-\(rng.int(100_000))"), "q_extref_typeid": .int(Int64(rng.int(20)))])
            }
            let published = Int64(1_700_000_000_000 + rng.int(30_000_000) * 1000)
            make("vulnerabilities", ["name": .string("Vulnerability \(i)"), "published_on": .int(published), "disclosed_on": .int(published - 86_400_000),
                                     "updated_on": .int(published + 86_400_000), "vcvssbmid": .int(Int64(rng.int(100))),
                                     "base_score": .double(Double(rng.int(100)) / 10), "xref_properties": .array(xrefs.map { .int(Int64($0)) })])
        }
        for i in 1...siteCount { make("sites", ["name": .string("Site \(i)"), "address": .string("\(i) Main Street")]) }
        for i in 1...n {
            let site: JSON = rng.int(10) == 0 ? .null : .int(Int64(1 + rng.int(siteCount)))
            let vulns = rng.pick(1...vulnCount, rng.int(5)).map { JSON.int(Int64($0)) }
            let asset = make("assets", ["name": .string("asset-\(i)"), "type": .string(types[rng.int(types.count)]),
                                        "initial_value": .double(Double(rng.int(1_000_000)) / 100), "site": site, "vulnerabilities": .array(vulns)])
            let ip = make("ip_addresses", ["address": .string("10.\((i >> 16) & 255).\((i >> 8) & 255).\(i & 255)"), "asset": .int(Int64(asset))])
            let mac = String(format6: i)
            make("mac_addresses", ["address": .string(mac), "asset": .int(Int64(asset)), "ip_addresses": [.int(Int64(ip))]])
            make("hosts", ["host": .string("asset-\(i).example.com"), "asset": .int(Int64(asset))])
        }
        for i in 1...appCount {
            let assets = rng.pick(1...n, 1 + rng.int(5)).map { JSON.int(Int64($0)) }
            make("apps", ["name": .string("app-\(i)"), "assets": .array(assets)])
        }
        for i in 1...portCount {
            let apps = rng.pick(1...appCount, 1 + rng.int(2)).map { JSON.int(Int64($0)) }
            let ips = rng.pick(1...n, rng.int(3)).map { JSON.int(Int64($0)) }
            make("ports", ["port_number": .int(Int64([22, 80, 443, 5432, 8080][i % 5])), "layer7application": .string(["ssh", "http", "https", "postgresql", "http-alt"][i % 5]),
                           "protocol": "tcp", "apps": .array(apps), "ip_addresses": .array(ips)])
        }
    }
}

extension String {
    /// `00:50:56:xx:xx:xx` from a number.
    init(format6 n: Int) {
        let hex = Array("0123456789abcdef")
        func byte(_ b: Int) -> String { String([hex[(b >> 4) & 15], hex[b & 15]]) }
        self = "00:50:56:\(byte(n >> 16)):\(byte(n >> 8)):\(byte(n))"
    }
}
