import CarSimulators
import LoopbackHTTP
import Testing

@testable import CarDefinition
@testable import CarEngine
@testable import MappingDSL

/// car against the CAR simulator and a datasource serving the example records.
struct EndToEnd {
    let car: CARSimulator
    let datasource: HTTPServer
    let requests = Recorder<String>()

    init(databaseReady: Bool = false) throws {
        var options = CARSimulatorOptions()
        options.databaseReady = databaseReady
        car = try CARSimulator(options: options)
        datasource = try exampleRecordsServer(requests: requests)
    }

    func stop() {
        car.stop()
        datasource.stop()
    }

    func options(_ configure: (inout RunOptions) -> Void = { _ in }) -> RunOptions {
        var o = RunOptions(definitionPath: Repo.root + "/connectors/reference.yaml")
        o.environment = [
            "CAR_SERVICE_URL": car.baseURL, "CAR_SERVICE_KEY": "car-key", "CAR_SERVICE_PASSWORD": "car-password",
            "CONNECTION_NAME": "ref1", "CONFIGURATION_AUTH_URL": datasource.baseURL, "CONFIGURATION_AUTH_PASSWORD": "admin",
        ]
        o.carDelayMs = 5
        o.reportTime = 1_732_838_400_000
        o.logFormat = .json
        configure(&o)
        return o
    }

    func run(_ configure: (inout RunOptions) -> Void = { _ in }) async -> (code: Int32, log: CapturedLog) {
        let log = CapturedLog()
        let code = await runCar(options(configure), sink: { line in log.lines.withLock { $0.append(line) } })
        return (code, log)
    }

    var source: JSON { car.graph["sources"]?["ref1"] ?? .null }
    func vertices(_ c: String) -> [JSON] { source["vertices"]?[c]?.arrayValue ?? [] }
    func edges(_ c: String) -> [JSON] { source["edges"]?[c]?.arrayValue ?? [] }
    var modelState: JSON { source["model_state_id"] ?? .null }
}

@Suite("Runs against the CAR simulator")
struct RunTests {
    @Test func aFreshServiceGetsAFullImportThenIncrementals() async throws {
        let e = try EndToEnd()
        defer { e.stop() }
        let (code, log) = await e.run()
        #expect(code == 0, "\(log.text)")
        #expect(e.car.graph["database"]?["is_ready"] == true, "the database was created")
        let calls = e.car.calls
        #expect(calls.contains("POST /api/car/v2/databases"))
        #expect(calls.contains("POST /api/car/v2/source/ref1/full-import-in-progress"))
        #expect(calls.contains("DELETE /api/car/v2/source/ref1/full-import-in-progress"))
        #expect(e.source["full_import_in_progress"] == false)
        #expect(e.modelState == "42")
        #expect(e.vertices("asset").count == 4)
        #expect(e.vertices("site").count == 2)
        #expect(e.vertices("vulnerability").count == 3)
        #expect(e.edges("asset_vulnerability").count == 4)
        #expect(e.edges("application_vulnerability").count == 4)
        #expect(e.edges("ipaddress_port").map { $0["_from"] } == ["ipaddress/10.0.0.11"])
        #expect(log.text.contains("full import: the CAR database was just created"))
        #expect(log.text.contains("full import finished"))
        #expect(e.car.graph["extensions"]?["7149de6b-a075-499d-846f-a193d2b09ea5"]?["version"] == "1")

        // Second run: incremental (the datasource's state is still 42: nothing changes).
        let (second, log2) = await e.run()
        #expect(second == 0, "\(log2.text)")
        #expect(log2.text.contains("incremental import of source ref1 from model state 42 to 42"))
        #expect(!e.car.calls.suffix(20).contains("POST /api/car/v3/carSchema"), "the extension is posted once")
    }

    @Test func withoutASavedModelStateTheRunIsFull() async throws {
        let e = try EndToEnd(databaseReady: true)
        defer { e.stop() }
        let (code, log) = await e.run()
        #expect(code == 0)
        #expect(log.text.contains("full import: CAR has no saved model state for source ref1"))
        #expect(!e.car.calls.contains("POST /api/car/v2/databases"))
    }

    @Test func forcedModes() async throws {
        let e = try EndToEnd(databaseReady: true)
        defer { e.stop() }
        let (code, log) = await e.run { $0.mode = .incremental }
        #expect(code == 10)
        #expect(log.text.contains("an incremental import is not possible: CAR has no saved model state for source ref1"))
        #expect(await e.run().code == 0)
        let (full, fullLog) = await e.run { $0.mode = .full }
        #expect(full == 0)
        #expect(fullLog.text.contains("full import of source ref1"))
    }

    @Test func aFreshDatabaseMeansAFullImport() async throws {
        let e = try EndToEnd(databaseReady: true)
        defer { e.stop() }
        #expect(await e.run().code == 0)
        e.car.setFaults(["no_database": true])
        let (code, log) = await e.run()
        #expect(code == 0)
        #expect(log.text.contains("full import: the CAR database was just created"))
    }

    @Test func aServerErrorOnAnImportIsRecoverable() async throws {
        let e = try EndToEnd(databaseReady: true)
        defer { e.stop() }
        #expect(await e.run().code == 0)
        e.car.setFaults(["fail": [["method": "POST", "path": "imports", "status": 500, "count": 1]]])
        let (code, log) = await e.run { $0.mode = .full }
        #expect(code == 10)
        #expect(log.text.contains("CAR import failed: POST imports: status 500"))
        #expect(e.modelState == "42", "the model state is kept")
    }

    @Test func aNotFoundOnImportsIsUnrecoverableAndResetsTheModelState() async throws {
        let e = try EndToEnd(databaseReady: true)
        defer { e.stop() }
        #expect(await e.run().code == 0)
        e.car.setFaults(["fail": [["method": "POST", "path": "imports", "status": 404, "count": 1]]])
        let (code, log) = await e.run { $0.mode = .full }
        #expect(code == 20)
        #expect(log.text.contains("model state reset"))
        #expect(e.modelState == "")
        let (next, nextLog) = await e.run()
        #expect(next == 0)
        #expect(nextLog.text.contains("full import: CAR has no saved model state"))
    }

    @Test(arguments: [(500, Int32(10)), (409, 20)])
    func failedImportJobs(statusCode: Int, expected: Int32) async throws {
        let e = try EndToEnd(databaseReady: true)
        defer { e.stop() }
        e.car.setFaults(["fail_import_jobs": ["status_code": .int(Int64(statusCode)), "count": 1]])
        let (code, log) = await e.run()
        #expect(code == expected)
        #expect(log.text.contains("failed with status \(statusCode): injected import failure"))
    }

    @Test func unavailableTwiceThenFine() async throws {
        let e = try EndToEnd(databaseReady: true)
        defer { e.stop() }
        e.car.setFaults(["fail": [["path": "source/ref1", "method": "GET", "status": 503, "count": 2]]])
        let (code, log) = await e.run()
        #expect(code == 0, "\(log.text)")
        #expect(log.text.contains("retry 2 of 3"))
    }

    @Test func anUnreachableCARIsRecoverable() async throws {
        let e = try EndToEnd()
        defer { e.stop() }
        let closed = try RefusingPort()
        let (code, log) = await e.run { $0.environment["CAR_SERVICE_URL"] = closed.baseURL + "/api/car/v2" }
        #expect(code == 10)
        #expect(log.text.contains("after 3 retries"))
    }

    @Test func datasourceFailuresKeepTheirCodes() async throws {
        let e = try EndToEnd(databaseReady: true)
        defer { e.stop() }
        let (code, _) = await e.run { $0.environment["CONFIGURATION_AUTH_PASSWORD"] = "wrong" }
        #expect(code == 53)
        let closed = try RefusingPort()
        let (unreachable, _) = await e.run { $0.environment["CONFIGURATION_AUTH_URL"] = closed.baseURL }
        #expect(unreachable == 51)
    }

    @Test func missingCARSettingsExitWithTwo() async throws {
        let e = try EndToEnd()
        defer { e.stop() }
        let (code, log) = await e.run { $0.environment["CAR_SERVICE_PASSWORD"] = nil }
        #expect(code == 2)
        #expect(log.text.contains("missing the CAR service password (-car-service-password or CAR_SERVICE_PASSWORD)"))
        let (noSource, log2) = await e.run { $0.environment["CONNECTION_NAME"] = nil }
        #expect(noSource == 2)
        #expect(log2.text.contains("missing the source: -source or CONNECTION_NAME"))
    }

    @Test func tokenAuthentication() async throws {
        let e = try EndToEnd()
        defer { e.stop() }
        let (code, log) = await e.run {
            $0.environment["CAR_SERVICE_URL"] = nil
            $0.environment["CAR_SERVICE_URL_FOR_AUTHTOKEN"] = e.car.baseURL
            $0.environment["CAR_SERVICE_AUTHTOKEN"] = "car-token-value"
        }
        #expect(code == 0, "\(log.text)")
        #expect(!log.text.contains("car-token-value"))
    }

    @Test func anInternalErrorExitsWithOneAndSaysWhy() async throws {
        let e = try EndToEnd(databaseReady: true)
        defer { e.stop() }
        let (code, log) = await e.run {
            $0.edgeMemoryLimit = 0
            $0.exportDataDirectory = "/nonexistent/dir"
        }
        #expect(code == 1)
        #expect(log.text.contains("cannot write edges to '/nonexistent/dir/car-edges-"))
    }

    @Test func edgesSpillToAFileAndArriveAllTheSame() async throws {
        let e = try EndToEnd(databaseReady: true)
        defer { e.stop() }
        let dir = Repo.temporaryPath("spill")
        _ = try ChildProcess.run(["/bin/mkdir", "-p", dir])
        let (code, _) = await e.run {
            $0.edgeMemoryLimit = 2
            $0.exportDataDirectory = dir
        }
        #expect(code == 0)
        #expect(e.edges("asset_vulnerability").count == 4)
        #expect(DirectoryListing.names(dir).filter { $0.hasPrefix("car-edges-") }.isEmpty, "the spill file is removed")
    }

    @Test func envelopesAtThePageSizeAndAtMostTwentyJobsInFlight() async throws {
        let e = try EndToEnd(databaseReady: true)
        defer { e.stop() }
        e.car.setFaults(["incomplete_polls": 1])
        let (code, log) = await e.run { $0.pageSize = 1 }
        #expect(code == 0, "\(log.text)")
        let imports = e.car.calls.filter { $0 == "POST /api/car/v2/imports" }.count
        // One bare envelope, then one object per envelope: 24 vertices and 25 edges.
        #expect(imports == 1 + 24 + 25)
        #expect(e.car.maxJobsInFlight <= 20)
        #expect(e.car.maxJobsInFlight >= 2)
    }

    @Test func deletionsAreChunkedAndEncoded() {
        let ids = (0..<500).map { "host/\($0) é" }
        let chunks = CARClient.chunk(ids, maxCharacters: 1800)
        #expect(chunks.count > 1)
        #expect(chunks.flatMap { $0 } == ids)
        for c in chunks {
            #expect(c.map { URLs.encodeQuery($0) }.joined(separator: ",").utf8.count <= 1800)
        }
    }
}

@Suite("Dry runs")
struct DryRunTests {
    @Test func theReferenceConnectorsDryRunMatchesTheGoldenFile() async throws {
        let requests = Recorder<String>()
        let datasource = try exampleRecordsServer(requests: requests)
        defer { datasource.stop() }
        var o = RunOptions(definitionPath: Repo.root + "/connectors/reference.yaml")
        o.dryRun = true
        o.reportTime = 1_732_838_400_000
        o.pretty = false
        o.source = "ref1"
        o.environment = ["CONFIGURATION_AUTH_URL": datasource.baseURL, "CONFIGURATION_AUTH_PASSWORD": "admin"]
        let out = Recorder<String>()
        let log = CapturedLog()
        let code = await runCar(o, sink: { line in log.lines.withLock { $0.append(line) } }, output: { out.append($0) })
        #expect(code == 0, "\(log.text)")
        let text = out.all.joined().replacing(datasource.baseURL, with: "http://datasource")
        expectGolden(text, path: Repo.fixtures + "/golden/reference-dry-run.jsonl")
        #expect(!text.contains("admin"))
        #expect(log.text.contains("full import finished"))
    }
}
