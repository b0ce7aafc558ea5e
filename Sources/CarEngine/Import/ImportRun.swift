import CarDefinition
import Logging
import MappingDSL
import Locking

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
    /// This source's state kept between runs (the dependency index).
    public var stateDirectory = "/tmp/car-state/dry-run"
    /// Whether incremental imports use (and runs keep) the dependency index.
    public var dependencyIndex = true
    /// Signals that stop the run, and what the run is doing.
    public var interruption: RunInterruption?
    /// What the run has done so far, for progress lines.
    public var progress: RunProgress?
    /// Output is printed, not sent (a dry run, `car map`): log lines say so.
    public var printsOnly = false
    /// The datasource's CA file from the environment (used without tls.ca_bundle and ca_pem).
    public var environmentCA: EnvironmentCA?

    public init(source: String, reportTime: Int64) {
        self.source = source
        self.reportTime = reportTime
    }

    /// Says what the run is doing now (for progress lines and the interruption's line).
    func enter(_ phase: String) {
        interruption?.enter(phase)
        progress?.phase(phase)
    }

    /// The report key: the run's time.
    public var report: String { String(reportTime) }
}


/// Reads the datasource and sends what the mappings make of it: a full import, or the changes
/// since a save point.
public final class ImportRun: Sendable {
    public let definition: ConnectorDefinition
    let records: any RecordSource
    /// The datasource, when the records come from one (lookups by id, re-reads, change logs).
    let client: DatasourceClient?
    let sink: any ImportSink
    let logger: Logger
    let settings: RunSettings
    let cache: LookupCache
    let mapper: Mapper
    let validator: ImportValidator?
    /// The CAR service, for read-back in incremental imports (none in a dry run).
    let car: CARClient?
    /// Pages of endpoints read whole for keyed lookups that mappings also read (serialized):
    /// served again from here, so the datasource is read once.
    let preloaded = Locked<[String: [[UInt8]]]>([:])
    /// The dependency index this run writes (and, incremental, reads).
    let dependencies: DependencyTracking?

    public init(definition: ConnectorDefinition, records: any RecordSource, sink: any ImportSink, validator: ImportValidator?,
                logger: Logger, settings: RunSettings, car: CARClient? = nil, dependencies: DependencyTracking? = nil)
    {
        self.car = car
        self.dependencies = dependencies
        self.definition = definition
        self.records = records
        self.client = records.datasource
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
        let perParent = records.readsChildrenPerParent
        return definition.endpointOrder.filter { name in
            guard let e = definition.endpoints[name] else { return false }
            return (e.forEach == nil || !perParent) && (used.contains(name) || definition.endpointOrder.contains { child in
                definition.endpoints[child]?.forEach?.endpoint == name && used.contains(child)
            })
        }
    }

    func context(_ extra: [String: JSON] = [:]) -> EvalContext {
        records.evaluationContext(extra)
    }

    /// Maps a page of an endpoint with every mapping that reads it.
    func process(_ page: [JSON], endpoint: String, parent: JSON?, pipeline: Pipeline) async throws {
        await pipeline.read(endpoint, page.count)
        if page.isEmpty { return }
        var extra: [String: JSON] = [:]
        if let alias = definition.endpoints[endpoint]?.forEach?.variable { extra[alias] = parent ?? .null }
        let ctx = context(extra)
        // The ids each record looks up, for the dependency index.
        let tracing = parent == nil && dependencies?.indexable.contains(endpoint) == true
        var trails = [[LookupTrail.Entry]](repeating: [], count: tracing ? page.count : 0)
        for mapping in definition.vertices where mapping.from == endpoint {
            let r = try await mapper.mapTracing(page, with: mapping, context: ctx, cache: cache, client: client, tracing: tracing)
            for i in trails.indices { trails[i] += r.lookups[i] }
            try await pipeline.issues(r.issues)
            try await pipeline.vertices(r.objects, collection: mapping.collection)
        }
        for mapping in definition.edges where mapping.from == endpoint {
            let r = try await mapper.mapTracing(page, with: mapping, context: ctx, cache: cache, client: client, tracing: tracing)
            for i in trails.indices { trails[i] += r.lookups[i] }
            try await pipeline.issues(r.issues)
            try await pipeline.edges(r.objects, collection: mapping.collection)
        }
        if tracing, let writer = dependencies?.writer {
            for (i, record) in page.enumerated() {
                if let id = recordID(record, endpoint: endpoint) { writer.record(endpoint: endpoint, id: id, lookups: trails[i]) }
            }
        }
    }

    /// Reads and maps the `for_each` children of records (in full imports, and for the records an
    /// incremental import reads again: the children's mappings depend on their parent).
    func processChildren(of page: [JSON], endpoint: String, pipeline: Pipeline) async throws {
        guard records.readsChildrenPerParent, !page.isEmpty else { return }
        for child in definition.endpointOrder where definition.endpoints[child]?.forEach?.endpoint == endpoint {
            for record in page {
                try await records.forEachPage(of: child, parent: record) { childPage in
                    cache.add(childPage, endpoint: child, context: context())
                    try await process(childPage, endpoint: child, parent: record, pipeline: pipeline)
                    // A child's own children (resource groups → servers → databases).
                    try await processChildren(of: childPage, endpoint: child, pipeline: pipeline)
                }
            }
        }
    }

    /// Processes an endpoint's pages (and its `for_each` children per record) in order.
    func consume(_ endpoint: String, from channel: PageChannel, pipeline: Pipeline) async throws {
        settings.progress?.reading(endpoint)
        defer { settings.progress?.reading(nil) }
        while let page = try await channel.next() {
            cache.add(page, endpoint: endpoint, context: context())
            try await process(page, endpoint: endpoint, parent: nil, pipeline: pipeline)
            try await processChildren(of: page, endpoint: endpoint, pipeline: pipeline)
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
                        try await self.pages(of: endpoint) { page in try await channel.send(page) }
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

    /// An endpoint's pages: those kept from the keyed read, else from the records' source.
    func pages(of endpoint: String, _ body: ([JSON]) async throws -> Void) async throws {
        // Kept for the run: an incremental import may need them twice (its changes, and a
        // re-read of the endpoint when what its mappings look up changed).
        if let kept = preloaded.withLock({ $0[endpoint] }) {
            for bytes in kept { try await body(try JSONParser.parse(bytes).arrayValue ?? []) }
            return
        }
        try await records.forEachPage(of: endpoint, parent: nil, body)
    }

    /// Reads the endpoints looked up by key whole and indexes them (before any mapping).
    func loadKeyedEndpoints() async throws {
        for endpoint in definition.endpointOrder where definition.keyedLookupEndpoints.contains(endpoint) {
            settings.progress?.reading(endpoint)
            let mapped = mappedEndpoints.contains(endpoint)
            // Kept even when it has no page at all, so that the mapping does not read it again.
            if mapped { preloaded.withLock { $0[endpoint] = [] } }
            try await records.forEachPage(of: endpoint, parent: nil) { page in
                cache.addKeyed(page, endpoint: endpoint, context: context())
                if mapped { preloaded.withLock { $0[endpoint, default: []].append(JSONWriter().bytes(.array(page))) } }
            }
            settings.progress?.reading(nil)
        }
    }

    /// A full import's data: the bare envelope, every vertex, then every edge.
    public func full() async throws -> RunSummary {
        let started = WallClock.nowMs()
        let pipeline = Pipeline(definition: definition, sink: sink, validator: validator, logger: logger, settings: settings, mode: .full)
        try await pipeline.sendBare()
        settings.enter("reading the datasource and sending vertices (full import)")
        try await loadKeyedEndpoints()
        if client == nil {
            // Without a datasource, lookups are served only from the records there are: the
            // endpoints looked up but not mapped are read into the cache first.
            for endpoint in definition.endpointOrder where definition.lookupEndpoints.contains(endpoint) && !mappedEndpoints.contains(endpoint) {
                try await records.forEachPage(of: endpoint, parent: nil) { cache.add($0, endpoint: endpoint, context: context()) }
            }
        }
        try await readAll(pipeline: pipeline)
        try await pipeline.finishVertices()
        settings.enter("sending edges (full import)")
        try await pipeline.sendEdges()
        return await pipeline.finish(durationMs: WallClock.nowMs() - started)
    }
}
