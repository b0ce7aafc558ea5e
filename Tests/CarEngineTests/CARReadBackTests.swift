import Logging
import CarSimulators
import LoopbackHTTP
import Testing

@testable import CarDefinition
@testable import CarEngine
@testable import MappingDSL

/// Sends a read-back query as text and returns the status and body.
func rawQuery(_ sim: CARSimulator, _ text: String) async throws -> (status: Int, body: JSON) {
    let url = "http://127.0.0.1:\(sim.port)/api/car/v3/query"
    let auth = "Basic " + Base64.encode(Array("car-key:car-password".utf8))
    let response = try await CurlTransport().send(HTTPRequest(
        method: .post, url: url, headers: [("Authorization", auth), ("Content-Type", "application/json")],
        body: JSONWriter().bytes(["query": .string(text)])))
    return (response.status, (try? JSONParser.parse(response.body)) ?? .null)
}

func strictCAR() throws -> CARSimulator {
    var options = CARSimulatorOptions()
    options.graphqlOperators = CARSimulatorOptions.confirmedOperators
    return try CARSimulator(options: options)
}

/// A CAR client whose log lines are kept.
func carClient(_ sim: CARSimulator, operators: CARQueryOperators, log: CapturedLog) -> CARClient {
    var connection = CARConnection(baseURL: sim.baseURL, auth: .basic(key: "car-key", password: "car-password"))
    connection.retryDelayMs = 5
    connection.queryOperators = operators
    let redactor = Redactor()
    let logger = Logger.framework(format: .json, redactor: redactor) { line in log.lines.withLock { $0.append(line) } }
    return CARClient(connection: connection, transport: CurlTransport(), logger: logger, redactor: redactor)
}

@Suite("Reading back from CAR, as the service names things")
struct CARReadBackTests {
    func seeded(_ sim: CARSimulator) async throws {
        let car = carClient(sim)
        _ = try await car.postImport(envelope([
            ("asset", [["external_id": "17", "name": "web-1"], ["external_id": "18", "name": "db-1"]]),
            ("ipaddress", [["_key": "10.0.0.5"]]), ("hostname", [["_key": "web-1.example.com"]]),
            ("asset_ipaddress", [["_from_external_id": "17", "_to": "ipaddress/10.0.0.5"]]),
            ("asset_hostname", [["_from_external_id": "17", "_to": "hostname/web-1.example.com"]]),
        ], source: "src1", time: 1000))
        _ = try await car.postImport(envelope([("asset", [["external_id": "18", "name": "db-1"]])], source: "src1", time: 5000))
    }

    @Test func theQueryShapesIBMsConnectorsUse() async throws {
        let sim = try strictCAR()
        defer { sim.stop() }
        try await seeded(sim)
        #expect(try await rawQuery(sim, #"{ asset(where: {external_id: {_eq: "17"}}) { external_id, name } }"#).body
            == ["data": ["asset": [["external_id": "17", "name": "web-1"]]]])
        #expect(try await rawQuery(sim, #"{ asset(where: {_and: [{source: {_eq: "src1"}}, {last_seen_timestamp: {_lte: 2000}}]}) { external_id } }"#).body
            == ["data": ["asset": [["external_id": "17"]]]])
        // Edge ends are named <source>/<external id>, <source>/0/<address>, <source>/<host>.
        #expect(try await rawQuery(sim, #"{ asset_ipaddress(where: {asset_id: {_eq: "src1/17"}}) { ipaddress_id, active } }"#).body
            == ["data": ["asset_ipaddress": [["ipaddress_id": "src1/0/10.0.0.5", "active": true]]]])
        #expect(try await rawQuery(sim, #"{ asset_hostname(where: {asset_id: {_eq: "src1/17"}}) { hostname_id } }"#).body
            == ["data": ["asset_hostname": [["hostname_id": "src1/web-1.example.com"]]]])
    }

    @Test func unconfirmedOperatorsGet400WithAGraphQLErrorInStrictMode() async throws {
        let strict = try strictCAR()
        defer { strict.stop() }
        try await seeded(strict)
        for query in [#"{ asset(where: {external_id: {_in: ["17"]}}) { name } }"#,
                      #"{ asset(where: {_or: [{external_id: {_eq: "17"}}]}) { name } }"#]
        {
            let (status, body) = try await rawQuery(strict, query)
            #expect(status == 400)
            #expect(body["errors"]?[0]?["message"]?.stringValue?.contains("unknown operator") == true, "\(body)")
            #expect(body["data"] == nil)
        }
        // All operators by default.
        let lenient = try CARSimulator()
        defer { lenient.stop() }
        try await seeded(lenient)
        #expect(try await rawQuery(lenient, #"{ asset(where: {external_id: {_in: ["17"]}}) { name } }"#).body == ["data": ["asset": [["name": "web-1"]]]])
    }

    @Test func edgePatchesNameTheirEndsRelativeToTheSource() async throws {
        let sim = try strictCAR()
        defer { sim.stop() }
        try await seeded(sim)
        let car = carClient(sim)
        // With the source prefix nothing matches: 404, an unrecoverable failure.
        await expectFailure(20, containing: "status 404") {
            try await car.patchEdge(collection: "asset_ipaddress", source: "src1", from: "src1/17", to: "src1/0/10.0.0.5", ["active": false])
        }
        // An ipaddress end without 0/ names nothing either.
        await expectFailure(20, containing: "status 404") {
            try await car.patchEdge(collection: "asset_ipaddress", source: "src1", from: "17", to: "10.0.0.5", ["active": false])
        }
        try await car.patchEdge(collection: "asset_ipaddress", source: "src1", from: "17", to: "0/10.0.0.5", ["active": false])
        try await car.deactivateEdge("asset_hostname", source: "src1", from: CARVertex("asset", "17"), to: CARVertex("hostname", "web-1.example.com"))
        #expect(try await rawQuery(sim, #"{ asset_ipaddress(where: {active: {_eq: false}}) { asset_id } }"#).body
            == ["data": ["asset_ipaddress": [["asset_id": "src1/17"]]]])
        #expect(try await rawQuery(sim, #"{ asset_hostname(where: {active: {_eq: false}}) { asset_id } }"#).body
            == ["data": ["asset_hostname": [["asset_id": "src1/17"]]]])
    }

    @Test func keyCollectionsWithoutTheFieldsCARDerives() async throws {
        let sim = try CARSimulator()
        defer { sim.stop() }
        _ = try await carClient(sim).postImport(envelope([
            ("hostname", [["_key": "h.example.com"]]), ("ipaddress", [["_key": "10.1.1.1"]]), ("macaddress", [["_key": "00:11:22:33:44:55"]]),
        ]))
        let vertices = sim.graph["sources"]?["s1"]?["vertices"]
        #expect(vertices?["hostname"] == [["_key": "h.example.com", "host_name": "h.example.com"]])
        #expect(vertices?["ipaddress"] == [["_key": "10.1.1.1", "name": "10.1.1.1"]])
        #expect(vertices?["macaddress"] == [["_key": "00:11:22:33:44:55", "name": "00:11:22:33:44:55"]])
        // The engine judges them as the framework does: valid.
        let validator = try ImportValidator(schema: CARCatalogue.core.importSchema)
        var bare = JSONObject()
        bare["_key"] = "h.example.com"
        #expect(validator.problemsAsSent(bare, collection: "hostname").isEmpty)
        #expect(!validator.problems(bare, collection: "hostname").isEmpty)
    }

    @Test(arguments: [CARQueryOperators.auto, .confirmed])
    func typedReadBackGivesTheSameAnswerWithEitherOperatorSet(operators: CARQueryOperators) async throws {
        for strict in [false, true] {
            let sim = try strict ? strictCAR() : CARSimulator()
            defer { sim.stop() }
            try await seeded(sim)
            let log = CapturedLog()
            let car = carClient(sim, operators: operators, log: log)
            let edges = try await car.activeEdges("asset_ipaddress", from: "asset", to: "ipaddress", source: "src1",
                                                   touching: [CARVertex("asset", "17"), CARVertex("asset", "18")])
            #expect(edges.map { "\($0.from)|\($0.to)" } == ["asset/17|ipaddress/10.0.0.5"])
            let found = try await car.vertices("ipaddress", source: "src1", externalIDs: ["x"], keyField: "_key")
            #expect(found.isEmpty)
            let assets = try await car.vertices("asset", source: "src1", externalIDs: ["17", "18", "19"], keyField: "external_id")
            #expect(Set(assets.map(\.key)) == ["17", "18"])
            #expect(try await car.verticesNotSeen(since: 2000, collection: "asset", source: "src1", keyField: "external_id") == ["17"])
            let warnings = log.lines.withLock { $0 }.filter { $0.contains("using only _and, _eq and _lte") }
            // One warning, only when _in was tried and rejected.
            #expect(warnings.count == (operators == .auto && strict ? 1 : 0), "\(log.text)")
            #expect(car.confirmedOperatorsOnly == (operators == .confirmed || strict))
            let queries = sim.calls.filter { $0.hasPrefix("POST /api/car/v3/query") }.count
            #expect(queries >= 4)
        }
    }

    @Test func aQueryRejectedWithConfirmedOperatorsFailsTheRun() async throws {
        var options = CARSimulatorOptions()
        options.graphqlOperators = ["_and", "_eq"]
        let sim = try CARSimulator(options: options)
        defer { sim.stop() }
        let car = carClient(sim, operators: .auto, log: CapturedLog())
        // Nothing to fall back to: a recoverable failure that names the reason.
        await expectFailure(10, containing: "CAR query failed: POST query: status 400: unknown operator _lte") {
            _ = try await car.verticesNotSeen(since: 1, collection: "asset", source: "s1", keyField: "external_id")
        }
    }
}
