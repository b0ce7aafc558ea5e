import CarDefinition
import MappingDSL

/// A request ready to send, before auth is applied.
struct PreparedRequest: Sendable {
    var method: HTTPMethod
    var url: String
    var query: [(name: String, value: String)] = []
    var headers: [(name: String, value: String)] = []
    var body: [UInt8]?
    var timeoutMs: Int64
    var followRedirects: Bool

    /// The URL with the query.
    var fullURL: String {
        guard !query.isEmpty else { return url }
        let q = query.map { URLs.encodeQuery($0.name) + "=" + URLs.encodeQuery($0.value) }.joined(separator: "&")
        return url + (url.contains("?") ? "&" : "?") + q
    }

    mutating func setHeader(_ name: String, _ value: String) {
        headers.removeAll { $0.name.lowercased() == name.lowercased() }
        headers.append((name, value))
    }
}

/// Requests from their declarations: templates rendered in a context, bodies encoded.
extension DatasourceClient {
    func render(_ t: Template, _ ctx: EvalContext, _ what: String) throws(RunFailure) -> String {
        do { return try t.render(ctx) } catch {
            throw RunFailure(.invalidParameter, "\(what): \(error.message)")
        }
    }

    func body(_ spec: BodySpec, _ ctx: EvalContext, merge: JSONTemplate?, _ what: String) throws(RunFailure) -> ([UInt8], String) {
        do {
            switch spec {
            case .json(let t):
                var value = try t.evaluate(ctx)
                if let merge { value = Self.deepMerge(value, try merge.evaluate(ctx)) }
                return (JSONWriter().bytes(value), "application/json")
            case .form(let fields):
                var pairs: [(String, String)] = []
                for (n, t) in fields {
                    // A field that is one expression: null leaves it out (no NextToken= on the
                    // first page, as botocore sends), a list repeats it (or numbers it: X.member.{n}).
                    if t.parts.count == 1, case .expression(let e) = t.parts[0] {
                        switch try e.evaluate(ctx) {
                        case .null: continue
                        case .array(let items):
                            for (i, item) in items.filter({ !$0.isNull }).enumerated() { pairs.append((n.replacing("{n}", with: String(i + 1)), renderString(item))) }
                            continue
                        case let value:
                            pairs.append((n, renderString(value)))
                            continue
                        }
                    }
                    pairs.append((n, try t.render(ctx)))
                }
                return (Array(URLs.formEncode(pairs).utf8), "application/x-www-form-urlencoded")
            case .raw(let t, let contentType):
                return (Array(try t.render(ctx).utf8), contentType)
            case .graphql(let q, let variables):
                var o = JSONObject()
                o["query"] = .string(try q.render(ctx))
                if let variables { o["variables"] = try variables.evaluate(ctx) }
                // updated_since's body merges into the GraphQL document ({"variables": {...}}).
                if let merge { return (JSONWriter().bytes(Self.deepMerge(.object(o), try merge.evaluate(ctx))), "application/json") }
                return (JSONWriter().bytes(.object(o)), "application/json")
            }
        } catch {
            throw RunFailure(.invalidParameter, "\(what) body: \(error.message)")
        }
    }

    static func deepMerge(_ a: JSON, _ b: JSON) -> JSON {
        guard case .object(var x) = a, case .object(let y) = b else { return b }
        for (k, v) in y { x[k] = x[k].map { deepMerge($0, v) } ?? v }
        return .object(x)
    }

    /// A request from a declared spec in a context.
    func prepare(_ spec: RequestSpec, _ ctx: EvalContext, what: String, extraQuery: [(name: String, values: [Template])] = [],
                 bodyMerge: JSONTemplate? = nil, path overridePath: Template? = nil, bodyOverride: BodySpec? = nil,
                 endpoint: Endpoint? = nil) throws(RunFailure) -> PreparedRequest
    {
        let baseURL = endpoint.flatMap { endpointBaseURLs[$0.name] } ?? self.baseURL
        let pathTemplate = overridePath ?? spec.path ?? .literal("")
        let path = try render(pathTemplate, ctx, "\(what) path")
        var request = PreparedRequest(
            method: spec.method, url: URLs.join(baseURL, path), timeoutMs: spec.timeoutMs ?? definition.datasource.requestTimeoutMs,
            followRedirects: spec.allowRedirects)
        request.query = defaultQuery
        for (n, ts) in spec.query + extraQuery {
            for t in ts {
                // A template that is one expression giving a list repeats the parameter
                // (`ids: "${ids}"` → ?ids=a&ids=b), as a YAML list does.
                if t.parts.count == 1, case .expression(let e) = t.parts[0] {
                    let value: JSON
                    do { value = try e.evaluate(ctx) } catch { throw RunFailure(.invalidParameter, "\(what) query \(n): \(error.message)") }
                    if case .array(let items) = value {
                        // `InstanceId.{n}`: AWS's numbered lists (InstanceId.1=a&InstanceId.2=b).
                        for (i, item) in items.filter({ !$0.isNull }).enumerated() {
                            request.query.append((n.replacing("{n}", with: String(i + 1)), renderString(item)))
                        }
                        continue
                    }
                    request.query.append((n, renderString(value)))
                    continue
                }
                request.query.append((n, try render(t, ctx, "\(what) query \(n)")))
            }
        }
        request.headers = defaultHeaders
        for (n, t) in spec.headers { request.setHeader(n, try render(t, ctx, "\(what) header \(n)")) }
        if let b = bodyOverride ?? spec.body {
            let (bytes, type) = try body(b, ctx, merge: bodyMerge, what)
            request.body = bytes
            if !request.headers.contains(where: { $0.name.lowercased() == "content-type" }) { request.setHeader("Content-Type", type) }
        }
        if !request.headers.contains(where: { $0.name.lowercased() == "accept" }) {
            request.setHeader("Accept", "application/json")
        }
        return request
    }
}
