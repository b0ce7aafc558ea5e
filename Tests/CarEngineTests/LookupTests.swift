import Logging
import CarSimulators
import LoopbackHTTP
import Testing

@testable import CarDefinition
@testable import CarEngine
@testable import MappingDSL

/// Serves examples/reference/records.json the way the reference API does: a list per route,
/// `?pk=` filtering (empty: everything), Basic auth admin/admin.
func exampleRecordsServer(requests: Recorder<String>) throws -> HTTPServer {
    let doc = (try? JSONParser.parse(try FileIO.read(Repo.root + "/examples/reference/records.json"))) ?? .null
    return try HTTPServer { r in
        requests.append(r.target)
        // Change tracking needs no auth; this data never changes.
        if r.path == "/model_state_id/" { return .json(#"{"model_state_id": "42"}"#) }
        if r.path == "/delta/" {
            guard let from = r.queryValue("from"), let to = r.queryValue("to") else { return .json("{}", status: 400) }
            return .json(from == to ? "{}" : #"{"delta": {}}"#)
        }
        guard r.header("Authorization") == "Basic " + Base64.encode(Array("admin:admin".utf8)) else {
            return .json(#"{"detail": "Authentication credentials were not provided."}"#, status: 403)
        }
        let route = r.path.split(separator: "/").first.map(String.init) ?? ""
        guard case .array(let list)? = doc[route] else { return .json(#"{"detail": "Not found."}"#, status: 404) }
        var records = list
        if let pk = r.queryValue("pk"), !pk.isEmpty {
            let wanted = Set(pk.split(separator: ",").map(String.init))
            records = list.filter { wanted.contains(renderString($0["pk"] ?? .null)) }
        }
        return .json(JSONWriter().string(.array(records)))
    }
}

@Suite("Lookups during a run")
struct LookupRunTests {
    func harness(_ server: HTTPServer) throws -> (ConnectorDefinition, DatasourceClient) {
        let definition = try #require(DefinitionLoader.load(path: Repo.root + "/connectors/reference.yaml").definition)
        let log = CapturedLog()
        let redactor = Redactor(["admin"])
        let logger = Logger.framework(format: .json, redactor: redactor) { line in log.lines.withLock { $0.append(line) } }
        let values: [String: JSON] = ["url": .string(server.baseURL), "username": "admin", "password": "admin", "run_start_ms": 1, "source": "t"]
        let client = try DatasourceClient(definition: definition, values: values, transport: CurlTransport(), redactor: redactor, logger: logger)
        return (definition, client)
    }

    @Test func missesAreFetchedByIdInOneBatchAndCached() async throws {
        let requests = Recorder<String>()
        let server = try exampleRecordsServer(requests: requests)
        defer { server.stop() }
        let (definition, client) = try harness(server)
        let cache = LookupCache(definition: definition)
        let mapper = Mapper(definition: definition, source: "t", report: "r", timestamp: 1)
        let context = EvalContext(variables: definition.variables.values([:]), nowMs: 1)
        var apps: [JSON] = []
        try await client.forEachPage(of: "apps") { apps += $0 }
        let mapping = try #require(definition.edges.first { $0.name == "application_vulnerability" })
        let (edges, issues) = try await mapper.map(apps, with: mapping, context: context, cache: cache, client: client)
        #expect(issues.isEmpty)
        #expect(edges.map { "\($0["_from_external_id"] ?? .null)->\($0["_to_external_id"] ?? .null)" } == [
            "\"1\"->\"1\"", "\"1\"->\"2\"", "\"2\"->\"1\"", "\"2\"->\"2\"",
        ])
        #expect(requests.all == ["/apps/", "/assets/?pk=1,2"])
        // Mapping again is served from the cache.
        _ = try await mapper.map(apps, with: mapping, context: context, cache: cache, client: client)
        #expect(requests.all.count == 2)
    }

    @Test func recordsAlreadyReadServeLookupsWithoutRequests() async throws {
        let requests = Recorder<String>()
        let server = try exampleRecordsServer(requests: requests)
        defer { server.stop() }
        let (definition, client) = try harness(server)
        let cache = LookupCache(definition: definition)
        let context = EvalContext(variables: definition.variables.values([:]), nowMs: 1)
        try await client.forEachPage(of: "xrefproperties") { cache.add($0, endpoint: "xrefproperties", context: context) }
        var vulnerabilities: [JSON] = []
        try await client.forEachPage(of: "vulnerabilities") { vulnerabilities += $0 }
        let mapper = Mapper(definition: definition, source: "t", report: "r", timestamp: 1)
        let mapping = try #require(definition.vertices.first { $0.collection == "vulnerability" })
        let (objects, _) = try await mapper.map(vulnerabilities, with: mapping, context: context, cache: cache, client: client)
        #expect(objects.first?["xref_properties"]?["2"] == ["extref_typename": "BID", "extref_value": "10001", "q_extref_typeid": "7"])
        #expect(requests.all == ["/xrefproperties/", "/vulnerabilities/"])
    }

    @Test func aPortWithoutAddressesLinksToNone() async throws {
        let requests = Recorder<String>()
        let server = try exampleRecordsServer(requests: requests)
        defer { server.stop() }
        let (definition, client) = try harness(server)
        let cache = LookupCache(definition: definition)
        let context = EvalContext(variables: definition.variables.values([:]), nowMs: 1)
        var ports: [JSON] = []
        try await client.forEachPage(of: "ports") { ports += $0 }
        let mapper = Mapper(definition: definition, source: "t", report: "r", timestamp: 1)
        let mapping = try #require(definition.edges.first { $0.collection == "ipaddress_port" })
        let (edges, _) = try await mapper.map(ports, with: mapping, context: context, cache: cache, client: client)
        #expect(edges.count == 1)
        #expect(edges.first?["_from"] == "ipaddress/10.0.0.11")
        // The original connector's defect: an empty list sent as ?pk= (which means every record).
        #expect(!requests.all.contains("/ip_addresses/?pk="))
        #expect(requests.all == ["/ports/", "/ip_addresses/?pk=1"])
    }
}

@Suite("Streaming large lists")
struct StreamingTests {
    @Test func theSplitterFindsElementsAcrossAnyChunkBoundaries() throws {
        let text = #" [ {"a": "x,]}\"y", "b": [1, {"c": 2}]}, 17, "s\\\"]", null, [[]] ] "#
        let expected = try #require(try JSONScanner.arrayElements(Array(text.utf8))).map { Array(text.utf8)[$0] }.map { Array($0) }
        #expect(expected.count == 5)
        var rng = SplitMix64(seed: 3)
        for _ in 0..<200 {
            var splitter = ArrayElementSplitter()
            var found: [[UInt8]] = []
            var bytes = Array(text.utf8)[...]
            while !bytes.isEmpty {
                let n = 1 + Int(rng.next() % 7)
                found += splitter.feed(Array(bytes.prefix(n))).map { Array($0) }
                bytes = bytes.dropFirst(n)
            }
            #expect(found == expected)
            #expect(splitter.complete)
        }
        var notArray = ArrayElementSplitter()
        _ = notArray.feed(Array(#"{"items": []}"#.utf8))
        #expect(notArray.notAnArray)
    }

    @Test func aLargeListIsHandedOnInChunksWhileItArrives() async throws {
        let body = "[" + (1...4500).map { #"{"id": \#($0), "name": "n\#($0)"}"# }.joined(separator: ",") + "]"
        let server = try HTTPServer { _ in .json(body) }
        defer { server.stop() }
        let h = try Harness(definition(server.baseURL, endpoints: "  items: {path: /items/}"))
        var sizes: [Int] = []
        try await h.client.forEachPage(of: "items") { sizes.append($0.count) }
        #expect(sizes == [1000, 1000, 1000, 1000, 500])
    }
}
