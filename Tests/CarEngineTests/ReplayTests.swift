import Locking
import Testing
#if canImport(Glibc)
    import Glibc
#endif

import CarSimulators
@testable import CarDefinition
@testable import CarEngine
@testable import CarReplay
@testable import MappingDSL

/// `car test`: replay cases beside a definition.
@Suite struct ReplayTests {
    static let definition = """
        format: 1
        connector: {name: hosts, version: 1.0.0}
        parameters:
          url: {type: url, section: auth, default: http://127.0.0.1:1}
          token: {type: password, section: auth}
        datasource:
          base_url: ${url}
          auth: {type: bearer, token: "${token}"}
        endpoints:
          hosts:
            path: /hosts
            pagination: {type: link_header, rel: next}
        vertices:
          asset:
            from: hosts
            when: $.kind != 'printer'
            fields: {external_id: str($.id), name: $.name}
        """

    static func hostsCase(secondPage: Bool = true, extra: String = "", status: Int = 200) -> String {
        var text = """
            description: two pages of hosts
            parameters: {url: "{{datasource}}", token: replay-token-1}
            steps:
              - run: full
                at: 2026-11-01T10:00:00Z
                exchanges:
                  - request: {path: /hosts, headers: {Authorization: Bearer replay-token-1}}
                    response:
                      status: \(status)
                      headers: {Link: '<{{datasource}}/hosts?page=2>; rel="next"'}
                      json: [{id: 1, name: "Ürün-1"}, {id: 2, name: printer-2, kind: printer}]

            """
        if secondPage {
            text += """
                      - request: {path: /hosts, query: {page: "2"}}
                        response: {json: [{id: 3, name: host-3}]}

                """
        }
        return text + extra
    }

    /// A definition and its cases in a scratch folder.
    static func folder(_ name: String, cases: [String: String], definition: String = ReplayTests.definition) throws -> String {
        let dir = Repo.temporaryPath("replay-\(name)")
        try FileIO.makeDirectory(dir)
        try FileIO.makeDirectory(dir + "/hosts.tests")
        for f in DirectoryListing.names(dir + "/hosts.tests") { _ = unlink(dir + "/hosts.tests/" + f) }
        try FileIO.write(Array(definition.utf8), to: dir + "/hosts.yaml")
        for (caseName, text) in cases { try FileIO.write(Array(text.utf8), to: dir + "/hosts.tests/\(caseName).yaml") }
        return dir
    }

    static func run(_ dir: String, update: Bool = false, definition: String = "hosts.yaml") async -> (code: Int32, output: String) {
        let out = Locked<[String]>([])
        var options = ReplayCommand.Options(definitions: [dir + "/" + definition])
        options.update = update
        let code = await ReplayCommand.run(options) { line in out.withLock { $0.append(line) } }
        return (code, out.withLock { $0.joined(separator: "\n") })
    }

    @Test func recordsTheExpectedGraphThenHoldsTheRunToIt() async throws {
        let dir = try Self.folder("pass", cases: ["two-pages": Self.hostsCase()])
        let first = await Self.run(dir, update: true)
        #expect(first.code == 0, "\(first.output)")
        let graph = try #require(Repo.read(dir + "/hosts.tests/two-pages.1.graph.json"))
        // Both pages were read, the printer skipped, non-ASCII text kept.
        #expect(graph.contains("\"external_id\": \"1\"") && graph.contains("\"external_id\": \"3\"") && !graph.contains("printer-2"))
        #expect(graph.contains("Ürün-1"))
        // No model_state in the definition: nothing saved.
        #expect(graph.contains("\"model_state_id\": null"))
        let second = await Self.run(dir)
        #expect(second.code == 0, "\(second.output)")
        #expect(second.output.contains("ok   \(dir)/hosts.tests/two-pages.yaml"))
        #expect(second.output.contains("exit 0, 2 vertices, 0 active edges"))
    }

    @Test func aRequestTheRecordingsDoNotHoldFailsNamingIt() async throws {
        let dir = try Self.folder("miss", cases: ["two-pages": Self.hostsCase()])
        _ = await Self.run(dir, update: true)
        try FileIO.write(Array(Self.hostsCase(secondPage: false).utf8), to: dir + "/hosts.tests/two-pages.yaml")
        let result = await Self.run(dir)
        #expect(result.code == 1)
        #expect(result.output.contains("a request the recordings do not hold: GET /hosts?page=2"), "\(result.output)")
    }

    @Test func anExchangeNeverRequestedFailsTheCase() async throws {
        let extra = """
                  - request: {path: /users}
                    response: {json: []}

            """
        let dir = try Self.folder("unused", cases: ["two-pages": Self.hostsCase()])
        _ = await Self.run(dir, update: true)
        try FileIO.write(Array(Self.hostsCase(extra: extra).utf8), to: dir + "/hosts.tests/two-pages.yaml")
        let result = await Self.run(dir)
        #expect(result.code == 1)
        #expect(result.output.contains("an exchange was never requested (line 14): GET /users → 200"), "\(result.output)")
    }

    @Test func aDifferentGraphIsShownAsTheDifference() async throws {
        let dir = try Self.folder("differs", cases: ["two-pages": Self.hostsCase()])
        _ = await Self.run(dir, update: true)
        let path = dir + "/hosts.tests/two-pages.1.graph.json"
        let graph = try #require(Repo.read(path))
        try FileIO.write(Array(graph.replacing("host-3", with: "host-three").utf8), to: path)
        let result = await Self.run(dir)
        #expect(result.code == 1)
        #expect(result.output.contains("the graph differs from \(path)"))
        #expect(result.output.contains("+ vertices asset {\"external_id\":\"3\",\"name\":\"host-3\"}"), "\(result.output)")
        #expect(result.output.contains("- vertices asset {\"external_id\":\"3\",\"name\":\"host-three\"}"))
    }

    @Test func badCredentialsAreAnExpectedExitCode() async throws {
        let text = """
            parameters: {url: "{{datasource}}", token: wrong-token}
            steps:
              - run: full
                at: 2026-11-01T10:00:00Z
                exchanges:
                  - request: {path: /hosts}
                    response: {status: 401, json: {error: invalid token}}
                expect: {exit: 52, log_contains: "401"}
            """
        let dir = try Self.folder("401", cases: ["bad-token": text])
        let result = await Self.run(dir, update: true)
        #expect(result.code == 0, "\(result.output)")
        #expect(result.output.contains("exit 52, 0 vertices"))
        #expect(!result.output.contains("wrong-token"))
    }

    @Test func aCaseFileErrorNamesFileLineAndColumn() async throws {
        let text = """
            parameters: {url: "{{datasource}}", token: t0ken}
            steps:
              - run: full
                at: 2026-11-01T10:00:00Z
                exchange: []
            """
        let dir = try Self.folder("bad-case", cases: ["typo": text])
        let result = await Self.run(dir)
        #expect(result.code == 1)
        #expect(result.output.contains("\(dir)/hosts.tests/typo.yaml:5:5: error: a step has no key 'exchange'"), "\(result.output)")
    }

    @Test func aDefinitionWithoutCasesFails() async throws {
        let dir = try Self.folder("none", cases: [:])
        let result = await Self.run(dir)
        #expect(result.code == 1)
        #expect(result.output.contains("no replay cases in \(dir)/hosts.tests/"))
    }

    /// The reference connector's recorded incremental import ends in the graph of a fresh full
    /// import of the changed datasource (both recorded from car sim reference).
    @Test func theReferenceIncrementalReplayEndsInAFreshFullImportsGraph() async throws {
        let result = await ReplayCommand.run(ReplayCommand.Options(definitions: [Repo.root + "/connectors/reference.yaml"])) { _ in }
        #expect(result == 0)
        let folder = Repo.root + "/connectors/reference.tests/"
        let incremental = try JSONParser.parse(try #require(Repo.read(folder + "full-and-incremental.2.graph.json")))
        let fresh = try JSONParser.parse(try #require(Repo.read(folder + "after-changes.1.graph.json")))
        #expect(incremental["vertices"] == fresh["vertices"])
        #expect(incremental["edges"] == fresh["edges"])
        #expect((incremental["vertices"]?["asset"]?.arrayValue ?? []).contains { $0["name"] == "Bürorechner-1" })
    }

    /// car test --record against a live datasource (the reference simulator), then --append an
    /// incremental step after changes: the case replays, and no secret is in what was written.
    @Test func recordingAFullAndAppendingAnIncrementalStep() async throws {
        let datasource = try ReferenceSimulator(assets: 2, seed: 3, password: "live-Secret-9")
        defer { datasource.stop() }
        let dir = Repo.temporaryPath("record")
        try FileIO.makeDirectory(dir)
        for f in DirectoryListing.names(dir + "/reference.tests") { _ = unlink(dir + "/reference.tests/" + f) }
        try FileIO.write(try FileIO.read(Repo.root + "/connectors/reference.yaml"), to: dir + "/reference.yaml")
        var options = RunOptions(definitionPath: dir + "/reference.yaml")
        options.parameters = ["url": datasource.baseURL, "password": "live-Secret-9"]
        let full = ReplayRecorder(definitionPath: dir + "/reference.yaml", caseName: "live", options: options, atMs: 1_793_527_200_000)
        guard case .success = await full.record() else { Issue.record("the full import was not recorded"); return }
        try datasource.update("assets", datasource.pks("assets")[0], ["name": "renamed"])
        var append = ReplayRecorder(definitionPath: dir + "/reference.yaml", caseName: "live", options: options, atMs: 1_793_530_800_000)
        append.appendIncremental = true
        guard case .success(let files) = await append.record() else { Issue.record("the incremental step was not appended"); return }
        #expect(files.last == dir + "/reference.tests/live.2.graph.json")
        let text = try #require(Repo.read(dir + "/reference.tests/live.yaml"))
        #expect(text.contains("run: incremental") && text.contains("/delta/") && text.contains("password: \"recorded-password\""))
        #expect(!text.contains("live-Secret-9") && !text.contains(datasource.baseURL))
        let replay = await Self.run(dir, definition: "reference.yaml")
        #expect(replay.code == 0, "\(replay.output)")
        #expect(try #require(Repo.read(dir + "/reference.tests/live.2.graph.json")).contains("\"name\": \"renamed\""))
    }
}
