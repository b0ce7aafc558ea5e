import CarDefinition
import Logging
import MappingDSL
import Locking

/// How to reach the CAR service.
public struct CARConnection: Sendable {
    public enum Auth: Sendable {
        /// HTTP Basic with the service key and password.
        case basic(key: String, password: String)
        /// `Authorization: car-token <token>`.
        case token(String)
    }

    /// The v2 base URL, e.g. `https://cp4s.example/api/car/v2`.
    public var baseURL: String
    public var auth: Auth
    public var tls: TLSOptions = TLSOptions()
    public var connectTimeoutMs: Int64 = 10_000
    public var timeoutMs: Int64 = 120_000
    /// Delay before the first retry; doubled for each further one.
    public var retryDelayMs: Int64 = 1000
    /// Status polling: first delay and the longest.
    public var pollDelayMs: Int64 = 1000
    public var maxPollDelayMs: Int64 = 60_000
    /// The longest car waits for CAR jobs to complete (import jobs at a barrier, a database or
    /// full-import job) before the run stops as recoverable (10).
    public var maxJobWaitMs: Int64 = 3_600_000
    /// The GraphQL operators read-back starts with (`CAR_QUERY_OPERATORS`).
    public var queryOperators = CARQueryOperators.auto

    public init(baseURL: String, auth: Auth) {
        self.baseURL = baseURL
        self.auth = auth
    }

    /// The v3 base: the `/v2` segment replaced by `/v3`.
    var v3BaseURL: String {
        var last: Range<String.Index>?
        var start = baseURL.startIndex
        while let r = baseURL[start...].firstRange(of: "/v2") {
            last = r
            start = r.upperBound
        }
        guard let r = last else { return baseURL }
        return String(baseURL[..<r.lowerBound]) + "/v3" + String(baseURL[r.upperBound...])
    }
}

/// The outcome of an import job.
public struct ImportJobStatus: Sendable {
    public var failed: [(id: String, error: String, statusCode: Int)]
    public var incomplete: [String]
}

/// The CAR service API as the framework uses it (car-service-api.md): every call, both auth
/// modes, retries on 403/429/503 (not PATCH), failures classified as recoverable (10) or
/// unrecoverable (20).
public final class CARClient: Sendable {
    public let connection: CARConnection
    let transport: any HTTPTransport
    let logger: Logger
    let redactor: Redactor
    let counters = Locked<[String: Int]>([:])
    /// The read-back operators in use: the connection's, until CAR rejects `_in`.
    let queryMode: Locked<CARQueryOperators>
    static let maxRetries = 3
    static let recoverable: Set<Int> = [302, 400, 401, 403, 408, 500, 503, 504]

    public init(connection: CARConnection, transport: any HTTPTransport, logger: Logger, redactor: Redactor) {
        self.connection = connection
        self.transport = transport
        self.logger = logger
        self.redactor = redactor
        queryMode = Locked(connection.queryOperators)
        switch connection.auth {
        case .basic(_, let password):
            redactor.add(password)
        case .token(let token):
            redactor.add(token)
        }
    }

    /// Calls made, by call name (for tests and the summary).
    public var calls: [String: Int] { counters.withLock { $0 } }

    /// The class of a failed call's status.
    static func failureClass(status: Int) -> FailureClass {
        recoverable.contains(status) ? .recoverable : .unrecoverable
    }

    struct Answer {
        var status: Int
        var body: JSON
        var raw: [UInt8]
    }

    /// Sends one call; retries 403/429/503 and connection errors (as 503) up to 3 times with
    /// exponential backoff, except for PATCH. Returns the final answer whatever its status.
    func call(_ name: String, _ method: HTTPMethod, _ path: String, query: [(String, String)] = [], body: JSON? = nil, v3: Bool = false,
              bodyBytes: [UInt8]? = nil) async throws -> Answer
    {
        counters.withLock { $0[name, default: 0] += 1 }
        var url = URLs.join(v3 ? connection.v3BaseURL : connection.baseURL, path)
        if !query.isEmpty {
            url += "?" + query.map { URLs.encodeQuery($0.0) + "=" + URLs.encodeQuery($0.1) }.joined(separator: "&")
        }
        var headers: [(name: String, value: String)] = [("Accept", "application/json"), ("Content-Type", "application/json"),
                                                         ("User-Agent", "car/\(CarEngineVersion.current)")]
        switch connection.auth {
        case .basic(let key, let password):
            let encoded = Base64.encode(Array("\(key):\(password)".utf8))
            redactor.add(encoded)
            headers.append(("Authorization", "Basic " + encoded))
        case .token(let token):
            headers.append(("Authorization", "car-token " + token))
        }
        let request = HTTPRequest(
            method: method, url: url, headers: headers, body: bodyBytes ?? body.map { JSONWriter().bytes($0) }, followRedirects: false,
            connectTimeoutMs: connection.connectTimeoutMs, timeoutMs: connection.timeoutMs, tls: connection.tls)
        return try await RetryLoop.run { retries in
            var status: Int
            var raw: [UInt8] = []
            var transportMessage: String?
            do throws(TransportError) {
                let response = try await transport.send(request)
                status = response.status
                raw = response.body
            } catch {
                if error.kind == .cancelled { throw CancellationError() }
                status = 503
                transportMessage = error.message
            }
            if [403, 429, 503].contains(status) && method != .patch && retries < Self.maxRetries {
                let delay = connection.retryDelayMs << retries
                let reason = transportMessage ?? "status \(status)"
                logger.info("CAR \(name) (\(method) \(redactor.redact(url))): \(reason); retry \(retries + 1) of \(Self.maxRetries) in \(delay) ms", label: "car-service")
                return .again(delayMs: delay, counted: true)
            }
            if let transportMessage {
                throw RunFailure(.recoverable, "CAR \(name) failed: \(method) \(redactor.redact(url)): \(redactor.redact(transportMessage)) (after \(retries) retries)")
            }
            let body = (try? JSONParser.parse(raw)) ?? .null
            logger.debug("CAR \(name): \(method) \(url) → \(status) (\(raw.count) bytes received)", label: "car-service")
            return .done(Answer(status: status, body: body, raw: raw))
        }
    }

    func failure(_ name: String, _ method: HTTPMethod, _ path: String, _ answer: Answer) -> RunFailure {
        let excerpt = DatasourceClient.excerpt(answer.raw)
        return RunFailure(Self.failureClass(status: answer.status),
                          redactor.redact("CAR \(name) failed: \(method) \(path): status \(answer.status)" + (excerpt.isEmpty ? "" : ": " + excerpt)))
    }

    func expectSuccess(_ name: String, _ method: HTTPMethod, _ path: String, query: [(String, String)] = [], body: JSON? = nil,
                       v3: Bool = false) async throws -> JSON
    {
        let answer = try await call(name, method, path, query: query, body: body, v3: v3)
        guard (200..<300).contains(answer.status) else { throw failure(name, method, path, answer) }
        return answer.body
    }

    static func encodeSegment(_ s: String) -> String { Network.percentEncode(s) }

    // MARK: Model state

    /// The saved model state id, or nil ("none": non-200, or empty).
    public func modelStateID(source: String) async throws -> String? {
        let answer = try await call("read model state", .get, "source/" + Self.encodeSegment(source))
        guard answer.status == 200, case .string(let id)? = answer.body["model_state_id"], !id.isEmpty else { return nil }
        return id
    }

    public func saveModelState(source: String, id: String) async throws {
        _ = try await expectSuccess("save model state", .patch, "source", query: [("key", source)], body: ["model_state_id": .string(id)])
    }

    // MARK: Imports

    /// Posts an import envelope; returns the job id.
    public func postImport(_ envelope: JSON) async throws -> String {
        try await postImport(bytes: JSONWriter().bytes(envelope))
    }

    /// Posts an import envelope already serialized; returns the job id.
    public func postImport(bytes: [UInt8]) async throws -> String {
        let answer = try await call("import", .post, "imports", bodyBytes: bytes)
        guard (200..<300).contains(answer.status), case .string(let id)? = answer.body["id"] else {
            throw failure("import", .post, "imports", answer)
        }
        return id
    }

    public func importStatus(_ ids: [String]) async throws -> ImportJobStatus {
        let body = try await expectSuccess("import status", .get, "importstatus", query: [("ids", ids.joined(separator: ","))])
        var failed: [(id: String, error: String, statusCode: Int)] = []
        for e in body["error_imports"]?.arrayValue ?? [] {
            failed.append((renderString(e["id"] ?? .null), renderString(e["error"] ?? .null), Int(e["statusCode"]?.doubleValue ?? 500)))
        }
        let incomplete = (body["incomplete_imports"]?.arrayValue ?? []).map { renderString($0["id"] ?? .null) }
        return ImportJobStatus(failed: failed, incomplete: incomplete)
    }

    // MARK: Deletions

    /// Deletes vertices by external id (or by `_key` for key collections), in requests of at
    /// most ~1800 characters of ids.
    public func deleteVertices(source: String, collection: String, ids: [String], byKey: Bool) async throws -> Int {
        var requests = 0
        for chunk in Self.chunk(ids, maxCharacters: 1800) {
            let path = "source/\(Self.encodeSegment(source))/\(collection)"
            _ = try await expectSuccess("delete vertices", .delete, path, query: [(byKey ? "keys" : "external_ids", chunk.joined(separator: ","))])
            requests += 1
        }
        return requests
    }

    /// Ids in groups whose comma-joined, URL-encoded text stays within `maxCharacters`.
    public static func chunk(_ ids: [String], maxCharacters: Int) -> [[String]] {
        var out: [[String]] = []
        var current: [String] = []
        var length = 0
        for id in ids {
            let n = URLs.encodeQuery(id).utf8.count + (current.isEmpty ? 0 : 1)
            if !current.isEmpty && length + n > maxCharacters {
                out.append(current)
                current = []
                length = 0
            }
            length += current.isEmpty ? URLs.encodeQuery(id).utf8.count : n
            current.append(id)
        }
        if !current.isEmpty { out.append(current) }
        return out
    }

    // MARK: Database

    public struct DatabaseStatus: Sendable {
        public var exists: Bool
        public var graphName: String
        public var collectionsWithoutIndexes: [String]
        public var ready: Bool
    }

    public func databaseStatus() async throws -> DatabaseStatus {
        let answer = try await call("database status", .get, "databases")
        if answer.status == 400 { return DatabaseStatus(exists: false, graphName: "", collectionsWithoutIndexes: [], ready: false) }
        guard answer.status == 200 else { throw failure("database status", .get, "databases", answer) }
        let db = answer.body["databases"]?[0]
        return DatabaseStatus(
            exists: db != nil, graphName: db?["graph_name"]?.stringValue ?? "",
            collectionsWithoutIndexes: db?["collections_without_indexes"]?.arrayValue?.compactMap(\.stringValue) ?? [],
            ready: db?["is_ready"] == .bool(true))
    }

    public func createDatabase() async throws -> String {
        try jobID(await expectSuccess("create database", .post, "databases"), "create database")
    }

    public func patchDatabase(_ body: JSON) async throws -> String {
        try jobID(await expectSuccess("create graph or indexes", .patch, "databases", body: body), "create graph or indexes")
    }

    func jobID(_ body: JSON, _ what: String) throws -> String {
        guard let id = body["job_id"], !id.isNull else { throw RunFailure(.recoverable, "CAR \(what): the answer has no job_id") }
        return renderString(id)
    }

    /// Waits for a job: polls jobstatus with a delay doubling up to the maximum.
    public func waitForJob(_ id: String, what: String) async throws {
        var delay = connection.pollDelayMs
        let start = ContinuousClock.now
        var polls = 0
        while true {
            if polls > 0, Self.elapsedMs(since: start) >= connection.maxJobWaitMs {
                throw RunFailure(.recoverable, "CAR job \(id) (\(what)) did not complete within \(Self.seconds(connection.maxJobWaitMs)) (\(polls) status polls)")
            }
            polls += 1
            let body = try await expectSuccess("job status", .get, "jobstatus/" + Self.encodeSegment(id))
            switch body["status"]?.stringValue?.uppercased() {
            case "COMPLETE": return
            case "ERROR", "FAILED":
                throw RunFailure(.recoverable, "CAR job \(id) (\(what)) failed: \(body["error"].map(renderString) ?? "ERROR")")
            default:
                try await Task.sleep(for: .milliseconds(delay))
                delay = min(delay * 2, connection.maxPollDelayMs)
            }
        }
    }

    static func elapsedMs(since start: ContinuousClock.Instant) -> Int64 {
        let d = ContinuousClock.now - start
        return d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000
    }

    /// "1.5 s", "3600 s".
    static func seconds(_ ms: Int64) -> String { ms % 1000 == 0 ? "\(ms / 1000) s" : "\(Double(ms) / 1000) s" }

    public func enterFullImport(source: String) async throws {
        let id = try jobID(await expectSuccess("enter full import", .post, "source/\(Self.encodeSegment(source))/full-import-in-progress"), "enter full import")
        try await waitForJob(id, what: "enter full import")
    }

    public func leaveFullImport(source: String) async throws {
        let id = try jobID(await expectSuccess("leave full import", .delete, "source/\(Self.encodeSegment(source))/full-import-in-progress"), "leave full import")
        try await waitForJob(id, what: "leave full import")
    }

    // MARK: Read-back, patches, schemas

    public func patchVertex(collection: String, externalID: String, _ body: JSON) async throws {
        _ = try await expectSuccess("patch vertex", .patch, collection, query: [("external_id", externalID)], body: body)
    }

    public func patchEdge(collection: String, source: String, from: String, to: String, _ body: JSON) async throws {
        _ = try await expectSuccess("patch edge", .patch, collection, query: [("source", source), ("from", from), ("to", to)], body: body)
    }

    /// The installed schema extension, or nil.
    public func schemaExtension(key: String) async throws -> JSON? {
        let answer = try await call("read schema extension", .get, "carSchema/" + Self.encodeSegment(key), v3: true)
        if answer.status == 404 { return nil }
        guard answer.status == 200 else { throw failure("read schema extension", .get, "carSchema/\(key)", answer) }
        return answer.body
    }

    public func postSchemaExtension(_ body: JSON) async throws {
        _ = try await expectSuccess("post schema extension", .post, "carSchema", body: body, v3: true)
    }

    /// CAR's import schema (v3), or nil when the service does not offer it (404).
    public func importSchema() async throws -> JSON? {
        let answer = try await call("import schema", .get, "importSchema", query: [("version", "v2")], v3: true)
        if answer.status == 404 { return nil }
        guard answer.status == 200 else { throw failure("import schema", .get, "importSchema", answer) }
        return answer.body["schema"]
    }
}
