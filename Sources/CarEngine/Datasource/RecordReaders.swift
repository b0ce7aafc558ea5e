import CarDefinition
import MappingDSL

/// What a response held where records belong, in words, for failure messages.
enum RecordShape {
    /// Whether the bytes are only JSON white space (an empty body).
    static func isBlank<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> Bool {
        bytes.allSatisfy { $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }
    }

    /// "an object with keys detail", "a string", "null".
    static func describe(_ value: JSON) -> String {
        switch value {
        case .object(let o):
            let keys = o.map(\.key)
            if keys.isEmpty { return "an empty object" }
            let shown = keys.prefix(8).joined(separator: ", ")
            return "an object with key\(keys.count == 1 ? "" : "s") \(shown)\(keys.count > 8 ? ", …" : "")"
        case .array: return "a list"
        case .string: return "a string"
        case .int, .double: return "a number"
        case .bool(let b): return b ? "true" : "false"
        case .null: return "null"
        }
    }
}

/// Where a response's records are, and what counts as records: a list (or, for a `single`
/// endpoint, one object). Anything else — an error object under 200, an empty body, a scalar —
/// fails the run with 55: a full import must never take a failed answer for an empty collection.
extension DatasourceClient {
    /// The place records are read from, as the definition says it (`$` by default).
    static func recordsPlace(_ endpoint: Endpoint) -> String { endpoint.records?.span.text ?? "$" }

    /// The failure for an answer that holds no records where they belong.
    func notRecords(_ found: String, endpoint: Endpoint, exchange: Exchange, what: String) -> RunFailure {
        let expected = endpoint.single ? "one record (an object)" : "a list of records"
        var text = "\(exchange.method) \(exchange.url) (\(what)): status \(exchange.response.status): expected \(expected) at `\(Self.recordsPlace(endpoint))`, found \(found)"
        let excerpt = Self.excerpt(exchange.response.body)
        if !excerpt.isEmpty && found != "an empty body" { text += ": " + excerpt }
        return RunFailure(.datasourceData, redactor.redact(text))
    }

    /// Whether an error mapping says to ignore this empty answer (`{status: 204}, then: ignore`):
    /// then it is a page without records. Without one, an empty body is a failure.
    func ignoresEmptyBody(_ exchange: Exchange, endpoint: Endpoint, what: String) -> Bool {
        let rules = endpoint.errors + definition.datasource.errors
        guard case .ignore = ErrorPolicy.decide(.unparseable(exchange.response), rules: rules, defaults: definition.datasource.retries, context: context()) else {
            return false
        }
        logger.info("\(exchange.method) \(redactor.redact(exchange.url)) (\(what)): status \(exchange.response.status) with an empty body: no records (error mapping: ignore)",
                    label: "datasource")
        return true
    }

    /// The records of a parsed response.
    func records(_ exchange: Exchange, endpoint: Endpoint, extra: [String: JSON], what: String) throws -> [JSON] {
        let body = exchange.body
        if RecordShape.isBlank(exchange.response.body) {
            if ignoresEmptyBody(exchange, endpoint: endpoint, what: what) { return [] }
            throw notRecords("an empty body", endpoint: endpoint, exchange: exchange, what: what)
        }
        try checkGraphQLErrors(body, endpoint: endpoint, exchange: exchange, what: what)
        var value = body
        if let recordsExpr = endpoint.records {
            do {
                value = try recordsExpr.evaluate(context(extra, document: body))
            } catch {
                throw RunFailure(.datasourceData, redactor.redact("\(exchange.method) \(exchange.url) (\(what)): records: \(error.message)"))
            }
        }
        switch value {
        case .array(let a) where !endpoint.single: return a
        // XML has no lists: a list of one element reads as that element.
        case .object where endpoint.single || endpoint.format == .xml: return [value]
        default: throw notRecords(RecordShape.describe(value), endpoint: endpoint, exchange: exchange, what: what)
        }
    }

    /// The change log between two save points: an empty body, or one that does not meet the
    /// delta's `expect`, fails the run (no changes would be read, and the model state would
    /// move past them).
    public func changeLog(_ delta: ModelStateSpec.Delta, values: [String: JSON]) async throws -> JSON {
        let what = "delta"
        let exchange = try await execute(try prepare(delta.request, context(values), what: what), endpoint: nil, what: what)
        if exchange.ignored { return exchange.body }
        let head = "\(exchange.method) \(exchange.url) (\(what)): status \(exchange.response.status)"
        if RecordShape.isBlank(exchange.response.body) {
            throw RunFailure(.datasourceData, redactor.redact(head + ": the change log answered an empty body"))
        }
        if let expect = delta.expect {
            var ctx = context(values)
            ctx.document = exchange.body
            let met: JSON
            do { met = try expect.evaluate(ctx) } catch {
                throw RunFailure(.datasourceData, redactor.redact(head + ": delta.expect: \(error.message)"))
            }
            guard met == .bool(true) else {
                throw RunFailure(.datasourceData, redactor.redact(
                    head + ": the change log's answer does not meet `\(expect.span.text)`: found \(RecordShape.describe(exchange.body)): \(Self.excerpt(exchange.response.body))"))
            }
        }
        return exchange.body
    }

    /// A GraphQL answer with `errors` failed, whatever `data` holds.
    func checkGraphQLErrors(_ body: JSON, endpoint: Endpoint, exchange: Exchange, what: String) throws {
        guard case .graphql? = endpoint.request.body, case .array(let errors)? = body["errors"], let first = errors.first else { return }
        let message = first["message"].map(renderString) ?? JSONWriter().string(first)
        throw RunFailure(.datasourceData, redactor.redact(
            "\(exchange.method) \(exchange.url) (\(what)): status \(exchange.response.status): the GraphQL answer has \(errors.count) error\(errors.count == 1 ? "" : "s"): \(message)"))
    }

    /// A body that is not JSON: the error mappings decide, as for any other response.
    func unparseableBody(_ response: HTTPResponse, url: String, method: HTTPMethod, endpoint: Endpoint, what: String, reason: String? = nil) -> Error {
        let outcome = ErrorPolicy.Outcome.unparseable(response)
        let request = PreparedRequest(method: method, url: url, timeoutMs: 0, followRedirects: false)
        let detail = describe(outcome, request: request, url: url, what: what) + (reason.map { " (\(redactor.redact($0)))" } ?? "")
        switch ErrorPolicy.decide(outcome, rules: endpoint.errors + definition.datasource.errors, defaults: definition.datasource.retries, context: context()) {
        case .ignore: return IgnoredResponse()
        case .fail(let code, let message): return RunFailure(FailureClass(code: Int32(code)), message.map { "\($0): \(detail)" } ?? detail)
        case .retry(_, let code): return RunFailure(FailureClass(code: Int32(code)), detail)
        }
    }

    /// Reads a top-level JSON array from a stream, handing on records a chunk at a time; a body
    /// that is not an array is parsed whole at the end, for the failure to say what it is.
    func consumeArray(_ stream: BodyStream, endpoint: Endpoint, what: String, url: String, method: HTTPMethod,
                      _ body: ([JSON]) async throws -> Void) async throws -> Int
    {
        var splitter = ArrayElementSplitter()
        var whole: [UInt8] = []
        var keepWhole = true
        var head: [UInt8] = []
        var chunk: [JSON] = []
        var count = 0
        var scratch = JSONParseScratch()
        let exchange = Exchange(response: HTTPResponse(status: 200, body: head, url: url), body: .null, ignored: false, url: url, method: method)
        func fail(_ reason: String? = nil) -> Error {
            unparseableBody(HTTPResponse(status: 200, body: head, url: url), url: url, method: method, endpoint: endpoint, what: what, reason: reason)
        }
        while let bytes = await stream.next() {
            if head.count < 240 { head += bytes.prefix(240 - head.count) }
            if keepWhole { whole += bytes }
            for element in splitter.feed(bytes) {
                do { chunk.append(try JSONParser.parse(element, reusing: &scratch)) } catch { throw fail("record \(count + chunk.count + 1): \(error.message)") }
                if chunk.count >= Self.chunkSize {
                    try await body(chunk)
                    count += chunk.count
                    chunk = []
                }
            }
            // Once it is known to be an array, the bytes need not be kept.
            if keepWhole && !splitter.notAnArray && !RecordShape.isBlank(whole) {
                keepWhole = false
                whole = []
            }
        }
        var answer = exchange
        answer.response.body = head
        if splitter.notAnArray {
            let value: JSON
            do { value = try JSONParser.parse(whole) } catch { throw fail(error.description) }
            throw notRecords(RecordShape.describe(value), endpoint: endpoint, exchange: answer, what: what)
        }
        // Nothing arrived: an empty 200, or a failed status whose body went elsewhere; the caller
        // tells them apart once the status is known.
        if keepWhole { return Self.nothingArrived }
        guard splitter.complete else { throw fail("the list is not closed") }
        if !chunk.isEmpty {
            try await body(chunk)
            count += chunk.count
        }
        return count
    }

    /// What `consumeArray` counts when no byte of a successful body arrived.
    static let nothingArrived = -1

    /// An unparseable response that an error mapping said to ignore.
    struct IgnoredResponse: Error {}

    /// Records handed on at a time when a response is streamed.
    static let chunkSize = 1000

    /// The member names leading to the records, when they can be found without parsing the
    /// whole response: `records` absent or a path of names (with `[*]` at the end), JSON, a
    /// list endpoint, and a pagination that needs nothing from the body.
    func streamablePath(_ endpoint: Endpoint) -> [String]? {
        guard endpoint.format == .json, !endpoint.single, endpoint.pagination.hasMore == nil, endpoint.pagination.total == nil else { return nil }
        if case .graphql? = endpoint.request.body { return nil }
        switch endpoint.pagination.kind {
        case .none, .page, .offset, .linkHeader, .timeWindow: break
        case .cursor, .nextURL: return nil
        }
        guard let text = endpoint.records?.span.text else { return [] }
        guard let path = try? JSONPath.parse(text), path.root == .document else { return nil }
        var names: [String] = []
        for (i, segment) in path.segments.enumerated() {
            guard case .child(let selectors) = segment, selectors.count == 1 else { return nil }
            switch selectors[0] {
            case .name(let n): names.append(n)
            case .wildcard where i == path.segments.count - 1: break
            default: return nil
            }
        }
        return names
    }

    /// The records of a response held whole, found by member names without parsing the rest.
    func streamRecords(_ exchange: Exchange, path: [String], endpoint: Endpoint, what: String, chunk: Int,
                       _ body: ([JSON]) async throws -> Void) async throws -> Int
    {
        let bytes = exchange.response.body
        func unparseable() -> Error {
            unparseableBody(exchange.response, url: exchange.url, method: exchange.method, endpoint: endpoint, what: what)
        }
        if RecordShape.isBlank(bytes) {
            if ignoresEmptyBody(exchange, endpoint: endpoint, what: what) { return 0 }
            throw notRecords("an empty body", endpoint: endpoint, exchange: exchange, what: what)
        }
        let range: Range<Int>?
        let elements: [Range<Int>]?
        do throws(JSONScanner.Failure) {
            let found = try JSONScanner.value(bytes, at: path)
            range = found
            elements = try found.map { r throws(JSONScanner.Failure) in try JSONScanner.arrayElements(bytes, in: r) } ?? nil
        } catch {
            throw unparseable()
        }
        guard let range else {
            // Nothing at the path: say what the body is.
            guard let top = try? JSONParser.parse(bytes) else { throw unparseable() }
            throw notRecords(path.isEmpty ? RecordShape.describe(top) : "no member there (the body is \(RecordShape.describe(top)))",
                             endpoint: endpoint, exchange: exchange, what: what)
        }
        guard let elements else {
            let value: JSON
            do { value = try JSONParser.parse(bytes[range]) } catch { throw unparseable() }
            throw notRecords(RecordShape.describe(value), endpoint: endpoint, exchange: exchange, what: what)
        }
        var index = 0
        var scratch = JSONParseScratch()
        while index < elements.count {
            let end = min(index + chunk, elements.count)
            var records: [JSON] = []
            records.reserveCapacity(end - index)
            for r in elements[index..<end] {
                do { records.append(try JSONParser.parse(bytes[r], reusing: &scratch)) } catch { throw unparseable() }
            }
            try await body(records)
            index = end
        }
        return elements.count
    }
}
