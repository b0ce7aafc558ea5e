import CarDefinition
import MappingDSL
import Synchronization

/// A vertex as CAR knows it: its collection and its key (`external_id` in external-id
/// collections, `_key` in ipaddress, macaddress and hostname).
public struct CARVertex: Hashable, Sendable, CustomStringConvertible {
    public var collection: String
    public var key: String

    public init(_ collection: String, _ key: String) {
        self.collection = collection
        self.key = key
    }

    public var description: String { "\(collection)/\(key)" }
}

/// How CAR names vertices outside import envelopes. The one place car forms and parses these
/// ids (car-service-api.md, "Reading back from CAR"; IBM's Okta, GCP and CrowdStrike connectors
/// strip `<source>/` from read-back ids and add `0/` to ipaddress ends of edge patches).
public enum CARNames {
    /// The id an edge document read back from CAR gives a vertex: `<source>/<external id>`,
    /// `<source>/0/<address>` for an ipaddress, `<source>/<host>` for a hostname.
    public static func readBackID(_ vertex: CARVertex, source: String) -> String {
        source + "/" + edgeEnd(vertex)
    }

    /// The vertex a read-back id names; nil when the id is not of this source (or not of the
    /// ipaddress form for an ipaddress).
    public static func vertex(readBackID id: String, collection: String, source: String) -> CARVertex? {
        let prefix = source + "/"
        guard id.hasPrefix(prefix) else { return nil }
        return vertex(edgeEnd: String(id.dropFirst(prefix.count)), collection: collection)
    }

    /// An edge end as `PATCH <edge>?source=&from=&to=` names it: relative to the source (the
    /// read-back id without `<source>/`): `17`, `0/10.0.0.5`, `web-1.example.com`.
    public static func edgeEnd(_ vertex: CARVertex) -> String {
        vertex.collection == "ipaddress" ? "0/" + vertex.key : vertex.key
    }

    static func vertex(edgeEnd end: String, collection: String) -> CARVertex? {
        if collection == "ipaddress" {
            guard end.hasPrefix("0/") else { return nil }
            return CARVertex(collection, String(end.dropFirst(2)))
        }
        return CARVertex(collection, end)
    }
}

/// Which GraphQL operators car uses when it reads back from CAR.
public enum CARQueryOperators: String, Sendable, CaseIterable {
    /// `_in` for batches of ids; on the first query CAR rejects, the confirmed operators for the
    /// rest of the run (with one warning).
    case auto
    /// Only the operators seen in use against CAR (`_and`, `_eq`, `_lte`): one query per id.
    case confirmed
}

/// One condition of a read-back query, on a field of the documents.
public struct CARCondition: Sendable {
    public enum Operator: String, Sendable {
        case eq = "_eq"
        case lte = "_lte"
        case `in` = "_in"
    }

    public var field: String
    public var op: Operator
    public var value: JSON

    public init(_ field: String, _ op: Operator, _ value: JSON) {
        self.field = field
        self.op = op
        self.value = value
    }

    var text: String { "{\(field): {\(op.rawValue): \(JSONWriter().string(value))}}" }
}

/// A read-back query: documents of a collection meeting every condition, with some fields.
struct CARQuery: Sendable {
    var collection: String
    var conditions: [CARCondition]
    var fields: [String]

    /// `{ asset(where: {_and: [{source: {_eq: "s"}}, ...]}) { external_id } }`.
    var text: String {
        let condition = conditions.count == 1 ? conditions[0].text : "{_and: [" + conditions.map(\.text).joined(separator: ", ") + "]}"
        return "{ \(collection)(where: \(condition)) { \(fields.joined(separator: ", ")) } }"
    }
}

extension CARClient {
    /// Ids per `_in` query.
    static let readBackBatch = 200
    /// `_eq` queries in flight at once when the confirmed operators are used.
    static let confirmedQueriesInFlight = 8

    /// The documents of the source's `collection` whose `field` is one of `values` and that meet
    /// `conditions`, with `fields`. Batches with `_in` unless the confirmed operators are in use;
    /// a batch CAR rejects switches the rest of the run to them (one `_eq` query per value).
    public func documents(_ collection: String, source: String, where field: String, isOneOf values: [String],
                          and conditions: [CARCondition] = [], fields: [String]) async throws -> [JSONObject]
    {
        var out: [JSONObject] = []
        let base = [CARCondition("source", .eq, .string(source))] + conditions
        for batch in values.chunked(Self.readBackBatch) {
            if !confirmedOperatorsOnly {
                let query = CARQuery(collection: collection, conditions: base + [CARCondition(field, .in, .array(batch.map { .string($0) }))],
                                     fields: fields)
                switch try await read(query) {
                case .documents(let docs):
                    out += docs
                    continue
                case .rejected(let reason):
                    useConfirmedOperators(because: reason)
                }
            }
            out += try await documentsOneByOne(collection, conditions: base, field: field, values: batch, fields: fields)
        }
        return out
    }

    /// The documents of the source's `collection` that meet `conditions` (confirmed operators only).
    public func documents(_ collection: String, source: String, where conditions: [CARCondition], fields: [String]) async throws -> [JSONObject] {
        let query = CARQuery(collection: collection, conditions: [CARCondition("source", .eq, .string(source))] + conditions, fields: fields)
        switch try await read(query) {
        case .documents(let docs): return docs
        case .rejected(let reason): throw RunFailure(.recoverable, "CAR query failed: POST query: \(reason)")
        }
    }

    func documentsOneByOne(_ collection: String, conditions: [CARCondition], field: String, values: [String], fields: [String]) async throws
        -> [JSONObject]
    {
        try await withThrowingTaskGroup(of: (Int, [JSONObject]).self) { group in
            var parts: [(Int, [JSONObject])] = []
            var next = 0
            func start() {
                guard next < values.count else { return }
                let i = next
                next += 1
                let query = CARQuery(collection: collection, conditions: conditions + [CARCondition(field, .eq, .string(values[i]))], fields: fields)
                group.addTask {
                    switch try await self.read(query) {
                    case .documents(let docs): return (i, docs)
                    case .rejected(let reason): throw RunFailure(.recoverable, "CAR query failed: POST query: \(reason)")
                    }
                }
            }
            for _ in 0..<Self.confirmedQueriesInFlight { start() }
            while let part = try await group.next() {
                parts.append(part)
                start()
            }
            return parts.sorted { $0.0 < $1.0 }.flatMap(\.1)
        }
    }

    enum ReadBack {
        case documents([JSONObject])
        /// CAR did not take the query: 400, or a 200 with `errors` and no `data`.
        case rejected(String)
    }

    func read(_ query: CARQuery) async throws -> ReadBack {
        let answer = try await call("query", .post, "query", body: ["query": .string(query.text)], v3: true)
        if answer.status == 404 { return .documents([]) }
        let errors = answer.body["errors"]?.arrayValue ?? []
        let data = answer.body["data"]
        if answer.status == 400 || ((200..<300).contains(answer.status) && !errors.isEmpty && (data == nil || data == .null)) {
            let message = errors.first.flatMap { $0["message"].map(renderString) } ?? DatasourceClient.excerpt(answer.raw)
            return .rejected(redactor.redact("status \(answer.status)" + (message.isEmpty ? "" : ": " + message)))
        }
        guard (200..<300).contains(answer.status) else { throw failure("query", .post, "query", answer) }
        guard let data, case .object = data else {
            throw RunFailure(.recoverable, "CAR query failed: POST query: status \(answer.status), but the answer has no data object")
        }
        switch data[query.collection] {
        case .array(let docs)?: return .documents(docs.compactMap(\.objectValue))
        case nil, .null?: return .documents([])
        default: throw RunFailure(.recoverable, "CAR query failed: POST query: data.\(query.collection) is not a list")
        }
    }

    /// Whether read-back uses only the confirmed operators (set, or switched to).
    public var confirmedOperatorsOnly: Bool { queryMode.withLock { $0 == .confirmed } }

    func useConfirmedOperators(because reason: String) {
        let switched = queryMode.withLock { mode in
            defer { mode = .confirmed }
            return mode != .confirmed
        }
        if switched {
            logger.warning("CAR rejected a read-back query with _in (\(reason)); using only _and, _eq and _lte (one query per id) for the rest of the run",
                           label: "car-service")
        }
    }

    // MARK: Typed read-back

    /// The source's vertices of a collection with these external ids: their key (the field
    /// `keyField`) and external id.
    public func vertices(_ collection: String, source: String, externalIDs: [String], keyField: String) async throws
        -> [(key: String, externalID: String)]
    {
        let fields = keyField == "external_id" ? ["external_id"] : [keyField, "external_id"]
        return try await documents(collection, source: source, where: "external_id", isOneOf: externalIDs, fields: fields).compactMap { doc in
            guard let key = doc[keyField], !key.isNull, let id = doc["external_id"], !id.isNull else { return nil }
            return (renderString(key), renderString(id))
        }
    }

    /// The source's active edges of `collection` (from `fromCollection` to `toCollection`)
    /// that touch one of `anchors` (vertices of one end's collection).
    public func activeEdges(_ collection: String, from fromCollection: String, to toCollection: String, source: String, touching anchors: [CARVertex])
        async throws -> [(from: CARVertex, to: CARVertex)]
    {
        guard let anchorCollection = anchors.first?.collection else { return [] }
        let fromField = fromCollection + "_id"
        let toField = toCollection + "_id"
        let docs = try await documents(
            collection, source: source, where: anchorCollection + "_id", isOneOf: anchors.map { CARNames.readBackID($0, source: source) },
            and: [CARCondition("active", .eq, .bool(true))], fields: [fromField, toField])
        return docs.compactMap { doc in
            guard let f = doc[fromField]?.stringValue, let t = doc[toField]?.stringValue,
                let from = CARNames.vertex(readBackID: f, collection: fromCollection, source: source),
                let to = CARNames.vertex(readBackID: t, collection: toCollection, source: source)
            else { return nil }
            return (from, to)
        }
    }

    /// Keys of the source's vertices of a collection not seen since `cutoffMs`.
    public func verticesNotSeen(since cutoffMs: Int64, collection: String, source: String, keyField: String) async throws -> [String] {
        try await documents(collection, source: source, where: [CARCondition("last_seen_timestamp", .lte, .int(cutoffMs))], fields: [keyField])
            .compactMap { $0[keyField] }.filter { !$0.isNull }.map(renderString)
    }

    /// Marks an edge inactive: `PATCH <edge>?source=&from=&to=` with the ends relative to the source.
    public func deactivateEdge(_ collection: String, source: String, from: CARVertex, to: CARVertex) async throws {
        try await patchEdge(collection: collection, source: source, from: CARNames.edgeEnd(from), to: CARNames.edgeEnd(to), ["active": false])
    }
}

extension Array {
    func chunked(_ size: Int) -> [[Element]] {
        stride(from: 0, to: count, by: size).map { Array(self[$0..<Swift.min($0 + size, count)]) }
    }
}
