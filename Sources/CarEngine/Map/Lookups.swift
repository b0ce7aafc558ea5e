import MappingDSL
import Synchronization

/// Records for lookups, for one run: those already read, those fetched by id, and the ids known
/// to have no record; and the records at hyperlinks that were followed.
public final class LookupCache: Sendable {
    struct State {
        /// Records serialized: parsed again on a lookup, far smaller than JSON values.
        var records: [String: [String: [UInt8]]] = [:]
        var absent: [String: Set<String>] = [:]
        var urls: [String: JSON] = [:]
    }

    enum Answer {
        case found(JSON)
        case absent
        case unknown
    }

    private let state = Mutex(State())
    public let definition: ConnectorDefinition

    public init(definition: ConnectorDefinition) {
        self.definition = definition
    }

    /// Whether records of an endpoint are kept for lookups.
    public func keeps(_ endpoint: String) -> Bool { definition.lookupEndpoints.contains(endpoint) }

    /// Keeps records of an endpoint that mappings look up, by their id (as text).
    public func add(_ records: [JSON], endpoint: String, context: EvalContext) {
        guard keeps(endpoint) else { return }
        let idExpr = definition.endpoints[endpoint]?.id
        var keyed: [(String, [UInt8])] = []
        keyed.reserveCapacity(records.count)
        var ctx = context
        for r in records {
            ctx.document = r
            let id: JSON = idExpr.map { (try? $0.evaluate(ctx)) ?? .null } ?? (r["id"] ?? .null)
            if !id.isNull { keyed.append((renderString(id), JSONWriter().bytes(r))) }
        }
        state.withLock { s in
            for (id, r) in keyed {
                s.records[endpoint, default: [:]][id] = r
                s.absent[endpoint]?.remove(id)
            }
        }
    }

    func answer(_ endpoint: String, _ id: String) -> Answer {
        let (bytes, absent) = state.withLock { s in (s.records[endpoint]?[id], s.absent[endpoint]?.contains(id) == true) }
        if let bytes, let r = try? JSONParser.parse(bytes) { return .found(r) }
        return absent ? .absent : .unknown
    }

    func url(_ url: String) -> JSON? { state.withLock { $0.urls[url] } }

    /// Marks ids as having no record (so they are not fetched again).
    func markAbsent(_ ids: [String], endpoint: String) {
        state.withLock { s in
            for id in ids where s.records[endpoint]?[id] == nil { s.absent[endpoint, default: []].insert(id) }
        }
    }

    /// Fetches what lookups missed: ids in batches per endpoint, hyperlinks one by one. Without
    /// a client (offline mapping), misses are recorded as absent.
    public func resolve(_ misses: LookupMisses, client: DatasourceClient?, context: EvalContext) async throws {
        let (ids, urls) = misses.take()
        for (endpoint, wanted) in ids {
            let list = Array(wanted).sorted()
            if let client, definition.endpoints[endpoint]?.byIDs != nil {
                let records = try await client.fetch(endpoint, ids: list.map { .string($0) })
                keepFetched(records, endpoint: endpoint, context: context)
            }
            markAbsent(list, endpoint: endpoint)
        }
        guard !urls.isEmpty else { return }
        guard let client else {
            state.withLock { s in for u in urls { s.urls[u] = .null } }
            return
        }
        try await withThrowingTaskGroup(of: (String, JSON).self) { group in
            for u in urls { group.addTask { (u, try await client.follow(u)) } }
            for try await (u, value) in group { state.withLock { $0.urls[u] = value } }
        }
    }

    private func keepFetched(_ records: [JSON], endpoint: String, context: EvalContext) {
        let idExpr = definition.endpoints[endpoint]?.id
        var ctx = context
        state.withLock { s in
            for r in records {
                ctx.document = r
                let id: JSON = idExpr.map { (try? $0.evaluate(ctx)) ?? .null } ?? (r["id"] ?? .null)
                if !id.isNull {
                    s.records[endpoint, default: [:]][renderString(id)] = JSONWriter().bytes(r)
                    s.absent[endpoint]?.remove(renderString(id))
                }
            }
        }
    }

    /// Records kept, for stats.
    public var count: Int { state.withLock { $0.records.values.reduce(0) { $0 + $1.count } } }
}

/// Lookups a mapping pass could not answer from the cache.
public final class LookupMisses: Sendable {
    private let state = Mutex<([String: Set<String>], Set<String>)>(([:], []))

    public init() {}

    func add(endpoint: String, id: String) { state.withLock { _ = $0.0[endpoint, default: []].insert(id) } }
    func add(url: String) { state.withLock { _ = $0.1.insert(url) } }

    public var isEmpty: Bool { state.withLock { $0.0.isEmpty && $0.1.isEmpty } }

    func take() -> ([String: Set<String>], Set<String>) {
        state.withLock { s in
            let r = s
            s = ([:], [])
            return r
        }
    }
}

/// The host functions of a mapping pass: answers from the cache, misses recorded (as null).
struct LookupHost: ExpressionHost {
    let cache: LookupCache
    let misses: LookupMisses

    func call(_ name: String, _ arguments: [JSON]) throws -> JSON {
        switch name {
        case "lookup":
            guard arguments.count == 2, case .string(let endpoint) = arguments[0], !arguments[1].isNull else { return .null }
            return one(endpoint, renderString(arguments[1])) ?? .null
        case "lookup_many":
            guard arguments.count == 2, case .string(let endpoint) = arguments[0] else { return .array([]) }
            guard case .array(let ids) = arguments[1] else { return arguments[1].isNull ? .array([]) : .null }
            return .array(ids.compactMap { $0.isNull ? nil : one(endpoint, renderString($0)) })
        case "follow":
            guard case .string(let url)? = arguments.first else { return .null }
            if let v = cache.url(url) { return v }
            misses.add(url: url)
            return .null
        default:
            throw FunctionError("\(name)() is not available here")
        }
    }

    func one(_ endpoint: String, _ id: String) -> JSON? {
        switch cache.answer(endpoint, id) {
        case .found(let r): return r
        case .absent: return nil
        case .unknown:
            misses.add(endpoint: endpoint, id: id)
            return nil
        }
    }
}

extension Mapper {
    /// Maps a page of records with one mapping, answering lookups from the cache and fetching
    /// what it misses in batches (then mapping again), at most `rounds` times.
    public func map(_ records: [JSON], with mapping: Mapping, context: EvalContext, cache: LookupCache, client: DatasourceClient?,
                    rounds: Int = 4) async throws -> (objects: [JSONObject], issues: [MappingIssue])
    {
        var round = 0
        while true {
            let misses = LookupMisses()
            var ctx = context
            ctx.host = LookupHost(cache: cache, misses: misses)
            var objects: [JSONObject] = []
            var issues: [MappingIssue] = []
            for r in records {
                let (o, i) = map(r, with: mapping, context: ctx)
                objects += o
                issues += i
            }
            if misses.isEmpty || round >= rounds { return (objects, issues) }
            try await cache.resolve(misses, client: client, context: context)
            round += 1
        }
    }
}
