import Logging
import LoopbackHTTP
import Locking
import Synchronization
import Testing

@testable import CarDefinition
@testable import CarEngine
@testable import MappingDSL

/// Log lines captured for assertions.
final class CapturedLog: Sendable {
    let lines = Locked<[String]>([])
    var all: [String] { lines.withLock { $0 } }
    var text: String { all.joined(separator: "\n") }
}

/// A counter shared with a server's handler.
final class Counter: Sendable {
    private let value = Atomic<Int>(0)
    @discardableResult func next() -> Int { value.add(1, ordering: .relaxed).newValue }
    var count: Int { value.load(ordering: .relaxed) }
}

/// Values recorded by a server's handler.
final class Recorder<T: Sendable>: Sendable {
    private let values: Locked<[T]> = Locked([])
    func append(_ v: T) { values.withLock { $0.append(v) } }
    var all: [T] { values.withLock { $0 } }
}

/// A value shared with a server's handler.
final class Shared<T: Sendable>: Sendable {
    private let value: Locked<T>
    init(_ v: T) { value = Locked(v) }
    var get: T { value.withLock { $0 } }
    func set(_ v: T) { value.withLock { $0 = v } }
}

/// A definition for a test server, a client for it, and the captured log.
/// A clock that moves only when a test says so (from the real time at its start).
final class TestClock: Sendable {
    private let ms = Locked(WallClock.nowMs())
    var now: Int64 { ms.withLock { $0 } }
    func advance(seconds: Double) { ms.withLock { $0 += Int64(seconds * 1000) } }
}

struct Harness {
    let definition: ConnectorDefinition
    let client: DatasourceClient
    let log: CapturedLog

    /// The clock tokens expire by (tests move it).
    let clock: TestClock

    init(_ yaml: String, values: [String: JSON] = [:], secrets: [String] = [], incremental: Bool = false) throws {
        let result = DefinitionLoader.load(bytes: Array(yaml.utf8), path: "test.yaml")
        let definition = try #require(result.definition, "\(result.diagnostics.map(\.headline))")
        self.definition = definition
        let log = CapturedLog()
        self.log = log
        let redactor = Redactor(secrets)
        let logger = Logger.framework(format: .json, level: .debug, redactor: redactor) { line in log.lines.withLock { $0.append(line) } }
        var all = values
        all["run_start_ms"] = all["run_start_ms"] ?? .int(1_732_838_400_000)
        all["source"] = .string("test")
        let clock = TestClock()
        self.clock = clock
        client = try DatasourceClient(definition: definition, values: all, transport: CurlTransport(), redactor: redactor,
                                      logger: logger, incremental: incremental, clock: { clock.now })
    }

    func readAll(_ endpoint: String) async throws -> [JSON] {
        var all: [JSON] = []
        try await client.forEachPage(of: endpoint) { all += $0 }
        return all
    }
}

func definition(_ base: String, auth: String = "{type: none}", endpoints: String, extra: String = "", parameters: String = "") -> String {
    """
    format: 1
    connector: {name: t, version: 1.0.0}
    parameters:
      secret: {type: password, default: ""}
    \(parameters)
    datasource:
      base_url: "\(base)"
      auth: \(auth)
      retries: {max: 2, delay: 10ms, max_delay: 50ms}
    \(extra)
    endpoints:
    \(endpoints)
    vertices:
      asset: {from: items, fields: {external_id: str($.id), name: str($.id)}}
    """
}

func expectFailure(_ code: Int32, containing text: String? = nil, _ body: () async throws -> Void, sourceLocation: Testing.SourceLocation = #_sourceLocation) async {
    do {
        try await body()
        Issue.record("expected a failure with exit code \(code)", sourceLocation: sourceLocation)
    } catch let failure as RunFailure {
        #expect(failure.exitCode == code, "\(failure.message)", sourceLocation: sourceLocation)
        if let text { #expect(failure.message.contains(text), "\(failure.message)", sourceLocation: sourceLocation) }
    } catch {
        Issue.record("unexpected error \(error)", sourceLocation: sourceLocation)
    }
}

@Suite("Datasource: auth")
struct AuthTests {
    @Test func basic() async throws {
        let server = try HTTPServer { r in
            r.header("Authorization") == "Basic " + Base64.encode(Array("admin:s3cret-pw".utf8)) ? .json("[{\"id\": 1}]") : .json("{}", status: 403)
        }
        defer { server.stop() }
        let h = try Harness(definition(server.baseURL, auth: "{type: basic, username: admin, password: \"${secret}\"}", endpoints: "  items: {path: /items/}"),
                            values: ["secret": "s3cret-pw"], secrets: ["s3cret-pw"])
        #expect(try await h.readAll("items") == [["id": 1]])
    }

    @Test func bearerApiKeyAndCustomHeaders() async throws {
        let server = try HTTPServer { r in
            let ok = r.header("Authorization") == "Bearer tok-123" || r.header("Authorization") == "SSWS tok-123"
                || r.header("session") == "tok-123" || r.queryValue("api_key") == "tok-123"
            return ok ? .json("[{\"id\": 1}]") : .json("{}", status: 401)
        }
        defer { server.stop() }
        for auth in [
            "{type: bearer, token: \"${secret}\"}", "{type: api_key, value: \"${secret}\", prefix: \"SSWS \"}",
            "{type: api_key, value: \"${secret}\", header: session}", "{type: api_key, value: \"${secret}\", query: api_key}",
        ] {
            let h = try Harness(definition(server.baseURL, auth: auth, endpoints: "  items: {path: /items/}"), values: ["secret": "tok-123"])
            #expect(try await h.readAll("items") == [["id": 1]], "\(auth)")
        }
        let wrong = try Harness(definition(server.baseURL, auth: "{type: bearer, token: \"${secret}\"}", endpoints: "  items: {path: /items/}"),
                                values: ["secret": "nope-456"])
        await expectFailure(52) { _ = try await wrong.readAll("items") }
    }

    @Test func oauth2ClientCredentialsWithExpiryAndRefresh() async throws {
        let issued = Counter()
        let revoked = Recorder<String>()
        let server = try HTTPServer { r in
            if r.path == "/oauth/token" {
                guard r.method == "POST", r.text.contains("grant_type=client_credentials"), r.text.contains("scope=read"),
                    r.header("Authorization") == "Basic " + Base64.encode(Array("cid:csecret".utf8))
                else { return .json(#"{"error":"invalid_client"}"#, status: 401) }
                let n = issued.next()
                // The first token lives 4 s on the test's clock, the others an hour.
                return .json(#"{"access_token":"token-\#(n)","expires_in":\#(n == 1 ? 4 : 3600),"token_type":"bearer"}"#)
            }
            guard let auth = r.header("Authorization"), auth.hasPrefix("Bearer token-"), !revoked.all.contains(auth) else {
                return .json("{}", status: 401)
            }
            if r.path == "/revoke/" {
                revoked.append(auth)
                return .json("{}", status: 401)
            }
            return .json("[{\"id\": 1}]")
        }
        defer { server.stop() }
        let auth = "{type: oauth2_client_credentials, token_url: /oauth/token, client_id: cid, client_secret: \"${secret}\", scope: read, credentials: basic}"
        let h = try Harness(definition(server.baseURL, auth: auth, endpoints: "  items: {path: /items/}\n  revoke: {path: /revoke/}"),
                            values: ["secret": "csecret"], secrets: ["csecret"])
        _ = try await h.readAll("items")
        _ = try await h.readAll("items")
        #expect(issued.count == 1, "the token is cached")
        h.clock.advance(seconds: 3.7)
        _ = try await h.readAll("items")
        #expect(issued.count == 2, "an expired token is renewed")
        // A 401 gets one new token and one retry; a second 401 is an authentication failure.
        await expectFailure(52) { _ = try await h.readAll("revoke") }
        #expect(issued.count == 3)
        #expect(!h.log.text.contains("token-"), "tokens never reach the log")
    }

    @Test func sessionLoginWithTokenAndRelogin() async throws {
        let logins = Counter()
        let valid = Shared("")
        let server = try HTTPServer { r in
            if r.path == "/login" {
                guard r.method == "POST", (try? JSONParser.parse(r.body))?["password"] == "pw-secret" else { return .json("{}", status: 401) }
                let n = logins.next()
                valid.set("sess-\(n)")
                return .json(#"{"session": {"token": "sess-\#(n)"}}"#)
            }
            if r.path == "/expire/" { valid.set("") }
            return r.header("session") == valid.get && !valid.get.isEmpty ? .json("[{\"id\": 2}]") : .json("{}", status: 401)
        }
        defer { server.stop() }
        let auth = """
            {type: session, login: {method: POST, path: /login, body: {json: {user: u, password: "${secret}"}}}, token: $.session.token, header: session}
            """
        let h = try Harness(definition(server.baseURL, auth: auth, endpoints: "  items: {path: /items/}\n  expire: {path: /expire/}"),
                            values: ["secret": "pw-secret"], secrets: ["pw-secret"])
        #expect(try await h.readAll("items") == [["id": 2]])
        #expect(try await h.readAll("items") == [["id": 2]])
        #expect(logins.count == 1)
        // The session ends on the server: a 401, one new login, one retry (which ends it again).
        await expectFailure(52) { _ = try await h.readAll("expire") }
        #expect(logins.count == 2)
        // The next request meets a 401 and logs in once more.
        #expect(try await h.readAll("items") == [["id": 2]])
        #expect(logins.count == 3)
    }

    @Test func sessionLoginWithACookie() async throws {
        let server = try HTTPServer { r in
            if r.path == "/login" {
                // Cybereason's login answers its HTML start page: the body is not read.
                return HTTPServerResponse(status: 200, headers: [("Set-Cookie", "JSESSIONID=abc123xyz; Path=/; HttpOnly"), ("Content-Type", "text/html")],
                                          body: Array("<html><body>Welcome</body></html>".utf8))
            }
            return r.header("Cookie") == "JSESSIONID=abc123xyz" ? .json("[{\"id\": 3}]") : .json("{}", status: 401)
        }
        defer { server.stop() }
        let auth = "{type: session, login: {method: POST, path: /login, body: {form: {user: u, pass: \"${secret}\"}}}, cookie: JSESSIONID}"
        let h = try Harness(definition(server.baseURL, auth: auth, endpoints: "  items: {path: /items/}"), values: ["secret": "pw-secret"])
        #expect(try await h.readAll("items") == [["id": 3]])
    }
}

@Suite("Datasource: pagination")
struct PaginationTests {
    /// 23 records served by a paging scheme.
    static let all: [JSON] = (1...23).map { ["id": .int(Int64($0))] }

    static func slice(_ from: Int, _ count: Int) -> String {
        let part = all.dropFirst(from).prefix(count)
        return JSONWriter().string(.array(Array(part)))
    }

    @Test func pageNumbers() async throws {
        let server = try HTTPServer { r in
            let page = Int(r.queryValue("page") ?? "1") ?? 1
            let size = Int(r.queryValue("per_page") ?? "10") ?? 10
            return .json("{\"data\": \(Self.slice((page - 1) * size, size))}")
        }
        defer { server.stop() }
        let h = try Harness(definition(server.baseURL, endpoints: "  items: {path: /items, records: $.data, pagination: {type: page, size: 10, size_param: per_page}}"))
        #expect(try await h.readAll("items") == Self.all)
        #expect(server.requestsServed == 3)
    }

    /// The page size from a parameter, and the page number placed in a JSON body ("param: ''").
    @Test func pageSizeFromAParameterAndThePageInTheBody() async throws {
        let server = try HTTPServer { r in
            guard r.target == "/items", let body = try? JSONParser.parse(r.body), case .int(let page)? = body["page"], case .int(let size)? = body["size"] else {
                return .json("{}", status: 400)
            }
            return .json("{\"data\": \(Self.slice(Int(page - 1) * Int(size), Int(size)))}")
        }
        defer { server.stop() }
        let endpoint = "  items: {path: /items, method: POST, body: {json: {page: \"${page}\", size: \"${size}\"}}, records: $.data, pagination: {type: page, param: \"\", size: \"${size}\"}}"
        let h = try Harness(definition(server.baseURL, endpoints: endpoint, parameters: "  size: {type: integer, default: 7}\n"), values: ["size": 7])
        #expect(try await h.readAll("items") == Self.all)
        #expect(server.requestsServed == 4)
    }

    @Test func offsetAndLimitWithATotal() async throws {
        let server = try HTTPServer { r in
            let offset = Int(r.queryValue("skip") ?? "0") ?? 0
            return .json("{\"items\": \(Self.slice(offset, 5)), \"total\": 23}")
        }
        defer { server.stop() }
        let h = try Harness(definition(server.baseURL, endpoints: """
              items: {path: /items, records: $.items, pagination: {type: offset, offset_param: skip, limit_param: take, limit: 5, total: $.total, stop_on_short_page: false}}
            """))
        #expect(try await h.readAll("items") == Self.all)
        #expect(server.requestsServed == 5)
    }

    @Test func cursorInAQueryParameterWithHasMore() async throws {
        let server = try HTTPServer { r in
            let start = Int(r.queryValue("after") ?? "0") ?? 0
            let more = start + 10 < 23
            return .json("{\"items\": \(Self.slice(start, 10)), \"next\": \"\(start + 10)\", \"more\": \(more)}")
        }
        defer { server.stop() }
        let h = try Harness(definition(server.baseURL, endpoints: "  items: {path: /items, records: $.items, pagination: {type: cursor, next: $.next, param: after, has_more: $.more}}"))
        #expect(try await h.readAll("items") == Self.all)
        #expect(server.requestsServed == 3)
    }

    @Test func cursorInAJSONBody() async throws {
        let server = try HTTPServer { r in
            let cursor = (try? JSONParser.parse(r.body))?["cursor"]
            let start = cursor.flatMap { $0.stringValue.flatMap(Int.init) } ?? 0
            let next = start + 10 < 23 ? "\"\(start + 10)\"" : "null"
            return .json("{\"items\": \(Self.slice(start, 10)), \"next\": \(next)}")
        }
        defer { server.stop() }
        let h = try Harness(definition(server.baseURL, endpoints: """
              items: {method: POST, path: /search, body: {json: {cursor: "${cursor}"}}, records: $.items, pagination: {type: cursor, next: $.next}}
            """))
        #expect(try await h.readAll("items") == Self.all)
    }

    @Test func aRepeatedCursorIsAnErrorNotALoop() async throws {
        let server = try HTTPServer { r in
            let start = Int(r.queryValue("after") ?? "0") ?? 0
            return .json("{\"items\": \(Self.slice(start, 10)), \"next\": \"10\"}")
        }
        defer { server.stop() }
        let h = try Harness(definition(server.baseURL, endpoints: "  items: {path: /items, records: $.items, pagination: {type: cursor, next: $.next, param: after}}"))
        await expectFailure(55, containing: "endpoint items: the datasource repeated the cursor '10'") { _ = try await h.readAll("items") }
        #expect(server.requestsServed == 2)
    }

    @Test func nextURLInTheBody() async throws {
        let server = try HTTPServer { r in
            let start = Int(r.queryValue("from") ?? "0") ?? 0
            let next = start + 10 < 23 ? "\"/items?from=\(start + 10)\"" : "null"
            return .json("{\"results\": \(Self.slice(start, 10)), \"next\": \(next)}")
        }
        defer { server.stop() }
        let h = try Harness(definition(server.baseURL, endpoints: "  items: {path: /items, records: $.results, pagination: {type: next_url, next: $.next}}"))
        #expect(try await h.readAll("items") == Self.all)
    }

    @Test func linkHeaders() async throws {
        let server = try HTTPServer { r in
            let start = Int(r.queryValue("since") ?? "0") ?? 0
            var headers: [(name: String, value: String)] = []
            if start + 10 < 23 {
                headers.append(("Link", "<\(r.header("Host").map { "http://" + $0 } ?? "")/items?since=\(start + 10)>; rel=\"next\", </items?since=0>; rel=\"first\""))
            }
            return .json(Self.slice(start, 10), headers: headers)
        }
        defer { server.stop() }
        let h = try Harness(definition(server.baseURL, endpoints: "  items: {path: /items, pagination: {type: link_header}}"))
        #expect(try await h.readAll("items") == Self.all)
        #expect(server.requestsServed == 3)
    }

    @Test func anIdenticalPageIsAnError() async throws {
        let server = try HTTPServer { _ in .json(Self.slice(0, 10)) }
        defer { server.stop() }
        let h = try Harness(definition(server.baseURL, endpoints: "  items: {path: /items, pagination: {type: page, size: 10}}"))
        await expectFailure(55, containing: "returned the same page twice") { _ = try await h.readAll("items") }
    }

    @Test func maxPagesCapsARun() async throws {
        let server = try HTTPServer { r in
            let page = Int(r.queryValue("page") ?? "1") ?? 1
            return .json(Self.slice((page - 1) * 2, 2))
        }
        defer { server.stop() }
        let h = try Harness(definition(server.baseURL, endpoints: "  items: {path: /items, pagination: {type: page, size: 2, max_pages: 3}}"))
        #expect(try await h.readAll("items").count == 6)
        #expect(h.log.text.contains("stopped after max_pages (3) pages"))
    }

    @Test func timeWindows() async throws {
        let windows = Recorder<String>()
        let server = try HTTPServer { r in
            windows.append("\(r.queryValue("from") ?? "")..\(r.queryValue("to") ?? "")")
            return .json("[{\"id\": 1}]")
        }
        defer { server.stop() }
        let h = try Harness(definition(server.baseURL, endpoints: """
              items: {path: /events, query: {from: "${window_start_iso}", to: "${window_end}"}, pagination: {type: time_window, start: run_start_ms - 2500 * 3600 * 24, step: 1d}}
            """))
        #expect(try await h.readAll("items").count == 3)
        #expect(windows.all == [
            "2024-11-26T12:00:00.000Z..1732708800000", "2024-11-27T12:00:00.000Z..1732795200000", "2024-11-28T12:00:00.000Z..1732838400000",
        ])
    }
}

@Suite("Datasource: errors and retries")
struct ErrorMappingTests {
    static func server(status: Int, body: String = "{\"detail\": \"nope\"}") throws -> HTTPServer {
        try HTTPServer { _ in .json(body, status: status) }
    }

    @Test(arguments: [(401, Int32(52)), (403, 53), (400, 54), (404, 54), (422, 54), (500, 51), (503, 51), (429, 51), (418, 50)])
    func defaultMappings(status: Int, code: Int32) async throws {
        let server = try Self.server(status: status)
        defer { server.stop() }
        let h = try Harness(definition(server.baseURL, endpoints: "  items: {path: /items/}"))
        await expectFailure(code, containing: "GET \(server.baseURL)/items/ (endpoint items): status \(status): {\"detail\": \"nope\"}") {
            _ = try await h.readAll("items")
        }
        let retried = [500, 503, 429].contains(status)
        #expect(server.requestsServed == (retried ? 3 : 1))
    }

    @Test func anUnparseableBodyIs55() async throws {
        let server = try Self.server(status: 200, body: "<html>oops</html>")
        defer { server.stop() }
        let h = try Harness(definition(server.baseURL, endpoints: "  items: {path: /items/}"))
        await expectFailure(55, containing: "the body is not valid JSON: <html>oops</html>") { _ = try await h.readAll("items") }
    }

    @Test func refusedConnectionsAre51() async throws {
        let closed = try RefusingPort()
        let h = try Harness(definition(closed.baseURL, endpoints: "  items: {path: /items/}"))
        await expectFailure(51, containing: "refused") { _ = try await h.readAll("items") }
    }

    @Test func retryAfterIsHonoured() async throws {
        let calls = Counter()
        let server = try HTTPServer { _ in
            calls.next() == 1 ? .json("{}", status: 429, headers: [("Retry-After", "1")]) : .json("[{\"id\": 1}]")
        }
        defer { server.stop() }
        let h = try Harness(definition(server.baseURL, endpoints: "  items: {path: /items/, errors: [{when: {status: 429}, then: retry, retries: 2, delay: 10ms, max_delay: 5s}]}"))
        let start = ContinuousClock.now
        #expect(try await h.readAll("items") == [["id": 1]])
        #expect(ContinuousClock.now - start >= .milliseconds(950), "waited as Retry-After said")
        #expect(h.log.text.contains("retry 1 of 2 in 1000 ms"))
    }

    @Test func declaredMappings() async throws {
        let server = try HTTPServer { r in
            switch r.path {
            case "/gone/": return .json("{\"detail\": \"gone\"}", status: 404)
            case "/maint/": return .json("{\"error\": \"maintenance window\"}", status: 500)
            default: return .json("{\"errors\": [{\"code\": \"LIMIT\"}]}", status: 200)
            }
        }
        defer { server.stop() }
        let h = try Harness(definition(server.baseURL, endpoints: """
              gone: {path: /gone/, errors: [{when: {status: 404}, then: ignore}]}
              maint: {path: /maint/, errors: [{when: {status: 5xx, body_contains: maintenance}, then: fail, exit_code: 10, message: the datasource is in maintenance}]}
              items: {path: /items/, records: $.data, errors: [{when: {body: "$.errors[0].code == 'LIMIT'"}, then: fail, exit_code: 54}]}
            """, extra: ""))
        #expect(try await h.readAll("gone") == [])
        await expectFailure(10, containing: "the datasource is in maintenance: GET") { _ = try await h.readAll("maint") }
        #expect(server.requestsServed == 2, "a declared fail is not retried")
        // A body condition only applies to failed statuses; a 200 without the records is not
        // data: a failure (55), never "no records".
        await expectFailure(55, containing: "status 200: expected a list of records at `$.data`, found no member there (the body is an object with key errors)") {
            _ = try await h.readAll("items")
        }
    }
}

@Suite("Datasource: fetch by id, concurrency, follow")
struct FetchTests {
    static func server() throws -> (HTTPServer, Recorder<String>) {
        let seen = Recorder<String>()
        let server = try HTTPServer { r in
            let ids = (r.queryValue("pk") ?? "").split(separator: ",").compactMap { Int($0) }
            seen.append(r.queryValue("pk") ?? "")
            var response = HTTPServerResponse.json(JSONWriter().string(.array(ids.filter { $0 % 7 != 0 }.map { ["pk": .int(Int64($0))] })))
            response.delayMs = 30
            return response
        }
        return (server, seen)
    }

    @Test func idsAreBatchedAndChunked() async throws {
        let (server, seen) = try Self.server()
        defer { server.stop() }
        let h = try Harness(definition(server.baseURL, endpoints: "  items: {path: /items/, id: $.pk, by_ids: {query: {pk: \"${join(ids, ',')}\"}, max_ids: 4}}"))
        let records = try await h.client.fetch("items", ids: (1...10).map { .int(Int64($0)) } + [.string("3"), .null])
        #expect(records.map { $0["pk"] } == [1, 2, 3, 4, 5, 6, 8, 9, 10].map { JSON.int($0) })
        #expect(Set(seen.all) == ["1,2,3,4", "5,6,7,8", "9,10"])
        #expect(try await h.client.fetch("items", ids: []) == [])
        #expect(server.requestsServed == 3, "an empty id list sends no request")
    }

    @Test func chunksShrinkToFitTheURLLength() async throws {
        let (server, seen) = try Self.server()
        defer { server.stop() }
        let h = try Harness(definition(server.baseURL, endpoints: "  items: {path: /items/, id: $.pk, by_ids: {query: {pk: \"${join(ids, ',')}\"}, max_ids: 100, max_url_length: 256}}"))
        let ids = (100_000..<100_060).map { JSON.int(Int64($0)) }
        let records = try await h.client.fetch("items", ids: ids)
        #expect(records.count == ids.filter { ($0.doubleValue.map { Int($0) } ?? 0) % 7 != 0 }.count)
        let urls = seen.all
        #expect(urls.count > 1)
        #expect(urls.allSatisfy { (server.baseURL + "/items/?pk=" + $0).utf8.count <= 256 })
        #expect(urls.flatMap { $0.split(separator: ",") }.count == 60)
    }

    @Test func theConcurrencyBoundHolds() async throws {
        let (server, _) = try Self.server()
        defer { server.stop() }
        let h = try Harness(definition(server.baseURL, endpoints: "  items: {path: /items/, id: $.pk, by_ids: {query: {pk: \"${join(ids, ',')}\"}, max_ids: 1}}",
                                       extra: "  concurrency: 2"))
        _ = try await h.client.fetch("items", ids: (1...12).map { .int(Int64($0)) })
        #expect(server.requestsServed == 12)
        #expect(server.maxConcurrentRequests == 2)
        #expect(await h.client.stats.maxInFlight == 2)
    }

    @Test func followingAHyperlink() async throws {
        let server = try HTTPServer { r in .json("{\"path\": \"\(r.path)\"}") }
        defer { server.stop() }
        let h = try Harness(definition(server.baseURL, endpoints: "  items: {path: /items/}"))
        #expect(try await h.client.follow(server.baseURL + "/sites/2/") == ["path": "/sites/2/"])
    }

    @Test func xmlResponses() async throws {
        let server = try HTTPServer { _ in
            HTTPServerResponse(status: 200, headers: [("Content-Type", "application/xml")],
                               body: Array("<list><host id=\"1\"><name>a</name></host><host id=\"2\"><name>b</name></host></list>".utf8))
        }
        defer { server.stop() }
        let h = try Harness(definition(server.baseURL, endpoints: "  items: {path: /hosts, format: xml, records: $.list.host}"))
        #expect(try await h.readAll("items") == [["@id": "1", "name": "a"], ["@id": "2", "name": "b"]])
    }

    /// Qualys puts titles, CVE ids and results in CDATA sections: they are text.
    @Test func xmlCDATAIsText() async throws {
        let server = try HTTPServer { _ in
            HTTPServerResponse(status: 200, headers: [("Content-Type", "text/xml")],
                               body: Array("<VULN><QID>38170</QID><TITLE><![CDATA[SSL Certificate - Subject Common Name <b>Does Not</b> Match]]></TITLE><CVE_LIST><CVE><ID><![CDATA[CVE-2023-0286]]></ID></CVE></CVE_LIST></VULN>".utf8))
        }
        defer { server.stop() }
        let h = try Harness(definition(server.baseURL, endpoints: "  items: {path: /kb, format: xml, single: true, records: $.VULN}"))
        #expect(try await h.readAll("items") == [["QID": "38170", "TITLE": "SSL Certificate - Subject Common Name <b>Does Not</b> Match", "CVE_LIST": ["CVE": ["ID": "CVE-2023-0286"]]]])
    }

    @Test func cancellationStopsARead() async throws {
        let server = try HTTPServer { _ in
            var r = HTTPServerResponse.json("[{\"id\": 1}]")
            r.delayMs = 3000
            return r
        }
        defer { server.stop() }
        let h = try Harness(definition(server.baseURL, endpoints: "  items: {path: /items/}"))
        let task = Task { try await h.readAll("items") }
        try await Task.sleep(for: .milliseconds(100))
        task.cancel()
        await #expect(throws: CancellationError.self) { _ = try await task.value }
    }
}

@Suite("Datasource: secrets stay out of logs and messages")
struct RedactionTests {
    @Test func noSecretInAnyLogLineOrFailure() async throws {
        let server = try HTTPServer { r in
            // Echo the request back, secrets and all, in an error body.
            .json("{\"auth\": \"\(r.header("Authorization") ?? "")\", \"target\": \"\(r.target)\"}", status: 400)
        }
        defer { server.stop() }
        let yaml = definition(server.baseURL, auth: "{type: basic, username: admin, password: \"${secret}\"}",
                              endpoints: "  items: {path: \"/items/${secret}\", query: {key: \"${secret}\"}}")
        let h = try Harness(yaml, values: ["secret": "Very$ecret/42"], secrets: ["Very$ecret/42"])
        var message = ""
        do {
            _ = try await h.readAll("items")
        } catch let failure as RunFailure {
            message = failure.message
        }
        #expect(message.contains("status 400"))
        let basic = Base64.encode(Array("admin:Very$ecret/42".utf8))
        for text in [message, h.log.text] {
            #expect(!text.contains("Very$ecret/42"))
            #expect(!text.contains("Very%24ecret%2F42"))
            #expect(!text.contains(basic))
        }
        #expect(message.contains("***"))
    }
}
