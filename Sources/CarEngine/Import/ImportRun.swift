import Logging
import MappingDSL

/// Settings of one import.
public struct RunSettings: Sendable {
    public var source: String
    public var reportTime: Int64
    public var pageSize = 2000
    public var strict = false
    /// Edges held in memory before they are spilled to a file.
    public var edgeMemoryLimit = 50_000
    public var exportDirectory = "/tmp"
    public var keepExportDirectory = false
    /// Signals that stop the run, and what the run is doing.
    public var interruption: RunInterruption?

    public init(source: String, reportTime: Int64) {
        self.source = source
        self.reportTime = reportTime
    }

    /// The report key: the run's time.
    public var report: String { String(reportTime) }
}


/// Dedup, validation, batching and sending: the part of a run after mapping.
actor Pipeline {
    let definition: ConnectorDefinition
    let sink: any ImportSink
    let validator: ImportValidator?
    let logger: Logger
    let settings: RunSettings
    /// Identities sent, as 64-bit hashes (a tenth of the memory of the strings).
    var seen: [String: Set<UInt64>] = [:]
    var batch: [String: [JSON]] = [:]
    var batchOrder: [String] = []
    var batchCount = 0
    var edges: EdgeBuffer
    var summary: RunSummary
    var warnings = 0
    static let maxWarnings = 100

    init(definition: ConnectorDefinition, sink: any ImportSink, validator: ImportValidator?, logger: Logger, settings: RunSettings, mode: ImportKind) {
        self.definition = definition
        self.sink = sink
        self.validator = validator
        self.logger = logger
        self.settings = settings
        edges = EdgeBuffer(limit: settings.edgeMemoryLimit, directory: settings.exportDirectory)
        summary = RunSummary(mode: mode)
    }

    func counts(_ collection: String, _ change: (inout CollectionCounts) -> Void) {
        if summary.collections[collection] == nil { summary.collectionOrder.append(collection) }
        change(&summary.collections[collection, default: CollectionCounts()])
    }

    func warn(_ message: String) {
        warnings += 1
        if warnings <= Self.maxWarnings {
            logger.warning(message, label: "mapping")
        } else if warnings == Self.maxWarnings + 1 {
            logger.warning("more skipped objects; only the first \(Self.maxWarnings) are listed", label: "mapping")
        }
    }

    func read(_ endpoint: String, _ count: Int) { summary.recordsRead[endpoint, default: 0] += count }

    /// Logs counts after an endpoint was read.
    func progress(endpoint: String, collections: [String]) {
        var parts: [String] = []
        for c in collections {
            let n = summary.collections[c] ?? CollectionCounts()
            parts.append("\(c) \(n.mapped) mapped, \(n.skipped) skipped, \(n.sent) sent")
        }
        logger.info("read \(summary.recordsRead[endpoint] ?? 0) records of \(endpoint)" + (parts.isEmpty ? "" : ": " + parts.joined(separator: "; ")), label: "import")
    }

    func issues(_ list: [MappingIssue]) throws {
        for i in list {
            counts(i.collection) { $0.skipped += 1 }
            warn("skipped: \(i)")
            if settings.strict { throw RunFailure(.datasourceData, "skipped (--strict): \(i)") }
        }
    }

    /// Vertices: validated, de-duplicated, batched and sent.
    func vertices(_ objects: [JSONObject], collection: String) async throws {
        guard let info = definition.catalogue[collection] else { return }
        for object in objects {
            counts(collection) { $0.mapped += 1 }
            if let problems = validator?.problemsAsSent(object, collection: collection), let first = problems.first {
                counts(collection) { $0.skipped += 1 }
                let key = renderString(object[info.keyKind?.rawValue ?? "external_id"] ?? .null)
                let field = first.path.split(separator: "/").first.map { "field '\($0)': " } ?? ""
                warn("skipped invalid \(collection) \(key): \(field)\(first.message)")
                if settings.strict { throw RunFailure(.datasourceData, "invalid \(collection) \(key) (--strict): \(field)\(first.message)") }
                continue
            }
            record(vertex: object, collection: collection, info: info)
            if !seen[collection, default: []].insert(Hash64.of(Mapper.identity(of: object, in: info))).inserted {
                counts(collection) { $0.duplicates += 1 }
                continue
            }
            try await add(object, collection: collection)
        }
    }

    /// Edges: validated, de-duplicated, held until the vertices are in.
    func edges(_ objects: [JSONObject], collection: String) throws {
        guard let info = definition.catalogue[collection] else { return }
        for object in objects {
            counts(collection) { $0.mapped += 1 }
            if let problems = validator?.problems(object, collection: collection), let first = problems.first {
                counts(collection) { $0.skipped += 1 }
                warn("skipped invalid \(collection) edge: \(first.description)")
                if settings.strict { throw RunFailure(.datasourceData, "invalid \(collection) edge (--strict): \(first.description)") }
                continue
            }
            record(edge: object, collection: collection, info: info)
            if !seen[collection, default: []].insert(Hash64.of(Mapper.identity(of: object, in: info))).inserted {
                counts(collection) { $0.duplicates += 1 }
                continue
            }
            try edges.add(object, collection: collection)
        }
    }

    func add(_ object: JSONObject, collection: String) async throws {
        if batch[collection] == nil { batchOrder.append(collection) }
        batch[collection, default: []].append(.object(object))
        batchCount += 1
        counts(collection) { $0.sent += 1 }
        if batchCount >= settings.pageSize { try await flush() }
    }

    func envelopeHead() -> JSONObject {
        var head = JSONObject()
        head["source"] = ["_key": .string(settings.source), "name": .string(settings.source),
                          "description": .string("Imported by car with the \(definition.connector.name) connector \(definition.connector.version)")]
        head["report"] = ["_key": .string(settings.report), "timestamp": .int(settings.reportTime),
                          "type": .string(definition.connector.name), "description": .string(definition.connector.displayName ?? definition.connector.name)]
        return head
    }

    func flush() async throws {
        guard batchCount > 0 else { return }
        var envelope = envelopeHead()
        for c in batchOrder { envelope[c] = .array(batch[c] ?? []) }
        batch = [:]
        batchOrder = []
        batchCount = 0
        summary.envelopes += 1
        try await sink.send(.object(envelope))
    }

    /// The bare `{source, report}` envelope that starts a full import.
    func sendBare() async throws {
        summary.envelopes += 1
        try await sink.send(.object(envelopeHead()))
        try await sink.barrier()
    }

    /// Ends the vertex phase: the last envelope, then every job accepted.
    func finishVertices() async throws {
        try await flush()
        try await sink.barrier()
    }

    /// Sends the held edges and waits for them. Edges go from their serialized form straight
    /// into envelopes.
    func sendEdges() async throws {
        try await flush()
        defer {
            edges.close(keep: settings.keepExportDirectory)
            edges = EdgeBuffer(limit: settings.edgeMemoryLimit, directory: settings.exportDirectory)
        }
        var head: [UInt8] = []
        JSONWriter().write(.object(envelopeHead()), into: &head)
        var batch = RawBatch(head: head, pageSize: settings.pageSize)
        while true {
            let next = edges.takeRaw(1000)
            if next.isEmpty { break }
            for (collection, bytes) in next {
                counts(collection) { $0.sent += 1 }
                if let envelope = batch.add(bytes, to: collection) {
                    summary.envelopes += 1
                    try await sink.send(bytes: envelope)
                }
            }
        }
        if let envelope = batch.flush() {
            summary.envelopes += 1
            try await sink.send(bytes: envelope)
        }
        try await sink.barrier()
    }

    func deleted(_ collection: String, _ count: Int) { counts(collection) { $0.deleted += count } }
    func reread(_ endpoint: String) { summary.rereadEndpoints.append(endpoint) }
    func deactivated(_ collection: String, _ count: Int) { counts(collection) { $0.deactivated += count } }

    /// While set, what vertices and edges are sent is recorded for reconciliation.
    var recording = false
    var rederived = Rederived()

    func startRecording() { recording = true }

    func record(vertex object: JSONObject, collection: String, info: CollectionInfo) {
        guard recording, let keyKind = info.keyKind else { return }
        let key = renderString(object[keyKind.rawValue] ?? .null)
        rederived.anchors[collection, default: []].insert(key)
        if keyKind == .key, let id = object["external_id"] { rederived.keysByExternalID[collection, default: [:]][renderString(id)] = key }
    }

    func record(edge object: JSONObject, collection: String, info: CollectionInfo) {
        guard recording, case .edge(let fromColl, let toColl, let fromField, let toField) = info.kind else { return }
        func ref(_ field: String, _ coll: String) -> String {
            let v = renderString(object[field] ?? .null)
            return field.hasSuffix("_external_id") ? "\(coll)/\(v)" : v
        }
        rederived.edges[collection, default: []].insert(ref(fromField, fromColl) + "|" + ref(toField, toColl))
    }

    func finish(durationMs: Int64) -> RunSummary {
        summary.durationMs = durationMs
        return summary
    }
}

/// Reads the datasource and sends what the mappings make of it: a full import, or the changes
/// since a save point.
public final class ImportRun: Sendable {
    public let definition: ConnectorDefinition
    let client: DatasourceClient
    let sink: any ImportSink
    let logger: Logger
    let settings: RunSettings
    let cache: LookupCache
    let mapper: Mapper
    let validator: ImportValidator?
    /// The CAR service, for read-back in incremental imports (none in a dry run).
    let car: CARClient?

    public init(definition: ConnectorDefinition, client: DatasourceClient, sink: any ImportSink, validator: ImportValidator?,
                logger: Logger, settings: RunSettings, car: CARClient? = nil)
    {
        self.car = car
        self.definition = definition
        self.client = client
        self.sink = sink
        self.logger = logger
        self.settings = settings
        self.validator = validator
        cache = LookupCache(definition: definition)
        mapper = Mapper(definition: definition, source: settings.source, report: settings.report, timestamp: settings.reportTime)
    }

    /// Endpoints whose records mappings read, in definition order, without `for_each` children
    /// (they are read with their parents).
    var mappedEndpoints: [String] {
        let used = Set((definition.vertices + definition.edges).map(\.from))
        return definition.endpointOrder.filter { name in
            guard let e = definition.endpoints[name] else { return false }
            return e.forEach == nil && (used.contains(name) || definition.endpointOrder.contains { child in
                definition.endpoints[child]?.forEach?.endpoint == name && used.contains(child)
            })
        }
    }

    func context(_ extra: [String: JSON] = [:]) -> EvalContext {
        client.context(extra)
    }

    /// Maps a page of an endpoint with every mapping that reads it.
    func process(_ page: [JSON], endpoint: String, parent: JSON?, pipeline: Pipeline) async throws {
        await pipeline.read(endpoint, page.count)
        if page.isEmpty { return }
        var extra: [String: JSON] = [:]
        if let alias = definition.endpoints[endpoint]?.forEach?.variable { extra[alias] = parent ?? .null }
        let ctx = context(extra)
        for mapping in definition.vertices where mapping.from == endpoint {
            let (objects, issues) = try await mapper.map(page, with: mapping, context: ctx, cache: cache, client: client)
            try await pipeline.issues(issues)
            try await pipeline.vertices(objects, collection: mapping.collection)
        }
        for mapping in definition.edges where mapping.from == endpoint {
            let (objects, issues) = try await mapper.map(page, with: mapping, context: ctx, cache: cache, client: client)
            try await pipeline.issues(issues)
            try await pipeline.edges(objects, collection: mapping.collection)
        }
    }

    /// Processes an endpoint's pages (and its `for_each` children per record) in order.
    func consume(_ endpoint: String, from channel: PageChannel, pipeline: Pipeline) async throws {
        let children = definition.endpointOrder.filter { definition.endpoints[$0]?.forEach?.endpoint == endpoint }
        while let page = try await channel.next() {
            cache.add(page, endpoint: endpoint, context: context())
            try await process(page, endpoint: endpoint, parent: nil, pipeline: pipeline)
            for child in children {
                for record in page {
                    try await client.forEachPage(of: child, parent: record) { childPage in
                        cache.add(childPage, endpoint: child, context: context())
                        try await process(childPage, endpoint: child, parent: record, pipeline: pipeline)
                    }
                }
            }
        }
        await pipeline.progress(endpoint: endpoint, collections: (definition.vertices + definition.edges).filter { $0.from == endpoint }.map(\.collection))
    }

    /// Reads every mapped endpoint: first those that mappings look records up in (so lookups
    /// are served from them), then the others, processed in definition order. The next
    /// endpoint is read while one is processed (pages read ahead, at most two per endpoint):
    /// concurrency without holding every response in memory at once.
    func readAll(pipeline: Pipeline) async throws {
        let endpoints = mappedEndpoints
        let order = endpoints.filter { definition.lookupEndpoints.contains($0) } + endpoints.filter { !definition.lookupEndpoints.contains($0) }
        guard !order.isEmpty else { return }
        let channels = order.map { _ in PageChannel() }
        try await withThrowingTaskGroup(of: Void.self) { group in
            func start(_ i: Int) {
                guard i < order.count else { return }
                let endpoint = order[i]
                let channel = channels[i]
                group.addTask {
                    do {
                        try await self.client.forEachPage(of: endpoint) { page in try await channel.send(page) }
                        await channel.finish()
                    } catch {
                        await channel.finish(error)
                    }
                }
            }
            start(0)
            do {
                for i in order.indices {
                    start(i + 1)
                    try await consume(order[i], from: channels[i], pipeline: pipeline)
                }
            } catch {
                for c in channels { await c.cancel() }
                group.cancelAll()
                throw error
            }
            try await group.waitForAll()
        }
    }

    /// A full import's data: the bare envelope, every vertex, then every edge.
    public func full() async throws -> RunSummary {
        let started = WallClock.nowMs()
        let pipeline = Pipeline(definition: definition, sink: sink, validator: validator, logger: logger, settings: settings, mode: .full)
        try await pipeline.sendBare()
        settings.interruption?.enter("reading the datasource and sending vertices (full import)")
        try await readAll(pipeline: pipeline)
        try await pipeline.finishVertices()
        settings.interruption?.enter("sending edges (full import)")
        try await pipeline.sendEdges()
        return await pipeline.finish(durationMs: WallClock.nowMs() - started)
    }

    /// An incremental import's data, exact: changed records are read again by id and sent;
    /// endpoints whose mappings look up changed records are read again whole (their derived
    /// fields and edges may have changed although they did not); what re-derived records no
    /// longer produce is removed after reading back what CAR holds; deleted records (and changed
    /// ones no longer found) have their vertices deleted.
    public func incremental(last: String, new: String) async throws -> RunSummary {
        let started = WallClock.nowMs()
        guard let delta = definition.modelState?.delta else {
            throw RunFailure(.recoverable, "the definition has no model_state.delta: incremental imports are not possible")
        }
        let pipeline = Pipeline(definition: definition, sink: sink, validator: validator, logger: logger, settings: settings, mode: .incremental)
        await pipeline.startRecording()
        settings.interruption?.enter("reading changes and sending vertices (incremental import)")
        let changes: JSON
        if last == new {
            changes = .null
        } else {
            changes = try await client.changeLog(delta, values: ["last_state": .string(last), "new_state": .string(new)])
        }
        let endpoints = delta.endpoints ?? definition.endpointOrder.filter { name in
            definition.lookupEndpoints.contains(name) || (definition.vertices + definition.edges).contains { $0.from == name }
        }
        var updatedBy: [String: [JSON]] = [:]
        var deletedBy: [String: [JSON]] = [:]
        for endpoint in endpoints {
            var ctx = context(["endpoint": .string(endpoint), "last_state": .string(last), "new_state": .string(new)])
            ctx.document = changes
            updatedBy[endpoint] = try ids(delta.updated, ctx, "updated", endpoint)
            deletedBy[endpoint] = try delta.deleted.map { try ids($0, ctx, "deleted", endpoint) } ?? []
        }
        let changed = Set(endpoints.filter { !(updatedBy[$0] ?? []).isEmpty || !(deletedBy[$0] ?? []).isEmpty })
        // Endpoints derived from changed records through lookups: read again whole.
        let dependents = Set(mappedEndpoints.filter { !(definition.lookupsByEndpoint[$0] ?? []).isDisjoint(with: changed) })
        for endpoint in endpoints where !dependents.contains(endpoint) {
            let updated = updatedBy[endpoint] ?? []
            guard !updated.isEmpty else { continue }
            let records = try await client.fetch(endpoint, ids: updated)
            cache.add(records, endpoint: endpoint, context: context())
            if definition.deletions.missingOnReread {
                let found = Set(records.compactMap { recordID($0, endpoint: endpoint) })
                deletedBy[endpoint, default: []] += updated.filter { !found.contains(renderString($0)) }
            }
            try await process(records, endpoint: endpoint, parent: nil, pipeline: pipeline)
        }
        for endpoint in mappedEndpoints where dependents.contains(endpoint) {
            logger.info("reading \(endpoint) again: its mappings look up changed records", label: "import")
            await pipeline.reread(endpoint)
            try await client.forEachPage(of: endpoint) { page in
                cache.add(page, endpoint: endpoint, context: context())
                try await process(page, endpoint: endpoint, parent: nil, pipeline: pipeline)
            }
        }
        try await pipeline.finishVertices()
        settings.interruption?.enter("sending edges (incremental import)")
        try await pipeline.sendEdges()
        settings.interruption?.enter("removing what no longer holds (incremental import)")
        if let car, definition.deletions.reconcileEdges {
            try await reconcile(await pipeline.rederived, car: car, pipeline: pipeline)
        }
        if definition.deletions.deletedRecords {
            for endpoint in endpoints {
                let deleted = deletedBy[endpoint] ?? []
                if !deleted.isEmpty { try await delete(deleted, endpoint: endpoint, pipeline: pipeline) }
            }
        }
        return await pipeline.finish(durationMs: WallClock.nowMs() - started)
    }

    func recordID(_ record: JSON, endpoint: String) -> String? {
        var c = context()
        c.document = record
        guard let idExpr = definition.endpoints[endpoint]?.id else { return record["id"].map(renderString) }
        guard let v = try? idExpr.evaluate(c), !v.isNull else { return nil }
        return renderString(v)
    }

    func ids(_ expr: Expr, _ ctx: EvalContext, _ what: String, _ endpoint: String) throws -> [JSON] {
        let value: JSON
        do { value = try expr.evaluate(ctx) } catch {
            throw RunFailure(.datasourceData, "delta \(what) of endpoint \(endpoint): \(error.message)")
        }
        switch value {
        case .array(let a): return a.filter { !$0.isNull }
        case .null: return []
        default: throw RunFailure(.datasourceData, "delta \(what) of endpoint \(endpoint) gave \(value.typeName), not a list of ids")
        }
    }

    /// Deletes the vertices that records of an endpoint with these ids became. The key comes
    /// from a record holding only its id (`{pk: 5}`) where the mapping allows; otherwise the
    /// vertex is found in CAR by a field that does follow from the id (`external_id: str($.pk)`).
    func delete(_ ids: [JSON], endpoint: String, pipeline: Pipeline) async throws {
        for mapping in definition.vertices where mapping.from == endpoint && mapping.each == nil {
            guard let info = definition.catalogue[mapping.collection], let keyKind = info.keyKind else { continue }
            var keys: [String] = []
            var lookups: [String: [String]] = [:]
            var unknown = 0
            for id in ids {
                guard let stub = stubRecord(endpoint: endpoint, id: id) else {
                    unknown += 1
                    continue
                }
                var ctx = context()
                ctx.document = stub
                var derived: [String: String] = [:]
                for f in mapping.fields {
                    if let v = try? f.value.evaluate(ctx), !v.isNull, v.stringValue != nil || v.doubleValue != nil { derived[f.name] = renderString(v) }
                }
                if let key = derived[keyKind.rawValue] {
                    keys.append(key)
                } else if let externalID = derived["external_id"] {
                    lookups["external_id", default: []].append(externalID)
                } else {
                    unknown += 1
                }
            }
            if let externalIDs = lookups["external_id"] {
                if let car {
                    let found = try await car.vertices(mapping.collection, source: settings.source, externalIDs: externalIDs, keyField: keyKind.rawValue)
                    keys += found.map(\.key)
                } else {
                    logger.info("\(externalIDs.count) deleted \(endpoint) records: their \(mapping.collection) vertices are found by external id with CAR read-back, which a dry run does not do; their deletions are not shown", label: "import")
                }
            }
            if unknown > 0 {
                logger.warning("\(unknown) deleted \(endpoint) records: their \(mapping.collection) vertex cannot be found from the id; map external_id from the id to make it findable", label: "import")
            }
            guard !keys.isEmpty else { continue }
            try await sink.delete(collection: mapping.collection, ids: keys, byKey: keyKind == .key)
            await pipeline.deleted(mapping.collection, keys.count)
        }
    }

    /// `{pk: 5}` for an endpoint whose id is `$.pk`.
    func stubRecord(endpoint: String, id: JSON) -> JSON? {
        let text = definition.endpoints[endpoint]?.id?.span.text ?? "$.id"
        guard let path = try? JSONPath.parse(text), path.root == .document, path.isSingular, !path.segments.isEmpty else { return nil }
        var value = id
        for segment in path.segments.reversed() {
            guard case .child(let selectors) = segment, case .name(let name)? = selectors.first else { return nil }
            value = [name: value]
        }
        return value
    }
}

/// FNV-1a, 64 bits: a stable hash for de-duplication sets.
enum Hash64 {
    static func of(_ s: String) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in s.utf8 {
            h ^= UInt64(b)
            h = h &* 0x0000_0100_0000_01B3
        }
        return h
    }
}

/// Serialized objects gathered into envelopes without parsing them again.
struct RawBatch {
    let head: [UInt8]
    let pageSize: Int
    var order: [String] = []
    var lists: [String: [UInt8]] = [:]
    var count = 0

    init(head: [UInt8], pageSize: Int) {
        var h = head
        h.removeLast()  // the envelope head's closing brace
        self.head = h
        self.pageSize = max(1, pageSize)
    }

    /// Adds an object; returns a full envelope when the page is complete.
    mutating func add(_ object: ArraySlice<UInt8>, to collection: String) -> [UInt8]? {
        if lists[collection] == nil {
            order.append(collection)
            lists[collection] = []
        } else {
            lists[collection]?.append(UInt8(ascii: ","))
        }
        lists[collection]?.append(contentsOf: object)
        count += 1
        return count >= pageSize ? flush() : nil
    }

    /// The envelope being gathered, if it has anything.
    mutating func flush() -> [UInt8]? {
        guard count > 0 else { return nil }
        var envelope = head
        for c in order {
            guard let list = lists[c] else { continue }
            envelope += Array(",".utf8)
            JSONWriter.writeString(c, into: &envelope)
            envelope += Array(":[".utf8)
            envelope += list
            envelope.append(UInt8(ascii: "]"))
        }
        envelope.append(UInt8(ascii: "}"))
        order = []
        lists = [:]
        count = 0
        return envelope
    }
}
