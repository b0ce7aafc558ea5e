import CarSimulators
import LoopbackHTTP
import Testing

@testable import CarDefinition
@testable import CarEngine
@testable import MappingDSL

/// CAR misbehaving: a well-behaved datasource, faults in the CAR simulator (docs/reliability.md).
enum CARMisbehaviours {
    static func car(_ name: String, faults: JSON, configure: @escaping @Sendable (inout RunOptions) -> Void = { _ in },
                    code: Int32, message: String, testedBy: String? = nil) -> Misbehaving
    {
        Misbehaving(name: name, carFaults: faults, configure: configure, handler: { r, _ in MisbehaviourRig.wellBehaved(r) },
                    code: code, message: message, testedBy: testedBy)
    }

    /// Each step of a full import, failing until the retries are spent.
    static let steps: [(name: String, method: String, path: String)] = [
        ("database status", "GET", "databases"), ("create database", "POST", "databases"),
        ("enter full import", "POST", "source/src/full-import-in-progress"), ("job status", "GET", "jobstatus"),
        ("import", "POST", "imports"), ("import status", "GET", "importstatus"),
        ("leave full import", "DELETE", "source/src/full-import-in-progress"), ("save model state", "PATCH", "source"),
    ]

    static let interruptions: [Misbehaving] = steps.map { step in
        var m = car("a full import interrupted at \(step.name)",
            faults: ["fail": [["method": .string(step.method), "path": .string(step.path), "status": 500, "count": 100]]],
            code: 10, message: "status 500")
        // Everything was imported and the full import left; only the save point is missing.
        m.fullImportLeft = step.name == "save model state"
        return m
    }

    static let all: [Misbehaving] = [
        car("an import accepted and then reported failed", faults: ["fail_import_jobs": ["status_code": 500, "count": 1]],
            code: 10, message: "failed with status 500: injected import failure"),
        car("status polls that never complete", faults: ["incomplete_polls": 1_000_000],
            code: 10, message: "did not complete within 1 s"),
        car("a 401 in the middle of a run", faults: ["fail": [["method": "POST", "path": "imports", "status": 401, "count": 1, "after": 1]]],
            configure: { $0.pageSize = 1 }, code: 10, message: "CAR import failed: POST imports: status 401"),
        car("duplicate job ids", faults: ["duplicate_job_ids": true], configure: { $0.pageSize = 1 },
            code: 10, message: "CAR answered the job id job-1 for two imports; their outcomes cannot be told apart"),
    ] + interruptions
}

@Suite("CAR that misbehaves")
struct MisbehavingCARTests {
    @Test(arguments: CARMisbehaviours.all)
    func misbehaves(_ m: Misbehaving) async throws {
        let run = try await MisbehaviourRig.run(m)
        run.expectFailed(m)
    }

    /// After each interrupted step, the next run (CAR well again) repeats the full import.
    @Test(arguments: CARMisbehaviours.interruptions)
    func theNextRunRepeatsTheFullImport(_ m: Misbehaving) async throws {
        var options = CARSimulatorOptions()
        options.password = DistinctSecrets.carPassword
        let car = try CARSimulator(options: options)
        defer { car.stop() }
        let first = try await MisbehaviourRig.run(m, car: car)
        first.expectFailed(m)
        car.setFaults(["clear": true])
        var again = m
        again.carFaults = nil
        let next = try await MisbehaviourRig.run(again, car: car)
        #expect(next.code == 0, "\(next.log.text)")
        #expect(next.log.text.contains("full import"), "\(next.log.text)")
        #expect(next.source?["full_import_in_progress"] == false)
        #expect(next.source?["vertices"]?["asset"]?.arrayValue?.count == 3)
    }

    @Test func aModelStateWithQuotesAndNonASCIIRoundTrips() async throws {
        let state = #"v"1' é 東京 \ "#
        let calls = Counter()
        let deltas = Recorder<String>()
        let m = Misbehaving(
            name: "model state with quotes", endpoint: #"{path: /items/, by_ids: {query: {id: "${join(ids, ',')}"}}}"#,
            modelState: """
                current: {request: {path: /state}, value: $.state}
                  delta:
                    request: {path: /delta, query: {from: "${last_state}"}}
                    updated: $.updated
                """,
            handler: { r, _ in
                switch r.path {
                case "/state": return .json(JSONWriter().string(["state": .string(state + String(calls.next()))]))
                case "/delta":
                    deltas.append(r.queryValue("from") ?? "")
                    return .json(#"{"updated": []}"#)
                default: return MisbehaviourRig.wellBehaved(r)
                }
            }, code: 0, message: "")
        var options = CARSimulatorOptions()
        options.password = DistinctSecrets.carPassword
        let car = try CARSimulator(options: options)
        defer { car.stop() }
        let full = try await MisbehaviourRig.run(m, car: car)
        #expect(full.code == 0, "\(full.log.text)")
        #expect(full.source?["model_state_id"] == .string(state + "1"))
        let incremental = try await MisbehaviourRig.run(m, car: car)
        #expect(incremental.code == 0, "\(incremental.log.text)")
        #expect(incremental.log.text.contains("incremental import"), "\(incremental.log.text)")
        #expect(deltas.all == [state + "1"], "the change log is asked from the saved state, exactly")
        #expect(incremental.source?["model_state_id"] == .string(state + "2"))
    }
}

@Suite("Secrets stay out of everything a failing run prints or leaves")
struct MisbehaviourSecretTests {
    /// Every failure path above, with distinctive secrets of every kind, at debug level, as a
    /// run and as a dry run, with the export files kept: no secret in any form.
    @Test func noSecretInAnyFormOnAnyFailurePath() async throws {
        var scanned = 0
        var debugRuns = 0
        var spilled = 0
        var printed = 0
        for m in DatasourceMisbehaviours.all + CARMisbehaviours.all {
            for dryRun in [false, true] where !(dryRun && m.carFaults != nil) {
                let run = try await MisbehaviourRig.run(m, dryRun: dryRun, debug: true)
                if !dryRun { #expect(run.code == m.code, "\(m.name): \(run.log.text)") }
                for (what, text) in [("log", run.log.text), ("output", run.output), ("export files", run.exportFiles)] {
                    let leaks = DistinctSecrets.leaks(in: text)
                    #expect(leaks.isEmpty, "\(m.name)\(dryRun ? " (dry run)" : ""): \(what) holds \(leaks)")
                }
                if run.log.text.contains("\"level\":\"DEBUG\"") { debugRuns += 1 }
                if !run.exportFiles.isEmpty { spilled += 1 }
                if !run.output.isEmpty { printed += 1 }
                scanned += 1
            }
        }
        #expect(scanned >= 40)
        #expect(debugRuns >= 20, "debug lines are scanned")
        #expect(spilled >= 1, "export files are scanned (runs that read records before failing)")
        #expect(printed >= 1, "dry-run output is scanned")
    }
}
