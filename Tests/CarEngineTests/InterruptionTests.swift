import CarSimulators
import Foundation
import LoopbackHTTP
import Testing

@testable import CarDefinition
@testable import CarEngine
@testable import MappingDSL

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Interrupted runs", .enabled(if: CarBinary.exists, "the car executable is not built"))
struct InterruptionTests {
    /// Waits for the child, at most `seconds`; nil when it is still running then. Sleeps as a
    /// task: a blocked thread of the cooperative pool would hold up the tests beside it.
    static func wait(_ child: ChildProcess, seconds: Double) async -> Int32? {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        var status: Int32 = 0
        while ContinuousClock.now < deadline {
            let rc = waitpid(child.pid, &status, WNOHANG)
            if rc == child.pid { return (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F) }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return nil
    }

    @Test(arguments: [SIGTERM, SIGINT])
    func aSignalDuringASlowReadExits10WithoutSavingTheModelState(signal: Int32) async throws {
        let datasource = try ReferenceSimulator(assets: 30, seed: 3)
        let car = try CARSimulator()
        defer {
            datasource.stop()
            car.stop()
        }
        // Every data route answers after 3 s: the run is reading when the signal comes.
        datasource.add(ReferenceSimulator.Fault(path: "/", delayMs: 3000, count: nil))
        let log = Repo.temporaryPath("interrupted-\(signal).log")
        var environment = ProcessInfo.processInfo.environment
        for (k, v) in ["CAR_SERVICE_URL": car.baseURL, "CAR_SERVICE_KEY": "car-key", "CAR_SERVICE_PASSWORD": "car-password",
                       "CONNECTION_NAME": "ref1", "CONFIGURATION_AUTH_URL": datasource.baseURL, "CONFIGURATION_AUTH_PASSWORD": "admin"]
        {
            environment[k] = v
        }
        let child = try ChildProcess([CarBinary.path, "run", Repo.root + "/connectors/reference.yaml"], standardError: log, environment: environment)
        // Until the full import is under way (the bare envelope posted), at most 20 s.
        var started = false
        for _ in 0..<400 where !started {
            try await Task.sleep(for: .milliseconds(50))
            started = car.calls.contains { $0.hasPrefix("POST /api/car/v2/imports") }
        }
        #expect(started, "the run reached the datasource read")
        kill(child.pid, signal)
        // The run stops within its 4 s deadline; the wait is generous for loaded machines.
        let code = await Self.wait(child, seconds: 30)
        if code == nil { child.stop() }
        #expect(code == 10)
        let text = Repo.read(log) ?? ""
        let name = signal == SIGTERM ? "SIGTERM" : "SIGINT"
        #expect(text.contains("interrupted by \(name) while reading the datasource and sending vertices (full import)"), "\(text)")
        #expect(text.contains("CAR's full import was left in progress"), "\(text)")
        #expect(text.components(separatedBy: "interrupted by").count == 2, "one line says so: \(text)")
        let source = car.graph["sources"]?["ref1"]
        #expect(source?["model_state_id"] == .null, "no model state saved")
        #expect(source?["full_import_in_progress"] == true, "CAR's full-import state is left as it is")
        #expect(!car.calls.contains { $0.hasPrefix("DELETE /api/car/v2/source/ref1/full-import-in-progress") })
    }

    @Test func theBenchmarkSmokeTestFailsWhenARunFails() throws {
        let result = try CarBinary.run(["bench", "run", "--quick", "--definition", "/nonexistent.yaml"])
        #expect(result.status != 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("/nonexistent.yaml not found"), "\(result.stdout)")
    }
}
