import CarDefinition
import CarEngine
import LoopbackHTTP
import MappingDSL
import Locking

/// Settings of the CAR simulator.
public struct CARSimulatorOptions: Sendable {
    public var port: UInt16 = 0
    public var key = "car-key"
    public var password = "car-password"
    public var token = "car-token-value"
    /// The import schema imports are validated against (default: car's catalogue).
    public var importSchema: JSON = CARCatalogue.core.importSchema
    /// Where the graph is kept across restarts.
    public var dataDirectory: String?
    /// Start with a database (as an instance that already ran), or with none (fresh).
    public var databaseReady = false
    /// The GraphQL operators read-back queries may use; others are answered with 400 and a
    /// GraphQL error (nil: every operator the simulator implements). CAR is known to take
    /// `_and`, `_eq` and `_lte` (car-service-api.md).
    public var graphqlOperators: Set<String>?

    /// The operators seen in use against CAR by IBM's connectors.
    public static let confirmedOperators: Set<String> = ["_and", "_eq", "_lte"]
    /// The operators the simulator implements.
    public static var implementedOperators: Set<String> { GraphQLQuery.implemented }

    public init() {}
}

/// A stand-in for the CAR service on loopback: the calls of car-service-api.md in both auth
/// modes, a graph per source, import validation, GraphQL read-back for the query shapes
/// connectors use, fault injection, and an admin API (`/admin/...`, no auth).
public final class CARSimulator: Sendable {
    struct EdgeDoc: Sendable {
        var from: String
        var to: String
        var fields: JSONObject
        var active: Bool
        var sequence = 0
    }

    struct SourceGraph: Sendable {
        var vertices: [String: [String: JSONObject]] = [:]
        var lastSeen: [String: [String: Int64]] = [:]
        var edges: [String: [String: EdgeDoc]] = [:]
        var modelStateID: String?
        var fullImportInProgress = false
        /// The import that last touched each vertex, and the last import before the full
        /// import began: leaving a full import removes what it did not touch.
        var touched: [String: [String: Int]] = [:]
        var fullImportSince = 0
        /// Indexes for read-back: vertex keys by external id (key collections), edge ids by end.
        var keysByExternalID: [String: [String: Set<String>]] = [:]
        /// Edges are never removed (only deactivated): the lists only grow, without duplicates.
        var edgesByEnd: [String: [String: [String]]] = [:]

        mutating func putVertex(_ collection: String, _ key: String, _ doc: JSONObject) {
            Self.index(key, old: vertices[collection]?[key], new: doc, &keysByExternalID[collection, default: [:]])
            vertices[collection, default: [:]][key] = doc
        }

        /// Keeps one collection's external-id index in step when a vertex document changes.
        static func index(_ key: String, old: JSONObject?, new: JSONObject, _ byExternalID: inout [String: Set<String>]) {
            if let id = old?["external_id"] { byExternalID[renderString(id)]?.remove(key) }
            if let id = new["external_id"] { byExternalID[renderString(id), default: []].insert(key) }
        }

        /// Adds a new edge to one collection's end index.
        static func index(newEdge id: String, _ doc: EdgeDoc, _ byEnd: inout [String: [String]]) {
            byEnd[doc.from, default: []].append(id)
            if doc.to != doc.from { byEnd[doc.to, default: []].append(id) }
        }

        mutating func removeVertex(_ collection: String, _ key: String) -> Bool {
            guard let old = vertices[collection]?.removeValue(forKey: key) else { return false }
            if let id = old["external_id"] { keysByExternalID[collection]?[renderString(id)]?.remove(key) }
            lastSeen[collection]?[key] = nil
            touched[collection]?[key] = nil
            return true
        }

        mutating func putEdge(_ collection: String, _ id: String, _ doc: EdgeDoc) {
            if edges[collection]?[id] == nil { Self.index(newEdge: id, doc, &edgesByEnd[collection, default: [:]]) }
            edges[collection, default: [:]][id] = doc
        }

        /// Merges an envelope's documents of one edge collection: fields of an existing edge
        /// are updated, the edge is active again and stamped with the import's sequence.
        mutating func mergeEdges(_ collection: String, _ items: [JSON], from fromColl: String, to toColl: String, sequence: Int) {
            var table = edges.removeValue(forKey: collection) ?? [:]
            var byEnd = edgesByEnd.removeValue(forKey: collection) ?? [:]
            for item in items {
                guard case .object(let o) = item else { continue }
                guard let from = CARSimulator.end(o, idKey: "_from_external_id", refKey: "_from", collection: fromColl),
                    let to = CARSimulator.end(o, idKey: "_to_external_id", refKey: "_to", collection: toColl)
                else { continue }
                let id = from + "|" + to
                if let index = table.index(forKey: id) {
                    table.values[index].active = true
                    table.values[index].sequence = sequence
                    for (k, v) in o where !CARSimulator.edgeReservedKeys.contains(k) { table.values[index].fields[k] = v }
                } else {
                    var fields = JSONObject()
                    for (k, v) in o where !CARSimulator.edgeReservedKeys.contains(k) { fields[k] = v }
                    let doc = EdgeDoc(from: from, to: to, fields: fields, active: true, sequence: sequence)
                    table[id] = doc
                    Self.index(newEdge: id, doc, &byEnd)
                }
            }
            edges[collection] = table
            edgesByEnd[collection] = byEnd
        }

        /// Merges an envelope's documents of one vertex collection (fields of an existing
        /// vertex are updated) and records when each was seen.
        mutating func mergeVertices(_ collection: String, _ items: [JSON], timestamp: Int64, sequence: Int) {
            var table = vertices.removeValue(forKey: collection) ?? [:]
            var seen = lastSeen.removeValue(forKey: collection) ?? [:]
            var touch = touched.removeValue(forKey: collection) ?? [:]
            var byExternalID = keysByExternalID.removeValue(forKey: collection) ?? [:]
            let keyField = CARSimulator.keyField(collection)
            for item in items {
                guard case .object(let given) = item else { continue }
                let o = CARSimulator.derivingFields(given, collection: collection)
                let key = renderString(o[keyField] ?? .null)
                let old = table.removeValue(forKey: key)
                var doc = old ?? o
                if old != nil { for (k, v) in o { doc[k] = v } }
                Self.index(key, old: old, new: doc, &byExternalID)
                table[key] = doc
                seen[key] = timestamp
                touch[key] = sequence
            }
            vertices[collection] = table
            lastSeen[collection] = seen
            touched[collection] = touch
            keysByExternalID[collection] = byExternalID
        }
    }

    struct Database: Sendable {
        var graphName = ""
        var collectionsWithoutIndexes: [String] = ["asset", "ipaddress"]
        var ready = false
    }

    struct Job: Sendable {
        var pollsLeft: Int
        var errorStatus: Int?
        var error: String?
    }

    struct RouteFault: Sendable {
        var method: String?
        var path: String
        var status: Int
        var remaining: Int
        /// Matching calls let through before the fault starts.
        var after = 0
    }

    struct Faults: Sendable {
        var routes: [RouteFault] = []
        var delayMs = 0
        var drop = 0
        var incompletePolls = 0
        var failImportStatus: Int?
        var failImportCount = 0
        /// Every import answers the same job id.
        var duplicateJobIDs = false
    }

    struct State: Sendable {
        var sources: [String: SourceGraph] = [:]
        var database: Database?
        var jobs: [String: Job] = [:]
        var unconfirmed: Set<String> = []
        var maxUnconfirmed = 0
        var extensions: [String: JSON] = [:]
        var faults = Faults()
        var nextJob = 1
        var importSequence = 0
        var calls: [String] = []
    }

    let state: Locked<State>
    let options: CARSimulatorOptions
    let validator: ImportValidator?
    let server: Locked<HTTPServer?> = Locked(nil)

    public init(options: CARSimulatorOptions = CARSimulatorOptions()) throws {
        self.options = options
        validator = try? ImportValidator(schema: options.importSchema)
        var initial = State()
        if options.databaseReady { initial.database = Database(graphName: "assets", collectionsWithoutIndexes: [], ready: true) }
        if let dir = options.dataDirectory, let saved = Self.load(dir) { initial = saved }
        state = Locked(initial)
        let http = try HTTPServer(port: options.port) { [weak self] request in
            guard let self else { return .text("gone", status: 503) }
            return self.handle(request)
        }
        server.withLock { $0 = http }
    }

    public var port: UInt16 { server.withLock { $0?.port ?? 0 } }
    /// The v2 base URL to give car (`-car-service-url`).
    public var baseURL: String { "http://127.0.0.1:\(port)/api/car/v2" }
    public var adminURL: String { "http://127.0.0.1:\(port)/admin" }

    public func stop() { server.withLock { $0?.stop() } }

    // MARK: Admin (in-process access for tests)

    /// The whole graph as JSON: sources with their vertices, edges and model state.
    public var graph: JSON { state.withLock { Self.graphJSON($0) } }

    /// The calls received (`METHOD path?query`), in order.
    public var calls: [String] { state.withLock { $0.calls } }

    /// The most import jobs posted and not yet confirmed through importstatus at one time.
    public var maxJobsInFlight: Int { state.withLock { $0.maxUnconfirmed } }

    /// Sets (or with nil clears) the model state saved for a source, as a previous run would
    /// have saved it.
    public func setModelState(source: String, _ id: String?) {
        state.withLock { $0.sources[source, default: SourceGraph()].modelStateID = id }
    }

    /// Sets faults (see `POST /admin/faults`).
    public func setFaults(_ body: JSON) { state.withLock { Self.applyFaults(body, &$0) } }

    static func applyFaults(_ body: JSON, _ s: inout State) {
        for f in body["fail"]?.arrayValue ?? [] {
            s.faults.routes.append(RouteFault(
                method: f["method"]?.stringValue, path: f["path"]?.stringValue ?? "", status: Int(f["status"]?.doubleValue ?? 500),
                remaining: Int(f["count"]?.doubleValue ?? 1), after: Int(f["after"]?.doubleValue ?? 0)))
        }
        if let d = body["delay_ms"]?.doubleValue { s.faults.delayMs = Int(d) }
        if let d = body["drop"]?.doubleValue { s.faults.drop = Int(d) }
        if let k = body["incomplete_polls"]?.doubleValue { s.faults.incompletePolls = Int(k) }
        if let f = body["fail_import_jobs"] {
            s.faults.failImportStatus = f["status_code"]?.doubleValue.map { Int($0) } ?? 500
            s.faults.failImportCount = Int(f["count"]?.doubleValue ?? 1)
        }
        if body["duplicate_job_ids"] == .bool(true) { s.faults.duplicateJobIDs = true }
        if body["no_database"] == .bool(true) { s.database = nil }
        if body["clear"] == .bool(true) { s.faults = Faults() }
    }

    static func graphJSON(_ s: State) -> JSON {
        var sources = JSONObject()
        for name in s.sources.keys.sorted() {
            guard let g = s.sources[name] else { continue }
            var vertices = JSONObject()
            for c in g.vertices.keys.sorted() {
                let docs = g.vertices[c] ?? [:]
                vertices[c] = .array(docs.keys.sorted().compactMap { docs[$0].map { JSON.object($0) } })
            }
            var edges = JSONObject()
            for c in g.edges.keys.sorted() {
                let docs = g.edges[c] ?? [:]
                edges[c] = .array(docs.keys.sorted().compactMap { k in
                    docs[k].map { e in
                        var o = e.fields
                        o["_from"] = .string(e.from)
                        o["_to"] = .string(e.to)
                        o["active"] = .bool(e.active)
                        return .object(o)
                    }
                })
            }
            sources[name] = ["model_state_id": g.modelStateID.map { .string($0) } ?? .null, "full_import_in_progress": .bool(g.fullImportInProgress),
                             "vertices": .object(vertices), "edges": .object(edges)]
        }
        var db: JSON = .null
        if let d = s.database {
            db = ["graph_name": .string(d.graphName), "collections_without_indexes": .array(d.collectionsWithoutIndexes.map { .string($0) }),
                  "is_ready": .bool(d.ready)]
        }
        var extensions = JSONObject()
        for k in s.extensions.keys.sorted() { extensions[k] = s.extensions[k] }
        return ["sources": .object(sources), "database": db, "extensions": .object(extensions)]
    }

    // MARK: Keys

    static let keyCollections: Set<String> = ["ipaddress", "macaddress", "hostname"]

    static let edgeReservedKeys: Set<String> = ["_from", "_to", "_from_external_id", "_to_external_id", "active"]

    static func vertexKey(_ o: JSONObject, collection: String) -> String {
        renderString(o[keyField(collection)] ?? .null)
    }

    /// Fields CAR fills from `_key` when an import leaves them out: a hostname's `host_name`, an
    /// ipaddress's or macaddress's `name` (IBM's framework adds them only to the copy it
    /// validates, so CAR receives objects without them).
    static let fieldsFromKey: [String: String] = ["hostname": "host_name", "ipaddress": "name", "macaddress": "name"]

    static func derivingFields(_ o: JSONObject, collection: String) -> JSONObject {
        guard let field = fieldsFromKey[collection], o[field] == nil, let key = o["_key"] else { return o }
        var copy = o
        copy[field] = key
        return copy
    }

    /// The field a vertex of the collection is keyed by.
    static func keyField(_ collection: String) -> String { keyCollections.contains(collection) ? "_key" : "external_id" }

    /// The two end collections of an edge collection.
    func edgeEnds(_ collection: String, _ s: State) -> (String, String)? {
        if case .edge(let from, let to, _, _)? = CARCatalogue.core[collection]?.kind { return (from, to) }
        for ext in s.extensions.values {
            for e in ext["schema"]?["edges"]?.arrayValue ?? [] {
                if let a = e["end1"]?.stringValue, let b = e["end2"]?.stringValue, "\(a)_\(b)" == collection { return (a, b) }
            }
        }
        return nil
    }

    /// The id of a vertex in GraphQL answers: `<source>/<external id>`, `<source>/0/<ip>`, `<source>/<host>`.
    static func graphID(source: String, collection: String, key: String) -> String {
        collection == "ipaddress" ? "\(source)/0/\(key)" : "\(source)/\(key)"
    }
}
