import Testing

@testable import CarDefinition
@testable import CarEngine
@testable import CarReplay
@testable import MappingDSL

/// Incremental imports driven by event logs (`model_state.events`), replayed against the CAR
/// simulator: updated records read again by id, deleted ones deleted, and a model state saved
/// by IBM's Python connector (epoch ms as a float) continued from.
@Suite("Change feeds from event logs")
struct EventFeedTests {
    static let definition = """
        format: 1
        connector: {name: hosts, version: 1.0.0}
        parameters:
          url: {type: url, section: auth, default: http://127.0.0.1:1}
        datasource: {base_url: "${url}"}
        endpoints:
          users:
            path: /users
            by_ids: {query: {ids: "${join(ids, ',')}"}}
          logs:
            path: /logs
            query: {since: "${last_run_iso}", filter: eventType eq "user.lifecycle"}
            pagination: {type: link_header, rel: next}
        vertices:
          user:
            from: users
            fields: {external_id: $.id, username: $.name}
        model_state:
          current: run_start
          events:
            - from: logs
              when: $.eventType == 'user.lifecycle.delete'
              endpoint: users
              id: $.target[0].id
              change: "'delete'"
            - from: logs
              when: $.eventType != 'user.lifecycle.delete'
              endpoint: users
              id: map($.target, @.id)
              change: "'update'"
        """

    static let fullStep = """
          - run: full
            at: 2026-11-01T10:00:00Z
            exchanges:
              - request: {path: /users}
                response: {json: [{id: u1, name: ann}, {id: u2, name: bob}, {id: u3, name: cid}]}
        """

    static func incrementalStep(since: String, modelState: String? = nil) -> String {
        """
          - run: incremental
            at: 2026-11-01T11:00:00Z
        \(modelState.map { "    model_state: \"\($0)\"\n" } ?? "")    exchanges:
              - request: {path: /logs, query: {since: "\(since)", filter: eventType eq "user.lifecycle"}}
                response:
                  headers: {Link: '<{{datasource}}/logs?after=e2>; rel="next"'}
                  json:
                    - {eventType: user.lifecycle.update, target: [{id: u2}]}
                    - {eventType: user.lifecycle.delete, target: [{id: u1}]}
              - request: {path: /logs, query: {after: e2}}
                response:
                  json:
                    - {eventType: user.lifecycle.create, target: [{id: u4}, {id: u5}]}
                    - {eventType: user.lifecycle.delete, target: [{id: u5}]}
              - request: {path: /users, query: {ids: "u2,u4"}}
                response: {json: [{id: u2, name: bobby}, {id: u4, name: dan}]}
        """
    }

    static func names(_ graph: String) throws -> [String] {
        let parsed = try JSONParser.parse(graph)
        return (parsed["vertices"]?["user"]?.arrayValue ?? []).map { "\($0["external_id"]?.stringValue ?? "")=\($0["username"]?.stringValue ?? "")" }.sorted()
    }

    @Test func eventsReadUpdatedRecordsAgainAndDeleteDeletedOnes() async throws {
        let text = "parameters: {url: \"{{datasource}}\"}\nsteps:\n" + Self.fullStep + "\n" + Self.incrementalStep(since: "2026-11-01T10:00:00.000Z")
        let dir = try ReplayTests.folder("events", cases: ["events": text], definition: Self.definition)
        let result = await ReplayTests.run(dir, update: true)
        #expect(result.code == 0, "\(result.output)")
        let second = try #require(Repo.read(dir + "/hosts.tests/events.2.graph.json"))
        // u1 deleted, u2 renamed, u3 untouched, u4 created, u5 created then deleted: never read.
        #expect(try Self.names(second) == ["u2=bobby", "u3=cid", "u4=dan"])
        // The save point is the run's start in epoch ms, as IBM's connectors save it.
        #expect(second.contains("\"model_state_id\": \"1793530800000\""))
    }

    @Test func aModelStateThePythonConnectorSavedIsContinued() async throws {
        // IBM's connectors save str(float ms): the next run filters from that time.
        let text = "parameters: {url: \"{{datasource}}\"}\nsteps:\n"
            + Self.incrementalStep(since: "2026-11-01T10:00:00.123Z", modelState: "1793527200123.456")
        let dir = try ReplayTests.folder("python-state", cases: ["python": text], definition: Self.definition)
        let result = await ReplayTests.run(dir, update: true)
        #expect(result.code == 0, "\(result.output)")
        let graph = try #require(Repo.read(dir + "/hosts.tests/python.1.graph.json"))
        #expect(try Self.names(graph) == ["u2=bobby", "u4=dan"])
        #expect(graph.contains("\"model_state_id\": \"1793530800000\""))
    }

    @Test func anEventFeedThatFailsMidwaySavesNoModelState() async throws {
        let text = "parameters: {url: \"{{datasource}}\"}\nsteps:\n" + Self.fullStep + "\n" + """
              - run: incremental
                at: 2026-11-01T11:00:00Z
                exchanges:
                  - request: {path: /logs, query: {since: "2026-11-01T10:00:00.000Z", filter: eventType eq "user.lifecycle"}}
                    response:
                      headers: {Link: '<{{datasource}}/logs?after=e2>; rel="next"'}
                      json: [{eventType: user.lifecycle.delete, target: [{id: u1}]}]
                  - request: {path: /logs, query: {after: e2}}
                    response: {status: 200, body: "<html>maintenance</html>"}
                expect: {exit: 55}
            """
        let dir = try ReplayTests.folder("events-fail", cases: ["fails": text], definition: Self.definition)
        let result = await ReplayTests.run(dir, update: true)
        #expect(result.code == 0, "\(result.output)")
        let graph = try #require(Repo.read(dir + "/hosts.tests/fails.2.graph.json"))
        // Nothing deleted, and the model state is still the full import's.
        #expect(try Self.names(graph) == ["u1=ann", "u2=bob", "u3=cid"])
        #expect(graph.contains("\"model_state_id\": \"1793527200000\""))
    }

    @Test func feedsAreChecked() {
        let text = Self.definition.replacing("      endpoint: users\n      id: $.target[0].id", with: "      endpoint: usrs\n      id: $.target[0].id")
        let result = DefinitionLoader.load(bytes: Array(text.utf8), path: "e.yaml")
        #expect(result.diagnostics.map(\.headline).contains { $0.hasPrefix("e.yaml:") && $0.contains("unknown endpoint 'usrs' (did you mean 'users'?)") })
    }
}
