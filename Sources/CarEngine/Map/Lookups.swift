import CarDefinition
import MappingDSL
import Locking
import Synchronization

/// Records for lookups, for one run: those already read, those fetched by id, and the ids known
/// to have no record; and the records at hyperlinks that were followed.
public final class LookupCache: Sendable {
    struct State {
        /// Records serialized: parsed again on a lookup, far smaller than JSON values.
        var records: [String: [String: [UInt8]]] = [:]
        /// Insertion order and size, to keep the cache within its budget (oldest out first;
        /// a record no longer kept is fetched by id when a lookup needs it).
        var order: [(String, String)] = []
        var orderStart = 0
        var bytes = 0
        var absent: [String: Set<String>] = [:]
        var urls: [String: JSON] = [:]
        /// Keyed endpoints: endpoint → key → value (as text) → ids, in reading order.
        var keyIndex: [String: [String: [String: [String]]]] = [:]
        /// Records of keyed endpoints that cannot be fetched by id again: kept for the run.
        var pinned: [String: [String: [UInt8]]] = [:]
        /// The ids of a keyed endpoint's records in reading order (`records_of`).
        var readOrder: [String: [String]] = [:]
        /// Records parsed for lookups, kept while their serialized sizes stay within
        /// `parsedBudget` (then all dropped): a record looked up again is not parsed again.
        var parsed: [String: [String: JSON]] = [:]
        var parsedBytes = 0
    }

    /// 1 MB of serialized records, some 4 MB parsed.
    static let parsedBudget = 1 << 20

    enum Answer {
        case found(JSON)
        case absent
        case unknown
    }

    private let state = Locked(State())
    public let definition: ConnectorDefinition
    /// The most bytes of records kept. 4 MB: at 100k assets of the reference connector, 16 MB
    /// saved ~140 by-id requests but cost ~35 MB of peak RSS (docs/performance.md, run G).
    public let budget: Int

    public init(definition: ConnectorDefinition, budget: Int = 4 << 20) {
        self.definition = definition
        self.budget = budget
    }

    /// A record kept anew is parsed anew. Looked up first: a modify of a missing entry allocates.
    static func forgetParsed(_ id: String, endpoint: String, _ s: inout State) {
        if s.parsed[endpoint]?[id] != nil { s.parsed[endpoint]?[id] = nil }
    }

    static func keep(_ id: String, _ bytes: [UInt8], endpoint: String, budget: Int, _ s: inout State) {
        if let old = s.records[endpoint]?[id] { s.bytes -= old.count }
        forgetParsed(id, endpoint: endpoint, &s)
        s.records[endpoint, default: [:]][id] = bytes
        // Only when there is a set: a modify of a missing entry allocates.
        if s.absent[endpoint] != nil { s.absent[endpoint]?.remove(id) }
        s.order.append((endpoint, id))
        s.bytes += bytes.count
        while s.bytes > budget, s.orderStart < s.order.count {
            let (e, i) = s.order[s.orderStart]
            s.orderStart += 1
            if let old = s.records[e]?.removeValue(forKey: i) { s.bytes -= old.count }
        }
        if s.orderStart > 100_000 && s.orderStart * 2 > s.order.count {
            s.order.removeFirst(s.orderStart)
            s.orderStart = 0
        }
    }

    /// Whether records of an endpoint are kept for lookups.
    public func keeps(_ endpoint: String) -> Bool { definition.lookupEndpoints.contains(endpoint) }

    /// Keeps records of an endpoint that mappings look up, by their id (as text).
    public func add(_ records: [JSON], endpoint: String, context: EvalContext) {
        guard keeps(endpoint) else { return }
        let keyed = serialized(records, endpoint: endpoint, context: context)
        let budget = self.budget
        state.withLock { s in
            for (id, r) in keyed { Self.keep(id, r, endpoint: endpoint, budget: budget, &s) }
        }
    }

    /// Records with their ids (as text), serialized; records without an id are left out.
    func serialized(_ records: [JSON], endpoint: String, context: EvalContext) -> [(String, [UInt8])] {
        let idExpr = definition.endpoints[endpoint]?.id
        var ctx = context
        var keyed: [(String, [UInt8])] = []
        keyed.reserveCapacity(records.count)
        for r in records {
            ctx.document = r
            let id: JSON = idExpr.map { (try? $0.evaluate(ctx)) ?? .null } ?? (r["id"] ?? .null)
            if !id.isNull { keyed.append((renderString(id), JSONWriter().bytes(r))) }
        }
        return keyed
    }

    /// Indexes the records of an endpoint read whole by its `keys` (for `lookup_by` and
    /// `lookup_all`). The records are kept as lookups keep them (fetched by id again when they
    /// have left the cache); without `by_ids` they are kept for the run.
    public func addKeyed(_ records: [JSON], endpoint: String, context: EvalContext) {
        guard let spec = definition.endpoints[endpoint] else { return }
        var ctx = context
        var entries: [(id: String, bytes: [UInt8], keys: [(String, String)])] = []
        let count = state.withLock { s in s.keyIndex[endpoint]?.values.first?.values.reduce(0) { $0 + $1.count } ?? 0 }
        for (n, r) in records.enumerated() {
            ctx.document = r
            let idValue: JSON = spec.id.map { (try? $0.evaluate(ctx)) ?? .null } ?? (r["id"] ?? .null)
            // A record without an id is still found by its keys.
            let id = idValue.isNull ? "\u{1}\(count + n)" : renderString(idValue)
            var keys: [(String, String)] = []
            for key in spec.keys {
                guard let value = try? key.value.evaluate(ctx) else { continue }
                let values: [JSON] = value.arrayValue ?? [value]
                for v in values where !v.isNull { keys.append((key.name, renderString(v))) }
            }
            entries.append((id, JSONWriter().bytes(r), keys))
        }
        let refetchable = spec.byIDs != nil
        let budget = self.budget
        state.withLock { s in
            var index = s.keyIndex.removeValue(forKey: endpoint) ?? [:]
            for e in entries {
                s.readOrder[endpoint, default: []].append(e.id)
                for (key, value) in e.keys where index[key]?[value]?.last != e.id { index[key, default: [:]][value, default: []].append(e.id) }
                if refetchable && !e.id.hasPrefix("\u{1}") {
                    Self.keep(e.id, e.bytes, endpoint: endpoint, budget: budget, &s)
                } else {
                    s.pinned[endpoint, default: [:]][e.id] = e.bytes
                    Self.forgetParsed(e.id, endpoint: endpoint, &s)
                }
            }
            s.keyIndex[endpoint] = index
        }
    }

    /// The ids of all records of an endpoint read whole, in reading order.
    func allIDs(_ endpoint: String) -> [String] {
        state.withLock { $0.readOrder[endpoint] ?? [] }
    }

    /// The ids of the records whose key has this value, in reading order.
    func ids(_ endpoint: String, key: String, value: String) -> [String] {
        state.withLock { $0.keyIndex[endpoint]?[key]?[value] ?? [] }
    }

    func answer(_ endpoint: String, _ id: String) -> Answer {
        let (memo, bytes, absent) = state.withLock { s -> (JSON?, [UInt8]?, Bool) in
            if let r = s.parsed[endpoint]?[id] { return (r, nil, false) }
            return (nil, s.pinned[endpoint]?[id] ?? s.records[endpoint]?[id], s.absent[endpoint]?.contains(id) == true)
        }
        if let memo { return .found(memo) }
        if let bytes, let r = try? JSONParser.parse(bytes) {
            state.withLock { s in
                if s.parsedBytes + bytes.count > Self.parsedBudget {
                    s.parsed = [:]
                    s.parsedBytes = 0
                }
                s.parsed[endpoint, default: [:]][id] = r
                s.parsedBytes += bytes.count
            }
            return .found(r)
        }
        return absent ? .absent : .unknown
    }

    func url(_ url: String) -> JSON? { state.withLock { $0.urls[url] } }

    /// Marks ids as having no record (so they are not fetched again).
    func markAbsent(_ ids: [String], endpoint: String) {
        state.withLock { s in
            for id in ids { s.absent[endpoint, default: []].insert(id) }
        }
    }

    /// Fetches what lookups missed: ids in batches per endpoint, hyperlinks one by one. Without
    /// a client (offline mapping), misses are recorded as absent.
    public func resolve(_ misses: LookupMisses, client: DatasourceClient?, context: EvalContext) async throws {
        let (ids, urls) = misses.take()
        for (endpoint, wanted) in ids {
            let list = Array(wanted).sorted()
            var found: Set<String> = []
            if let client, definition.endpoints[endpoint]?.byIDs != nil {
                let records = try await client.fetch(endpoint, ids: list.map { .string($0) })
                found = keepFetched(records, endpoint: endpoint, context: context)
            }
            markAbsent(list.filter { !found.contains($0) }, endpoint: endpoint)
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

    /// Keeps fetched records; returns their ids.
    @discardableResult
    private func keepFetched(_ records: [JSON], endpoint: String, context: EvalContext) -> Set<String> {
        let keyed = serialized(records, endpoint: endpoint, context: context)
        let budget = self.budget
        state.withLock { s in
            for (id, r) in keyed { Self.keep(id, r, endpoint: endpoint, budget: budget, &s) }
        }
        return Set(keyed.map(\.0))
    }

    /// Records kept, for stats.
    public var count: Int { state.withLock { $0.records.values.reduce(0) { $0 + $1.count } } }
}

/// Lookups a mapping pass could not answer from the cache.
public final class LookupMisses: Sendable {
    private let state = Locked<([String: Set<String>], Set<String>)>(([:], []))
    /// Read twice per record mapped: an atomic, not a lock.
    private let events = Atomic<Int>(0)

    public init() {}

    func add(endpoint: String, id: String) {
        events.add(1, ordering: .relaxed)
        state.withLock { _ = $0.0[endpoint, default: []].insert(id) }
    }

    func add(url: String) {
        events.add(1, ordering: .relaxed)
        state.withLock { _ = $0.1.insert(url) }
    }

    public var isEmpty: Bool { state.withLock { $0.0.isEmpty && $0.1.isEmpty } }

    /// Lookups that missed so far (each one, even of an id already recorded): tells which
    /// records had any.
    var count: Int { events.load(ordering: .relaxed) }

    func take() -> ([String: Set<String>], Set<String>) {
        state.withLock { s in
            let r = s
            s = ([:], [])
            return r
        }
    }
}

/// The host functions of a mapping pass: answers from the cache, misses recorded (as null).
final class LookupHost: ExpressionHost {
    let cache: LookupCache
    let misses: LookupMisses
    /// Records the ids looked up (for the dependency index), when set.
    let trail: LookupTrail?

    init(cache: LookupCache, misses: LookupMisses, trail: LookupTrail? = nil) {
        self.cache = cache
        self.misses = misses
        self.trail = trail
    }

    func call(_ name: String, _ arguments: [JSON]) throws -> JSON {
        switch name {
        case "lookup":
            guard arguments.count == 2, case .string(let endpoint) = arguments[0], !arguments[1].isNull else { return .null }
            return one(endpoint, renderString(arguments[1])) ?? .null
        case "lookup_many":
            guard arguments.count == 2, case .string(let endpoint) = arguments[0] else { return .array([]) }
            guard case .array(let ids) = arguments[1] else { return arguments[1].isNull ? .array([]) : .null }
            return .array(ids.compactMap { $0.isNull ? nil : one(endpoint, renderString($0)) })
        case "lookup_by", "lookup_all":
            guard arguments.count == 3, case .string(let endpoint) = arguments[0], case .string(let key) = arguments[1] else { return .null }
            let all = name == "lookup_all"
            guard !arguments[2].isNull else { return all ? .array([]) : .null }
            let ids = cache.ids(endpoint, key: key, value: renderString(arguments[2]))
            if all { return .array(ids.compactMap { one(endpoint, $0) }) }
            for id in ids { if let r = one(endpoint, id) { return r } }
            return .null
        case "records_of":
            guard case .string(let endpoint)? = arguments.first else { return .array([]) }
            return .array(cache.allIDs(endpoint).compactMap { one(endpoint, $0) })
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
        trail?.add(endpoint, id)
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
        let r = try await mapTracing(records, with: mapping, context: context, cache: cache, client: client, tracing: false, rounds: rounds)
        return (r.objects, r.issues)
    }

    /// The same, and with `tracing` the ids each record looked up (by record index).
    func mapTracing(_ records: [JSON], with mapping: Mapping, context: EvalContext, cache: LookupCache, client: DatasourceClient?,
                    tracing: Bool, rounds: Int = 4) async throws -> (objects: [JSONObject], issues: [MappingIssue], lookups: [[LookupTrail.Entry]])
    {
        // Objects and issues of all records in one pair of arrays (where each record's start);
        // records whose lookups missed are mapped again after the fetch, into arrays of their own.
        var objects: [JSONObject] = []
        var issues: [MappingIssue] = []
        var starts: [(objects: Int, issues: Int)] = []
        starts.reserveCapacity(records.count + 1)
        var lookups = [[LookupTrail.Entry]](repeating: [], count: tracing ? records.count : 0)
        let trail = tracing ? LookupTrail() : nil
        guard let info = definition.catalogue[mapping.collection] else { return ([], [], lookups) }
        var misses = LookupMisses()
        var ctx = context
        ctx.host = LookupHost(cache: cache, misses: misses, trail: trail)
        var again: [Int] = []
        for i in records.indices {
            let before = misses.count
            starts.append((objects.count, issues.count))
            map(records[i], with: mapping, info: info, context: &ctx, into: &objects, issues: &issues)
            if let trail { lookups[i] += trail.take() }
            if misses.count != before { again.append(i) }
        }
        starts.append((objects.count, issues.count))
        var redone: [Int: (objects: [JSONObject], issues: [MappingIssue])] = [:]
        var round = 0
        while !again.isEmpty && round < rounds {
            try await cache.resolve(misses, client: client, context: context)
            round += 1
            misses = LookupMisses()
            ctx.host = LookupHost(cache: cache, misses: misses, trail: trail)
            var next: [Int] = []
            for i in again {
                let before = misses.count
                var r: (objects: [JSONObject], issues: [MappingIssue]) = ([], [])
                map(records[i], with: mapping, info: info, context: &ctx, into: &r.objects, issues: &r.issues)
                if let trail { lookups[i] += trail.take() }
                redone[i] = r
                if misses.count != before { next.append(i) }
            }
            again = next
        }
        if !redone.isEmpty {
            // Every record's objects in record order, the last mapping of each.
            var ordered: [JSONObject] = []
            var orderedIssues: [MappingIssue] = []
            for i in records.indices {
                if let r = redone[i] {
                    ordered += r.objects
                    orderedIssues += r.issues
                } else {
                    ordered += objects[starts[i].objects..<starts[i + 1].objects]
                    orderedIssues += issues[starts[i].issues..<starts[i + 1].issues]
                }
            }
            return (ordered, orderedIssues, lookups)
        }
        return (objects, issues, lookups)
    }
}
