import CarSimulators
import LoopbackHTTP
import Testing

@testable import CarDefinition
@testable import CarEngine
@testable import MappingDSL

@Suite("Mapping records to CAR objects")
struct MapperTests {
    @Test func theReferenceConnectorMapsTheExampleRecords() async {
        var options = MapCommand.Options(
            definitionPath: Repo.root + "/connectors/reference.yaml", recordsPath: Repo.root + "/examples/reference/records.json",
            reportTime: 1_732_838_400_000)
        options.source = "ref1"
        options.pretty = true
        let output = await MapCommand.run(options)
        #expect(output.exitCode == 0)
        expectGolden(output.envelopes.joined(separator: "\n") + "\n", path: Repo.fixtures + "/golden/reference-map.json")
        #expect(output.messages.last?.hasSuffix("\n2 envelopes") == true, "\(output.messages)")
    }

    func definition(_ yaml: String) throws -> ConnectorDefinition {
        let result = DefinitionLoader.load(bytes: Array(yaml.utf8), path: "t.yaml")
        return try #require(result.definition, "\(result.diagnostics.map(\.headline))")
    }

    static let header = """
        format: 1
        connector: {name: t, version: 1.0.0}
        datasource: {base_url: "http://127.0.0.1:1"}
        endpoints:
          hosts: {path: /hosts/, id: $.id}

        """

    @Test func nullsAreLeftOutUnlessKept() throws {
        let d = try definition(Self.header + """
            vertices:
              asset:
                from: hosts
                fields: {external_id: str($.id), name: $.name, description: $.missing, asset_type: $.kind}
                keep_nulls: [asset_type]
            """)
        let mapper = Mapper(definition: d, source: "s", report: "r", timestamp: 5)
        let (objects, issues) = mapper.map(["id": 1, "name": "a"], with: d.vertices[0], context: EvalContext(variables: d.variables.values([:])))
        #expect(issues.isEmpty)
        #expect(objects.map { JSON.object($0) } == [["external_id": "1", "name": "a", "asset_type": .null]])
    }

    @Test func fanOutConditionsAndEngineFieldsOfEdges() throws {
        let d = try definition(Self.header + """
            vertices:
              asset: {from: hosts, fields: {external_id: str($.id), name: $.name}}
              ipaddress: {from: hosts, each: "$.ips[*]", fields: {_key: "@.a"}}
            edges:
              asset_ipaddress:
                from: hosts
                each: $.ips[*]
                when: "@.up"
                fields: {_from_external_id: str($.id), _to: "concat('ipaddress/', @.a)"}
            """)
        let mapper = Mapper(definition: d, source: "src", report: "rep", timestamp: 7)
        let record: JSON = ["id": 3, "name": "h", "ips": [["a": "10.0.0.1", "up": true], ["a": "10.0.0.2", "up": false], ["a": "10.0.0.3", "up": true]]]
        let (edges, issues) = mapper.map(record, with: d.edges[0], context: EvalContext(variables: d.variables.values([:])))
        #expect(issues.isEmpty)
        #expect(edges.map { JSON.object($0) } == [
            ["_from_external_id": "3", "_to": "ipaddress/10.0.0.1", "source": "src", "report": "rep", "active": true, "timestamp": 7],
            ["_from_external_id": "3", "_to": "ipaddress/10.0.0.3", "source": "src", "report": "rep", "active": true, "timestamp": 7],
        ])
    }

    @Test func problemsSkipTheRecordAndSayWhy() throws {
        let d = try definition(Self.header + """
            vertices:
              asset: {from: hosts, fields: {external_id: str($.id), name: lower($.name)}}
            """)
        let mapper = Mapper(definition: d, source: "s", report: "r", timestamp: 0)
        let ctx = EvalContext(variables: d.variables.values([:]))
        let (objects, issues) = mapper.map(["id": 9, "name": 42], with: d.vertices[0], context: ctx)
        #expect(objects.isEmpty)
        #expect(issues.map(\.description) == ["asset (asset) record 9: field 'name': lower expects a string as its argument, found integer"])
        let (none, keyIssues) = mapper.map(["name": "x"], with: d.vertices[0], context: ctx)
        #expect(none.isEmpty)
        #expect(keyIssues.map(\.description) == ["asset (asset): no value for the key 'external_id'"])
    }

    @Test func envelopesHoldAtMostAPageOfObjects() async throws {
        let path = Repo.temporaryPath("paged-records.json")
        try FileIO.write(Array(#"{"hosts": [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}, {"id": 3, "name": "c"}, {"id": 4, "name": "d"}, {"id": 5, "name": "e"}]}"#.utf8), to: path)
        var options = MapCommand.Options(definitionPath: Repo.fixtures + "/valid/minimal.yaml", recordsPath: path, reportTime: 1)
        options.pageSize = 2
        let output = await MapCommand.run(options)
        let envelopes = output.envelopes.compactMap { try? JSONParser.parse($0) }
        #expect(envelopes.map { $0["asset"]?.arrayValue?.count ?? 0 } == [2, 2, 1])
        #expect(envelopes.first?.objectValue?.keys == ["source", "report", "asset"])
    }

    /// `car map` and `car run --dry-run` are one pipeline: the same records give the same envelopes.
    @Test func mapAndDryRunGiveTheSameEnvelopes() async throws {
        let recordsPath = Repo.root + "/examples/reference/records.json"
        var options = MapCommand.Options(definitionPath: Repo.root + "/connectors/reference.yaml", recordsPath: recordsPath, reportTime: 1_732_838_400_000)
        options.source = "ref1"
        let mapped = await MapCommand.run(options)
        #expect(mapped.exitCode == 0)
        // The same records, served by a datasource.
        let records = try JSONParser.parse(try FileIO.read(recordsPath))
        let server = try HTTPServer { r in
            let route = r.path.split(separator: "/").first.map(String.init) ?? ""
            switch route {
            case "model_state_id": return .json(#"{"model_state_id": "5"}"#)
            default: return .json(JSONWriter().string(records[route] ?? []))
            }
        }
        defer { server.stop() }
        var run = RunOptions(definitionPath: Repo.root + "/connectors/reference.yaml")
        run.dryRun = true
        run.reportTime = 1_732_838_400_000
        run.pretty = false
        run.environment = ["CONNECTION_NAME": "ref1", "CONFIGURATION_AUTH_URL": server.baseURL, "CONFIGURATION_AUTH_PASSWORD": "admin"]
        let printed = Recorder<String>()
        #expect(await runCar(run, output: { printed.append($0) }) == 0)
        let dryRunEnvelopes = printed.all.joined().split(separator: "\n").compactMap { try? JSONParser.parse(String($0)) }
            .filter { ($0.objectValue?.keys.count ?? 0) > 2 && $0["delete"] == nil && $0["save_model_state"] == nil }
        #expect(dryRunEnvelopes == mapped.envelopes.compactMap { try? JSONParser.parse($0) })
        #expect(!dryRunEnvelopes.isEmpty)
    }

    @Test func mapSkipsInvalidObjectsAsRunDoes() async throws {
        let path = Repo.temporaryPath("invalid-records.json")
        try FileIO.write(Array(#"{"ip_addresses": [{"pk": 1, "address": ["10.0.0.1"]}, {"pk": 2, "address": "10.0.0.2"}]}"#.utf8), to: path)
        let output = await MapCommand.run(MapCommand.Options(definitionPath: Repo.root + "/connectors/reference.yaml", recordsPath: path, reportTime: 1))
        #expect(output.exitCode == 0)
        #expect(output.messages.contains { $0.hasPrefix("warning: skipped invalid ipaddress") }, "\(output.messages)")
        #expect(!output.envelopes.joined().contains("[\"10.0.0.1\"]"))
        #expect(output.envelopes.joined().contains("10.0.0.2"))
    }

    @Test func duplicatesAreSentOnce() async throws {
        let path = Repo.temporaryPath("duplicates-records.json")
        try FileIO.write(Array(#"{"hosts": [{"id": 1, "name": "a"}, {"id": 1, "name": "b"}, {"id": 2, "name": "c"}]}"#.utf8), to: path)
        let defPath = Repo.fixtures + "/valid/minimal.yaml"
        let output = await MapCommand.run(MapCommand.Options(definitionPath: defPath, recordsPath: path, reportTime: 1))
        #expect(output.exitCode == 0)
        #expect(output.messages.last?.contains("asset: 3 mapped, 2 printed, 1 duplicates") == true, "\(output.messages)")
    }

    @Test func anEdgeWhoseLookupFindsNothingSaysSo() async throws {
        let definitionPath = Repo.temporaryPath("lookup-nothing.yaml")
        try FileIO.write(Array((Self.header + """
              vulns: {path: /vulns/, id: $.id}
            vertices:
              asset: {from: hosts, fields: {external_id: str($.id), name: str($.id)}}
            edges:
              asset_vulnerability:
                from: hosts
                fields: {_from_external_id: str($.id), _to_external_id: "lookup('vulns', $.v).cve"}
            """).utf8), to: definitionPath)
        let records = Repo.temporaryPath("lookup-nothing.json")
        try FileIO.write(Array(#"{"hosts": [{"id": 1, "v": 9}], "vulns": [{"id": 8, "cve": "CVE-1"}]}"#.utf8), to: records)
        let output = await MapCommand.run(MapCommand.Options(definitionPath: definitionPath, recordsPath: records, reportTime: 1))
        #expect(output.messages.contains { $0.contains("no value for '_to_external_id' (its lookup found no record") }, "\(output.messages)")
    }

    @Test func identityHashesAreThoseOfTheIdentities() throws {
        var edge = JSONObject()
        edge["_from_external_id"] = "17"
        edge["_to"] = "ipaddress/10.0.0.5"
        let catalogue = CARCatalogue.core
        let edgeInfo = try #require(catalogue["asset_ipaddress"])
        #expect(Hash64.identity(of: edge, in: edgeInfo) == Hash64.of(Mapper.identity(of: edge, in: edgeInfo)))
        var vertex = JSONObject()
        vertex["external_id"] = "17"
        let vertexInfo = try #require(catalogue["asset"])
        #expect(Hash64.identity(of: vertex, in: vertexInfo) == Hash64.of("17"))
    }

    @Test func badRecordsFilesAreReported() async throws {
        let path = Repo.temporaryPath("bad-records.json")
        try FileIO.write(Array("{\"hosts\": [1,]}".utf8), to: path)
        let output = await MapCommand.run(MapCommand.Options(definitionPath: Repo.fixtures + "/valid/minimal.yaml", recordsPath: path, reportTime: 1))
        #expect(output.exitCode == 1)
        #expect(output.messages == ["\(path):1:14: error: unexpected ']', expected a value"])
    }
}

@Suite("car demo")
struct DemoTests {
    @Test func theDemoRunsOnEmbeddedDefaults() async {
        let result = await DemoRun.run(definitionPath: Repo.root + "/connectors/reference.yaml", assets: 60)
        #expect(result.exitCode == 0, "\(result.output)")
        #expect(result.output.contains("1. full import\n"))
        #expect(result.output.contains("3. incremental import\n"))
        #expect(result.output.contains("   equal: "))
        #expect(result.output.contains("incremental import finished in"))
    }

    @Test func outsideTheRepositoryItSaysWhereToRunIt() async {
        let result = await DemoRun.run(definitionPath: "/nonexistent/reference.yaml", assets: 5)
        #expect(result.exitCode == 1)
        #expect(result.output.hasSuffix("/nonexistent/reference.yaml not found: run the demo from the repository's top folder\n"))
    }
}
