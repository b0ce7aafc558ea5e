import CarDefinition
import MappingDSL

/// The page state of one endpoint read: what the next request adds, and when to stop.
struct Pager {
    struct State {
        var variables: [String: JSON] = [:]
        var query: [(name: String, value: String)] = []
        /// A URL to request instead of the endpoint's (next_url, link_header).
        var url: String?
    }

    /// A hard cap, whatever the definition says: no endpoint is read forever.
    static let pageCap = 10_000_000

    let endpoint: Endpoint
    let pagination: Pagination
    let runStart: Int64
    var page = 1
    var offset = 0
    var cursor: JSON = .null
    var nextURL: String?
    var seen: Set<String> = []
    var lastPage: [UInt8]?
    /// The origin of the first page's URL: next links stay on it unless `allow_other_hosts`.
    var origin: String?
    var pagesRead = 0
    var recordsRead = 0
    var done = false
    var windowStart: Int64 = 0
    var windowStarted = false
    let client: DatasourceClient
    /// The page size (`size` or `limit`), from the definition or its template.
    let pageSize: Int?

    init(endpoint: Endpoint, client: DatasourceClient) throws(RunFailure) {
        self.endpoint = endpoint
        self.pagination = endpoint.pagination
        self.client = client
        var size: Int?
        switch endpoint.pagination.kind {
        case .page(_, _, let s, _): size = s
        case .offset(_, _, let limit): size = limit
        default: size = nil
        }
        if let template = endpoint.pagination.sizeTemplate {
            let text: String
            do { text = try template.render(client.context()) } catch {
                throw RunFailure(.invalidParameter, "endpoint \(endpoint.name): the page size: \(error.message)")
            }
            guard let n = Int(text.trimming(" ")), (1...100_000).contains(n) else {
                throw RunFailure(.invalidParameter, "endpoint \(endpoint.name): the page size must be a whole number from 1 to 100000, not '\(text)'")
            }
            size = n
        }
        pageSize = size
        if case .int(let i)? = client.baseValues["run_start_ms"] { runStart = i } else { runStart = WallClock.nowMs() }
        if case .page(_, let start, _, _) = pagination.kind { page = start }
    }

    var name: String { endpoint.name }

    mutating func next() throws -> State? {
        if done { return nil }
        if let max = pagination.maxPages, pagesRead >= max {
            client.logger.info("endpoint \(name): stopped after max_pages (\(max)) pages", label: "datasource")
            return nil
        }
        if pagesRead >= Self.pageCap { throw RunFailure(.datasource, "endpoint \(name): more than \(Self.pageCap) pages; stopping") }
        var state = State()
        switch pagination.kind {
        case .none, .linkHeader:
            state.url = nextURL
        case .page(let param, _, _, let sizeParam):
            state.variables["page"] = .int(Int64(page))
            if let param { state.query.append((param, String(page))) }
            if let size = pageSize, let sizeParam { state.query.append((sizeParam, String(size))) }
        case .offset(let offsetParam, let limitParam, _):
            let limit = pageSize ?? 100
            state.variables["offset"] = .int(Int64(offset))
            state.variables["limit"] = .int(Int64(limit))
            state.query.append((offsetParam, String(offset)))
            state.query.append((limitParam, String(limit)))
        case .cursor(_, let param):
            state.variables["cursor"] = cursor
            if let param, !cursor.isNull { state.query.append((param, renderString(cursor))) }
        case .nextURL:
            state.url = nextURL
        case .timeWindow(let startExpr, let step):
            if !windowStarted {
                windowStarted = true
                let value: JSON
                do { value = try startExpr.evaluate(client.context()) } catch {
                    throw RunFailure(.invalidParameter, "endpoint \(name): time window start: \(error.message)")
                }
                switch value {
                case .int(let i): windowStart = i
                case .double(let d): windowStart = Int64(d)
                default: windowStart = runStart - step
                }
            }
            guard windowStart < runStart else { return nil }
            let end = min(windowStart + step, runStart)
            state.variables["window_start"] = .int(windowStart)
            state.variables["window_end"] = .int(end)
            state.variables["window_start_iso"] = .string(ISO8601.format(windowStart))
            state.variables["window_end_iso"] = .string(ISO8601.format(end))
        }
        return state
    }

    mutating func advance(count: Int, exchange: Exchange, context: EvalContext) throws {
        pagesRead += 1
        recordsRead += count
        if origin == nil { origin = URLs.origin(exchange.url) }
        if case .none = pagination.kind {
            done = true
            return
        }
        if case .timeWindow(_, let step) = pagination.kind {
            windowStart = min(windowStart + step, runStart)
            return
        }
        // An identical page means the datasource ignores the paging: stop before looping forever.
        if let last = lastPage, last == exchange.response.body, count > 0 {
            throw RunFailure(.datasourceData, "endpoint \(name): the datasource returned the same page twice (page \(pagesRead)); its pagination does not advance")
        }
        lastPage = exchange.response.body
        if count == 0 {
            done = true
            return
        }
        if let hasMore = pagination.hasMore {
            let v = try evaluate(hasMore, context, "has_more")
            if v == .bool(false) || v.isNull {
                done = true
                return
            }
        }
        if let total = pagination.total, let t = try evaluate(total, context, "total").doubleValue, Double(recordsRead) >= t {
            done = true
            return
        }
        switch pagination.kind {
        case .page:
            if let size = pageSize, pagination.stopOnShortPage ?? true, count < size { done = true }
            page += 1
        case .offset:
            if let limit = pageSize, pagination.stopOnShortPage ?? true, count < limit { done = true }
            offset += count
        case .cursor(let next, _):
            let value = try evaluate(next, context, "next")
            if value.isNull || value == .string("") {
                done = true
                return
            }
            let key = renderString(value)
            if !seen.insert(key).inserted {
                throw RunFailure(.datasourceData, "endpoint \(name): the datasource repeated the cursor '\(client.redactor.redact(key))'; its pagination does not advance")
            }
            cursor = value
        case .nextURL(let next):
            let value = try evaluate(next, context, "next")
            guard case .string(let s) = value, !s.isEmpty else {
                done = true
                return
            }
            try setNext(URLs.resolve(s, against: exchange.url))
        case .linkHeader(let rel):
            guard let header = exchange.response.headerValues("Link").first(where: { HeaderValues.link($0, rel: rel) != nil }),
                let link = HeaderValues.link(header, rel: rel)
            else {
                done = true
                return
            }
            try setNext(URLs.resolve(link, against: exchange.url))
        case .none, .timeWindow:
            break
        }
    }

    mutating func setNext(_ url: String) throws {
        if !pagination.allowOtherHosts, let origin, URLs.origin(url) != origin {
            throw RunFailure(.datasourceData, "endpoint \(name): the next page link \(client.redactor.redact(url)) leaves \(origin), where the pages began; car sends the datasource's credentials only there (pagination.allow_other_hosts: true follows it)")
        }
        if !seen.insert(url).inserted {
            throw RunFailure(.datasourceData, "endpoint \(name): the datasource repeated the next page URL \(client.redactor.redact(url)); its pagination does not advance")
        }
        nextURL = url
    }

    func evaluate(_ expr: Expr, _ context: EvalContext, _ what: String) throws -> JSON {
        do { return try expr.evaluate(context) } catch {
            throw RunFailure(.datasourceData, "endpoint \(name): pagination \(what): \(error.message)")
        }
    }
}
