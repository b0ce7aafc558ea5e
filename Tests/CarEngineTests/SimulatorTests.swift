import Logging
import CarSimulators
import LoopbackHTTP
import Testing

@testable import CarDefinition
@testable import CarEngine
@testable import MappingDSL

/// Calls the CAR simulator as car does.
func carClient(_ sim: CARSimulator, token: Bool = false) -> CARClient {
    var connection = CARConnection(baseURL: sim.baseURL, auth: token ? .token("car-token-value") : .basic(key: "car-key", password: "car-password"))
    connection.retryDelayMs = 5
    connection.pollDelayMs = 5
    let redactor = Redactor()
    return CARClient(connection: connection, transport: CurlTransport(), logger: Logger.framework(format: .json, redactor: redactor) { _ in }, redactor: redactor)
}

func envelope(_ members: [(String, JSON)], source: String = "s1", time: Int64 = 1000) -> JSON {
    var o = JSONObject()
    o["source"] = ["_key": .string(source)]
    o["report"] = ["_key": .string(String(time)), "timestamp": .int(time)]
    for (k, v) in members { o[k] = v }
    return .object(o)
}

@Suite("CAR simulator")
struct CARSimulatorTests {
    @Test func importsUpsertAndValidate() async throws {
        let sim = try CARSimulator()
        defer { sim.stop() }
        let car = carClient(sim)
        _ = try await car.postImport(envelope([("asset", [["external_id": "1", "name": "a", "risk": 2]])]))
        _ = try await car.postImport(envelope([("asset", [["external_id": "1", "name": "a", "description": "d"]])]))
        #expect(sim.graph["sources"]?["s1"]?["vertices"]?["asset"] == [["external_id": "1", "name": "a", "risk": 2, "description": "d"]])
        // An invalid import is rejected whole, as CAR does.
        await expectFailure(10, containing: "asset[0]: /risk: is above the maximum 10.0") {
            _ = try await car.postImport(envelope([("asset", [["external_id": "2", "name": "b", "risk": 11]])]))
        }
        await expectFailure(10, containing: "ipaddress[0]: '_key' is required") {
            _ = try await car.postImport(envelope([("ipaddress", [["name": "x"]])]))
        }
    }

    @Test func deletionsDeactivateTheSourcesEdges() async throws {
        let sim = try CARSimulator()
        defer { sim.stop() }
        let car = carClient(sim)
        _ = try await car.postImport(envelope([
            ("asset", [["external_id": "1", "name": "a"]]), ("ipaddress", [["_key": "10.0.0.1"]]),
            ("asset_ipaddress", [["_from_external_id": "1", "_to": "ipaddress/10.0.0.1", "source": "s1"]]),
        ]))
        _ = try await car.deleteVertices(source: "s1", collection: "ipaddress", ids: ["10.0.0.1"], byKey: true)
        let s1 = sim.graph["sources"]?["s1"]
        #expect(s1?["vertices"]?["ipaddress"] == [])
        #expect(s1?["edges"]?["asset_ipaddress"]?[0]?["active"] == false)
        // An import marks the edge active again.
        _ = try await car.postImport(envelope([("asset_ipaddress", [["_from_external_id": "1", "_to": "ipaddress/10.0.0.1"]])]))
        #expect(sim.graph["sources"]?["s1"]?["edges"]?["asset_ipaddress"]?[0]?["active"] == true)
    }

    @Test func bothAuthModesAndWrongCredentials() async throws {
        let sim = try CARSimulator()
        defer { sim.stop() }
        #expect(try await carClient(sim, token: true).databaseStatus().exists == false)
        var connection = CARConnection(baseURL: sim.baseURL, auth: .basic(key: "car-key", password: "wrong"))
        connection.retryDelayMs = 1
        let redactor = Redactor()
        let wrong = CARClient(connection: connection, transport: CurlTransport(), logger: Logger.framework(format: .json, redactor: redactor) { _ in }, redactor: redactor)
        await expectFailure(10, containing: "status 401") { _ = try await wrong.databaseStatus() }
    }

    @Test func theGraphSurvivesARestartWithData() async throws {
        let dir = Repo.temporaryPath("car-sim-data")
        _ = try ChildProcess.run(["/bin/mkdir", "-p", dir])
        var options = CARSimulatorOptions()
        options.dataDirectory = dir
        let first = try CARSimulator(options: options)
        let car = carClient(first)
        _ = try await car.postImport(envelope([("asset", [["external_id": "1", "name": "a"]])]))
        try await car.saveModelState(source: "s1", id: "77")
        let before = first.graph
        first.stop()
        let second = try CARSimulator(options: options)
        defer { second.stop() }
        #expect(second.graph == before)
        #expect(try await carClient(second).modelStateID(source: "s1") == "77")
        _ = try ChildProcess.run(["/bin/rm", "-rf", dir])
    }

    @Test func faultsThroughTheAdminRoute() async throws {
        let sim = try CARSimulator(options: { var o = CARSimulatorOptions(); o.databaseReady = true; return o }())
        defer { sim.stop() }
        let transport = CurlTransport()
        let response = try await transport.send(HTTPRequest(method: .post, url: sim.adminURL + "/faults",
                                                             body: Array(#"{"fail": [{"path": "databases", "status": 504, "count": 1}]}"#.utf8)))
        #expect(response.status == 200)
        await expectFailure(10, containing: "status 504") { _ = try await carClient(sim).databaseStatus() }
        #expect(try await carClient(sim).databaseStatus().ready)
        let dropped = try await transport.send(HTTPRequest(method: .post, url: sim.adminURL + "/faults", body: Array(#"{"drop": 1}"#.utf8)))
        #expect(dropped.status == 200)
        // A dropped connection counts as 503 and is retried.
        #expect(try await carClient(sim).databaseStatus().ready)
    }
}

@Suite("Runs: validation, duplicates, parameters, secrets")
struct RunDetailTests {
    func definitionFile(_ name: String, _ text: String) throws -> String {
        let path = Repo.temporaryPath(name)
        try FileIO.write(Array(text.utf8), to: path)
        return path
    }

    static let assetsOnly = """
        format: 1
        connector: {name: t, version: 1.0.0}
        parameters:
          url: {type: url}
          password: {type: password}
          page_size: {type: integer, default: 100}
        datasource:
          base_url: ${url}
          auth: {type: basic, username: admin, password: "${password}"}
        endpoints:
          assets: {path: /assets/, id: $.pk}
        vertices:
          asset:
            from: assets
            fields: {external_id: str($.pk), name: $.name, risk: $.pk * 4}
          again:
            collection: asset
            from: assets
            fields: {external_id: str($.pk), name: $.name}
        """

    @Test func invalidVerticesAreSkippedAndCountedAndDuplicatesDropped() async throws {
        let e = try EndToEnd(databaseReady: true)
        defer { e.stop() }
        let path = try definitionFile("assets-only.yaml", Self.assetsOnly)
        let (code, log) = await e.run {
            $0.definitionPath = path
            $0.environment["CONFIGURATION_PARAMETER_URL"] = e.datasource.baseURL
            $0.environment["CONFIGURATION_PARAMETER_PASSWORD"] = "admin"
        }
        #expect(code == 0, "\(log.text)")
        // pk 3 and 4 give a risk above 10: skipped; the second mapping's copies are duplicates,
        // except for the two the first mapping skipped.
        #expect(e.vertices("asset").map { $0["external_id"] } == ["1", "2", "3", "4"])
        #expect(e.vertices("asset").compactMap { $0["risk"] } == [4, 8])
        #expect(log.text.contains("skipped invalid asset 3: field 'risk': is above the maximum 10.0"))
        #expect(log.text.contains("asset: 8 mapped, 4 sent, 2 duplicates, 2 skipped"))
        let (strict, strictLog) = await e.run {
            $0.definitionPath = path
            $0.strict = true
            $0.environment["CONFIGURATION_PARAMETER_URL"] = e.datasource.baseURL
            $0.environment["CONFIGURATION_PARAMETER_PASSWORD"] = "admin"
        }
        #expect(strict == 55)
        #expect(strictLog.text.contains("invalid asset 3 (--strict)"))
    }

    static func parameter(_ name: String) -> Parameter {
        Parameter(name: name, kind: .text, section: "auth", secret: false, required: false, defaultValue: nil, label: nil, description: nil,
                  placeholder: nil, location: SourceLocation(line: 1, column: 1))
    }

    @Test func parameterFlagsNamedAfterTheDefinition() throws {
        let parsed = try ParameterFlags.parse(["--url", "http://h", "-password=pw", "--page-size", "7"], parameters: ["url", "password", "page_size"].map(Self.parameter))
        #expect(parsed == ["url": "http://h", "password": "pw", "page_size": "7"])
        #expect(throws: ParameterFlags.Failure.self) { try ParameterFlags.parse(["--pasword", "x"], parameters: [Self.parameter("password")]) }
        do {
            _ = try ParameterFlags.parse(["--pasword", "x"], parameters: [Self.parameter("password")])
        } catch {
            #expect(error.description == "unknown option '--pasword' (did you mean 'password'?)")
        }
    }

    @Test func secretsFromFiles() async throws {
        let e = try EndToEnd(databaseReady: true)
        defer { e.stop() }
        let dir = Repo.temporaryPath("secrets")
        _ = try ChildProcess.run(["/bin/mkdir", "-p", dir])
        try FileIO.write(Array("admin\n".utf8), to: dir + "/CONFIGURATION_AUTH_PASSWORD")
        try FileIO.write(Array("car-password".utf8), to: dir + "/CAR_SERVICE_PASSWORD")
        let (code, log) = await e.run {
            $0.secretsDirectory = dir
            $0.environment["CONFIGURATION_AUTH_PASSWORD"] = nil
            $0.environment["CAR_SERVICE_PASSWORD"] = nil
        }
        #expect(code == 0, "\(log.text)")
        try FileIO.write(Array("eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d".utf8), to: dir + "/CONFIGURATION_AUTH_PASSWORD")
        let (jwe, jweLog) = await e.run {
            $0.secretsDirectory = dir
            $0.environment["CONFIGURATION_AUTH_PASSWORD"] = nil
        }
        #expect(jwe == 2)
        #expect(jweLog.text.contains("holds a JWE token but there is no key at \(dir)/.jwk/key.jwk"))
        _ = try ChildProcess.run(["/bin/rm", "-rf", dir])
    }

    @Test func progressIsLoggedAsTheRunGoes() async throws {
        let e = try EndToEnd(databaseReady: true)
        defer { e.stop() }
        let (code, log) = await e.run()
        #expect(code == 0)
        #expect(log.all.contains { $0.contains("read 4 records of assets: asset 4 mapped, 0 skipped, 4 sent; asset_vulnerability 4 mapped, 0 skipped, 0 sent; site_asset 3 mapped, 0 skipped, 0 sent") })
        #expect(log.all.last?.contains("\"message\":\"full import finished in") == true)
        #expect(log.all.allSatisfy { $0.contains("\"ibm_datetime\":\"") && $0.contains("\"source\":\"ref1\"") })
    }
}
