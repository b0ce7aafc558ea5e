import CarDefinition
import Logging
import MappingDSL
import Locking

/// Request counts, for tests, logs and benchmarks.
public struct DatasourceStats: Sendable {
    public var requests = 0
    public var retries = 0
    public var bytes = 0
    public var maxInFlight = 0
}

/// Talks to the datasource as a definition describes it: auth, requests, pagination, fetches
/// by id, hyperlinks, error mappings and retries, within the concurrency and rate limits.
public final class DatasourceClient: Sendable {
    public let definition: ConnectorDefinition
    public let redactor: Redactor
    public let logger: Logger
    let transport: any HTTPTransport
    let baseValues: [String: JSON]
    let limiter: AsyncLimiter
    let rate: RateLimiter?
    let auth: AuthSession
    let baseURL: String
    /// Endpoints with their own base URL or auth.
    let endpointBaseURLs: [String: String]
    let endpointAuth: [String: AuthSession]
    let defaultHeaders: [(name: String, value: String)]
    let defaultQuery: [(name: String, value: String)]
    let tls: TLSOptions
    let counters = Locked(DatasourceStats())
    /// Whether this run reads only changes (adds each endpoint's updated_since).
    public let incremental: Bool

    /// - Parameters:
    ///   - values: parameter values and run values (`source`, `last_state`, `run_start_ms`, ...).
    public init(definition: ConnectorDefinition, values: [String: JSON], transport: any HTTPTransport, redactor: Redactor,
                logger: Logger, incremental: Bool = false, environmentCA: EnvironmentCA? = nil,
                clock: @escaping @Sendable () -> Int64 = WallClock.nowMs) throws(RunFailure)
    {
        self.definition = definition
        self.baseValues = values
        self.transport = transport
        self.redactor = redactor
        self.logger = logger
        self.incremental = incremental
        let ds = definition.datasource
        limiter = AsyncLimiter(permits: ds.concurrency)
        rate = ds.requestsPerSecond.map { RateLimiter(requestsPerSecond: $0, burst: ds.burst) }
        let ctx = EvalContext(variables: definition.variables.values(values), nowMs: values["run_start_ms"].flatMap { if case .int(let i) = $0 { i } else { nil } } ?? 0)
        func render(_ t: Template?, _ what: String) throws(RunFailure) -> String? {
            guard let t else { return nil }
            do { return try t.render(ctx) } catch {
                throw RunFailure(.invalidParameter, "datasource \(what): \(error.message)")
            }
        }
        baseURL = try render(ds.baseURL, "base_url") ?? ""
        guard URLs.isAbsolute(baseURL) else {
            throw RunFailure(.invalidParameter, "the datasource base URL '\(redactor.redact(baseURL))' is not an http:// or https:// URL")
        }
        var headers: [(name: String, value: String)] = [("User-Agent", "car/\(CarEngineVersion.current)")]
        for (n, t) in ds.headers { headers.append((n, try render(t, "header \(n)") ?? "")) }
        defaultHeaders = headers
        var query: [(name: String, value: String)] = []
        for (n, ts) in ds.query { for t in ts { query.append((n, try render(t, "query \(n)") ?? "")) } }
        defaultQuery = query
        tls = try Self.tlsOptions(ds.tls, baseURL: baseURL, environmentCA: environmentCA, logger: logger) { t, what throws(RunFailure) in
            try render(t, what).flatMap { $0.isEmpty ? nil : $0 }
        }
        auth = try AuthSession(spec: ds.auth, context: ctx, redactor: redactor, clock: clock)
        var bases: [String: String] = [:]
        var auths: [String: AuthSession] = [:]
        for (name, endpoint) in definition.endpoints {
            if let t = endpoint.baseURL {
                let url = try render(t, "base_url of endpoint \(name)") ?? ""
                guard URLs.isAbsolute(url) else {
                    throw RunFailure(.invalidParameter, "the base URL '\(redactor.redact(url))' of endpoint \(name) is not an http:// or https:// URL")
                }
                bases[name] = url
            }
            if let spec = endpoint.auth { auths[name] = try AuthSession(spec: spec, context: ctx, redactor: redactor, clock: clock) }
        }
        endpointBaseURLs = bases
        endpointAuth = auths
        if ds.tls.insecureSkipVerify {
            logger.warning("TLS certificate verification is off for the datasource (insecure_skip_verify): connections can be intercepted")
        }
    }

    /// Requests made so far.
    public var stats: DatasourceStats {
        get async {
            var s = counters.withLock { $0 }
            s.maxInFlight = await limiter.maxInFlight
            return s
        }
    }

    func context(_ extra: [String: JSON] = [:], document: JSON = .null) -> EvalContext {
        var named = baseValues
        for (k, v) in extra { named[k] = v }
        let now: Int64
        if case .int(let i)? = baseValues["run_start_ms"] { now = i } else { now = 0 }
        return EvalContext(document: document, variables: definition.variables.values(named), nowMs: now)
    }

    /// Reads every page of an endpoint, calling `body` with each page's records. `parent` is the
    /// parent record of a `for_each` endpoint.
    public func forEachPage(of name: String, parent: JSON? = nil, _ body: ([JSON]) async throws -> Void) async throws {
        guard let endpoint = definition.endpoints[name] else { throw RunFailure(.general, "unknown endpoint '\(name)'") }
        if let source = endpoint.idsFrom {
            // The ids another endpoint lists, a page at a time, fetched by id; when that endpoint
            // is read per record of a parent, per parent record (its alias reaches the by-id request).
            func fetchListed(_ sourceParent: JSON?, _ extra: [String: JSON]) async throws {
                try await forEachPage(of: source, parent: sourceParent) { ids in
                    let list = ids.filter { !$0.isNull }
                    guard list.allSatisfy({ $0.stringValue != nil || $0.doubleValue != nil }) else {
                        throw RunFailure(.datasourceData, "endpoint \(source) lists the ids of \(name): its records must be ids (text or numbers), found \(list.first(where: { $0.stringValue == nil && $0.doubleValue == nil })?.typeName ?? "")")
                    }
                    if !list.isEmpty { try await body(try await fetch(name, ids: list, extra: extra)) }
                }
            }
            if let fe = definition.endpoints[source]?.forEach {
                try await forEachPage(of: fe.endpoint) { parents in
                    for p in parents { try await fetchListed(p, [fe.variable: p]) }
                }
            } else {
                try await fetchListed(parent, [:])
            }
            return
        }
        var pager = try Pager(endpoint: endpoint, client: self)
        var extra: [String: JSON] = [:]
        if let alias = endpoint.forEach?.variable { extra[alias] = parent ?? .null }
        var pages = 0
        let stream = streamablePath(endpoint)
        while let state = try pager.next() {
            var vars = extra
            for (k, v) in state.variables { vars[k] = v }
            let ctx = context(vars)
            let what = "endpoint \(name)" + (pages > 0 ? ", page \(pages + 1)" : "")
            var prepared: PreparedRequest
            if let url = state.url {
                prepared = try prepare(endpoint.request, ctx, what: what, endpoint: endpoint)
                prepared.url = url
                prepared.query = []
                prepared.method = .get
                prepared.body = nil
            } else {
                prepared = try prepare(
                    endpoint.request, ctx, what: what, extraQuery: incremental ? endpoint.updatedSinceQuery : [],
                    bodyMerge: incremental ? endpoint.updatedSinceBody : nil, endpoint: endpoint)
                prepared.query += state.query
            }
            if let path = stream, path.isEmpty, case .none = endpoint.pagination.kind {
                // A whole list in one response: records are parsed and handed on while it arrives.
                let url = prepared.fullURL
                let request = prepared
                let exchange: Exchange
                do {
                    exchange = try await withoutActuallyEscaping(body) { handOn in
                        try await execute(request, endpoint: endpoint, what: what, format: endpoint.format) { bodyStream in
                            try await self.consumeArray(bodyStream, endpoint: endpoint, what: what, url: url, method: request.method, handOn)
                        }
                    }
                } catch is IgnoredResponse {
                    break
                }
                pages += 1
                if exchange.ignored && !(200..<300).contains(exchange.response.status) { break }
                if exchange.streamed == Self.nothingArrived || exchange.ignored {
                    guard exchange.ignored || ignoresEmptyBody(exchange, endpoint: endpoint, what: what) else {
                        throw notRecords("an empty body", endpoint: endpoint, exchange: exchange, what: what)
                    }
                    try pager.advance(count: 0, exchange: exchange, context: context(vars))
                    continue
                }
                try pager.advance(count: exchange.streamed, exchange: exchange, context: context(vars))
                continue
            }
            if let path = stream {
                // Large lists: the records are parsed and handed on a chunk at a time.
                let exchange = try await execute(prepared, endpoint: endpoint, what: what, format: endpoint.format, parseBody: false)
                pages += 1
                if exchange.ignored && !(200..<300).contains(exchange.response.status) { break }
                let count: Int
                do {
                    count = try await streamRecords(exchange, path: path, endpoint: endpoint, what: what, chunk: Self.chunkSize, body)
                } catch is IgnoredResponse {
                    break
                }
                try pager.advance(count: count, exchange: exchange, context: context(vars))
                continue
            }
            let exchange = try await execute(prepared, endpoint: endpoint, what: what, format: endpoint.format)
            pages += 1
            if exchange.ignored && !(200..<300).contains(exchange.response.status) { break }
            // An ignored empty 2xx (a 204, say) is a page without records: the next window or page follows.
            let list = exchange.ignored ? [] : try records(exchange, endpoint: endpoint, extra: vars, what: what)
            try await body(list)
            try pager.advance(count: list.count, exchange: exchange, context: context(vars, document: exchange.body))
        }
    }

    /// The records of an endpoint with these ids (batched, chunked by count and URL length);
    /// ids without a record are left out. An empty list sends no request.
    public func fetch(_ name: String, ids: [JSON], extra: [String: JSON] = [:]) async throws -> [JSON] {
        guard let endpoint = definition.endpoints[name] else { throw RunFailure(.general, "unknown endpoint '\(name)'") }
        guard let by = endpoint.byIDs else {
            throw RunFailure(.general, "endpoint '\(name)' has no by_ids: its records cannot be fetched by id")
        }
        var seen: Set<String> = []
        let unique = ids.filter { !$0.isNull && seen.insert(renderString($0)).inserted }
        guard !unique.isEmpty else { return [] }
        var chunks: [[JSON]] = []
        var i = 0
        while i < unique.count {
            chunks.append(Array(unique[i..<min(i + by.maxIDs, unique.count)]))
            i += by.maxIDs
        }
        // Split chunks whose URL would be too long.
        var ready: [(PreparedRequest, Int)] = []
        while let chunk = chunks.popLast() {
            let ctx = context(extra.merging(["ids": .array(chunk)]) { _, b in b })
            var spec = endpoint.request
            spec.query = []
            var prepared = try prepare(spec, ctx, what: "endpoint \(name) by id", extraQuery: by.query, path: by.path ?? endpoint.request.path,
                                       bodyOverride: by.body, endpoint: endpoint)
            if by.body != nil && endpoint.request.method == .get { prepared.method = .post }
            if prepared.fullURL.utf8.count > by.maxURLLength && chunk.count > 1 {
                chunks.append(Array(chunk[(chunk.count / 2)...]))
                chunks.append(Array(chunk[..<(chunk.count / 2)]))
                continue
            }
            ready.append((prepared, chunk.count))
        }
        ready.reverse()
        return try await withThrowingTaskGroup(of: (Int, [JSON]).self) { group in
            for (n, (prepared, count)) in ready.enumerated() {
                group.addTask {
                    let exchange = try await self.execute(prepared, endpoint: endpoint, what: "endpoint \(name) by id (\(count) ids)", format: endpoint.format)
                    if exchange.ignored { return (n, []) }
                    return (n, try self.records(exchange, endpoint: endpoint, extra: [:], what: "endpoint \(name) by id"))
                }
            }
            var parts: [(Int, [JSON])] = []
            for try await part in group { parts.append(part) }
            return parts.sorted { $0.0 < $1.0 }.flatMap(\.1)
        }
    }

    /// The record at a hyperlink (a GET with the datasource's auth).
    public func follow(_ url: String) async throws -> JSON {
        let target = URLs.isAbsolute(url) ? url : URLs.join(baseURL, url)
        var prepared = PreparedRequest(method: .get, url: target, timeoutMs: definition.datasource.requestTimeoutMs, followRedirects: false)
        prepared.headers = defaultHeaders
        prepared.setHeader("Accept", "application/json")
        let exchange = try await execute(prepared, endpoint: nil, what: "follow")
        return exchange.body
    }

    /// Sends a declared request (model state, change log) and returns its parsed body.
    public func send(_ spec: RequestSpec, values: [String: JSON] = [:], what: String) async throws -> JSON {
        let prepared = try prepare(spec, context(values), what: what)
        return try await execute(prepared, endpoint: nil, what: what).body
    }

    /// The connection test: the declared check, or the first page of the first endpoint.
    public func connectionTest() async throws {
        switch definition.datasource.connectionTest {
        case .endpoint(let name)?:
            try await firstPage(of: name)
        case .request(let spec, let statuses)?:
            let prepared = try prepare(spec, context(), what: "connection test")
            _ = try await execute(prepared, endpoint: nil, what: "connection test", expectStatus: statuses)
        case nil:
            guard let first = definition.endpointOrder.first(where: { definition.endpoints[$0]?.forEach == nil }) else {
                throw RunFailure(.general, "the definition has no endpoint to test the connection with")
            }
            try await firstPage(of: first)
        }
    }

    private func firstPage(of name: String) async throws {
        guard let endpoint = definition.endpoints[name] else { throw RunFailure(.general, "unknown endpoint '\(name)'") }
        var pager = try Pager(endpoint: endpoint, client: self)
        guard let state = try pager.next() else { return }
        var prepared = try prepare(endpoint.request, context(state.variables), what: "connection test (endpoint \(name))", endpoint: endpoint)
        prepared.query += state.query
        _ = try await execute(prepared, endpoint: endpoint, what: "connection test (endpoint \(name))", format: endpoint.format)
    }
}
