import CarSimulators
import LoopbackHTTP
import Testing

@testable import CarDefinition
@testable import CarEngine
@testable import MappingDSL

/// A full `car run` of a one-endpoint definition against a loopback datasource and the CAR
/// simulator.
struct OneEndpointRun {
    let code: Int32
    let log: CapturedLog
    let source: JSON?

    static func run(endpoint: String, mapping: String = "asset: {from: items, fields: {external_id: str($.id), name: str($.id)}}",
                    server: HTTPServer) async throws -> OneEndpointRun
    {
        let yaml = """
            format: 1
            connector: {name: t, version: 1.0.0}
            datasource:
              base_url: "\(server.baseURL)"
              auth: {type: none}
              retries: {max: 1, delay: 10ms, max_delay: 20ms}
            endpoints:
              items: \(endpoint)
            vertices:
              \(mapping)
            model_state:
              current: run_start
            """
        let path = Repo.temporaryPath("one-endpoint-\(server.port).yaml")
        try FileIO.write(Array(yaml.utf8), to: path)
        let car = try CARSimulator()
        defer { car.stop() }
        var o = RunOptions(definitionPath: path)
        o.environment = ["CAR_SERVICE_URL": car.baseURL, "CAR_SERVICE_KEY": "car-key", "CAR_SERVICE_PASSWORD": "car-password", "CONNECTION_NAME": "src"]
        o.carDelayMs = 2
        o.logFormat = .json
        let log = CapturedLog()
        let code = await runCar(o, sink: { line in log.lines.withLock { $0.append(line) } })
        return OneEndpointRun(code: code, log: log, source: car.graph["sources"]?["src"])
    }

    /// Exit 55, the request and status named, no model state saved, the full import not ended.
    func expectNotData(_ text: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) {
        #expect(code == 55, "\(log.text)", sourceLocation: sourceLocation)
        #expect(log.text.contains(text), "\(log.text)", sourceLocation: sourceLocation)
        #expect(source?["model_state_id"] == .null, "no model state is saved", sourceLocation: sourceLocation)
        #expect(source?["full_import_in_progress"] == true, "the full import is not presented as complete", sourceLocation: sourceLocation)
    }
}

/// Bodies that are not records.
enum BadBody: String, CaseIterable, CustomTestStringConvertible {
    case errorObject, emptyBody, html, scalar

    var response: HTTPServerResponse {
        switch self {
        case .errorObject: return .json(#"{"detail": "internal error, try later"}"#)
        case .emptyBody: return HTTPServerResponse(status: 200, headers: [("Content-Type", "application/json")], body: [])
        case .html: return HTTPServerResponse(status: 200, headers: [("Content-Type", "text/html")], body: Array("<html><body>Sign in</body></html>".utf8))
        case .scalar: return .json(#""maintenance""#)
        }
    }

    /// What the log says it found.
    var found: String {
        switch self {
        case .errorObject: return "found an object with key detail"
        case .emptyBody: return "found an empty body"
        case .html: return "but the body is not valid JSON: <html>"
        case .scalar: return "found a string"
        }
    }

    var testDescription: String { rawValue }
}

@Suite("Answers that are not data fail the run (55), never zero records")
struct NotDataTests {
    @Test(arguments: BadBody.allCases)
    func aWholeListRead(bad: BadBody) async throws {
        let server = try HTTPServer { _ in bad.response }
        defer { server.stop() }
        let run = try await OneEndpointRun.run(endpoint: "{path: /items/}", server: server)
        run.expectNotData("GET \(server.baseURL)/items/ (endpoint items)")
        run.expectNotData(bad == .html ? bad.found : "status 200: expected a list of records at `$`, \(bad.found)")
    }

    @Test(arguments: BadBody.allCases)
    func recordsAtAPathOnTheSecondPage(bad: BadBody) async throws {
        let server = try HTTPServer { r in
            r.queryValue("page") == "1" ? .json(#"{"data": [{"id": 1}, {"id": 2}]}"#) : bad.response
        }
        defer { server.stop() }
        let run = try await OneEndpointRun.run(endpoint: "{path: /items/, records: $.data, pagination: {type: page, size: 2}}", server: server)
        run.expectNotData("GET \(server.baseURL)/items/?page=2 (endpoint items, page 2)")
        if bad == .errorObject { run.expectNotData("expected a list of records at `$.data`, found no member there (the body is an object with key detail)") }
        if bad == .emptyBody { run.expectNotData("status 200: expected a list of records at `$.data`, found an empty body") }
    }

    @Test(arguments: BadBody.allCases)
    func cursorPages(bad: BadBody) async throws {
        let server = try HTTPServer { r in
            r.queryValue("after") == nil ? .json(#"{"items": [{"id": 1}], "next": "c2"}"#) : bad.response
        }
        defer { server.stop() }
        let run = try await OneEndpointRun.run(
            endpoint: "{path: /items/, records: $.items, pagination: {type: cursor, next: $.next, param: after}}", server: server)
        run.expectNotData("GET \(server.baseURL)/items/?after=c2 (endpoint items, page 2)")
        if bad == .errorObject { run.expectNotData("expected a list of records at `$.items`, found null") }
    }

    @Test func aListMemberThatIsAnObject() async throws {
        let server = try HTTPServer { _ in .json(#"{"items": {"detail": "rate limited"}}"#) }
        defer { server.stop() }
        let run = try await OneEndpointRun.run(endpoint: "{path: /items/, records: $.items, pagination: {type: cursor, next: $.next, param: after}}", server: server)
        run.expectNotData("status 200: expected a list of records at `$.items`, found an object with key detail")
    }

    @Test(arguments: BadBody.allCases)
    func nextURLPages(bad: BadBody) async throws {
        let server = try HTTPServer { r in
            r.path == "/items/" ? .json(#"{"results": [{"id": 1}], "next": "/items/2/"}"#) : bad.response
        }
        defer { server.stop() }
        let run = try await OneEndpointRun.run(endpoint: "{path: /items/, records: $.results, pagination: {type: next_url, next: $.next}}", server: server)
        run.expectNotData("GET \(server.baseURL)/items/2/ (endpoint items, page 2)")
    }

    @Test func graphQLErrorsUnder200() async throws {
        let server = try HTTPServer { _ in .json(#"{"errors": [{"message": "session expired"}], "data": {"endpoints": null}}"#) }
        defer { server.stop() }
        let run = try await OneEndpointRun.run(
            endpoint: #"{method: POST, path: /graphql, body: {graphql: {query: "{ endpoints { id } }"}}, records: $.data.endpoints}"#, server: server)
        run.expectNotData("POST \(server.baseURL)/graphql (endpoint items): status 200: the GraphQL answer has 1 error: session expired")
    }

    @Test(arguments: [BadBody.emptyBody, .html])
    func xml(bad: BadBody) async throws {
        let server = try HTTPServer { _ in bad.response }
        defer { server.stop() }
        let run = try await OneEndpointRun.run(endpoint: "{path: /items/, format: xml, records: $.items.item}", server: server)
        run.expectNotData("GET \(server.baseURL)/items/ (endpoint items): status 200")
    }

    @Test func xmlWithoutTheListElement() async throws {
        let server = try HTTPServer { _ in HTTPServerResponse(status: 200, headers: [("Content-Type", "text/xml")], body: Array("<error><code>17</code></error>".utf8)) }
        defer { server.stop() }
        let run = try await OneEndpointRun.run(endpoint: "{path: /items/, format: xml, records: $.items.item}", server: server)
        run.expectNotData("expected a list of records at `$.items.item`, found null")
    }

    @Test func xmlWithOneElementIsOneRecord() async throws {
        let server = try HTTPServer { _ in
            HTTPServerResponse(status: 200, headers: [("Content-Type", "text/xml")], body: Array("<items><item><id>7</id></item></items>".utf8))
        }
        defer { server.stop() }
        let run = try await OneEndpointRun.run(endpoint: "{path: /items/, format: xml, records: $.items.item}", server: server)
        #expect(run.code == 0, "\(run.log.text)")
        #expect(run.source?["vertices"]?["asset"] == [["external_id": "7", "name": "7"]])
    }

    @Test func aSingleRecordEndpointTakesAnObjectAndRefusesAList() async throws {
        let server = try HTTPServer { r in r.path == "/items/1" ? .json(#"{"id": 1}"#) : .json(#"[{"id": 2}]"#) }
        defer { server.stop() }
        let one = try await OneEndpointRun.run(endpoint: "{path: /items/1, single: true}", server: server)
        #expect(one.code == 0, "\(one.log.text)")
        #expect(one.source?["vertices"]?["asset"] == [["external_id": "1", "name": "1"]])
        let list = try await OneEndpointRun.run(endpoint: "{path: /items/2, single: true}", server: server)
        list.expectNotData("status 200: expected one record (an object) at `$`, found a list")
    }

    @Test func anEmptyListIsNoRecords() async throws {
        let server = try HTTPServer { _ in .json("[]") }
        defer { server.stop() }
        let run = try await OneEndpointRun.run(endpoint: "{path: /items/}", server: server)
        #expect(run.code == 0, "\(run.log.text)")
    }

    @Test(arguments: BadBody.allCases)
    func fetchesByID(bad: BadBody) async throws {
        let server = try HTTPServer { _ in bad.response }
        defer { server.stop() }
        let h = try Harness(definition(server.baseURL, endpoints: "  items: {path: /items/, by_ids: {query: {id: \"${join(ids, ',')}\"}}}"))
        await expectFailure(55, containing: "GET \(server.baseURL)/items/?id=1,2 (endpoint items by id") {
            _ = try await h.client.fetch("items", ids: [1, 2])
        }
    }

    @Test(arguments: [BadBody.errorObject, .emptyBody])
    func theChangeLog(bad: BadBody) async throws {
        let server = try HTTPServer { _ in bad.response }
        defer { server.stop() }
        let h = try Harness(definition(server.baseURL, endpoints: "  items: {path: /items/}", extra: """
            model_state:
              current: run_start
              delta:
                request: {path: /delta/}
                updated: get(get($.delta, endpoint), 'updates', [])
                expect: type($.delta) == 'object'
            """))
        let delta = try #require(h.definition.modelState?.delta)
        let text = bad == .emptyBody ? "the change log answered an empty body" : "the change log's answer does not meet `type($.delta) == 'object'`: found an object with key detail"
        await expectFailure(55, containing: "GET \(server.baseURL)/delta/ (delta): status 200: \(text)") {
            _ = try await h.client.changeLog(delta, values: [:])
        }
    }

    @Test func theReferenceDatasourceAnsweringAnErrorObjectFailsTheFullImport() async throws {
        let rig = try ReferenceRig(assets: 10)
        defer { rig.stop() }
        rig.datasource.add(ReferenceSimulator.Fault(path: "/hosts/", body: #"{"detail": "internal error, try later"}"#))
        let (code, log) = await rig.run()
        #expect(code == 55, "\(log.text)")
        #expect(log.text.contains("/hosts/ (endpoint hosts): status 200: expected a list of records at `$`, found an object with key detail"), "\(log.text)")
        #expect(rig.car.graph["sources"]?["ref1"]?["model_state_id"] == .null)
        rig.datasource.add(ReferenceSimulator.Fault(path: "/ports/", body: ""))
        let (again, againLog) = await rig.run()
        #expect(again == 55, "\(againLog.text)")
        #expect(againLog.text.contains("/ports/ (endpoint ports): status 200: expected a list of records at `$`, found an empty body"), "\(againLog.text)")
        #expect(rig.car.graph["sources"]?["ref1"]?["model_state_id"] == .null)
    }
}

@Suite("Progress lines")
struct ProgressTests {
    @Test func aSlowReadLogsProgressOffATerminal() async throws {
        let rig = try ReferenceRig(assets: 10)
        defer { rig.stop() }
        // The host list answers after 1.5 s; progress lines come every 300 ms here (10 s by default).
        rig.datasource.add(ReferenceSimulator.Fault(path: "/hosts/", delayMs: 1500, count: 1))
        let (code, log) = await rig.run { $0.progressIntervalMs = 300 }
        #expect(code == 0, "\(log.text)")
        let lines = log.lines.withLock { $0 }.filter { $0.contains("\"label\":\"progress\"") }
        #expect(lines.count >= 2, "\(log.text)")
        #expect(lines.contains { $0.contains("progress: reading hosts: 0 records so far") && $0.contains("objects out") }, "\(lines)")
    }
}
