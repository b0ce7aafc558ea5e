import CarSimulators
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@testable import CarDefinition
@testable import CarEngine
@testable import MappingDSL

/// The dependency index: incremental imports derive again only the records that look up
/// changed ones, and stay exact when the index is missing, stale, or left by a run that stopped
/// between sending its data and saving its state.
@Suite("Dependency index")
struct DependencyIndexTests {
    static func summary(_ rig: ReferenceRig, _ configure: @escaping (inout RunOptions) -> Void = { _ in }) async throws -> (RunSummary, String) {
        let path = Repo.temporaryPath("summary-\(Repo.scratchCount.withLock { $0 })-\(Int.random(in: 0..<1_000_000)).json")
        let (code, log) = await rig.run { o in
            o.summaryPath = path
            configure(&o)
        }
        #expect(code == 0, "\(log.text)")
        let json = try JSONParser.parse(try #require(Repo.read(path)))
        var s = RunSummary(mode: nil)
        for (k, v) in json["records_read"]?.objectValue ?? JSONObject() { s.recordsRead[k] = Int(v.doubleValue ?? 0) }
        for (k, v) in json["rederived_by_index"]?.objectValue ?? JSONObject() { s.rederivedByIndex[k] = Int(v.doubleValue ?? 0) }
        s.rereadEndpoints = (json["reread_endpoints"]?.arrayValue ?? []).compactMap(\.stringValue)
        return (s, log.text)
    }

    @Test func aChangedAssetDerivesOnlyTheAppsThatLookItUpAgain() async throws {
        let rig = try ReferenceRig(assets: 60, service: .confirmedOperators)
        defer { rig.stop() }
        // An app that contains the asset changed below.
        let asset = rig.datasource.pks("assets")[4]
        try rig.datasource.link("apps", rig.datasource.pks("apps")[0], field: "assets", add: [asset])
        _ = try await Self.summary(rig)
        try rig.datasource.link("assets", asset, field: "vulnerabilities", add: [1], remove: [])
        let (summary, log) = try await Self.summary(rig)
        #expect(summary.rereadEndpoints.isEmpty, "\(log)")
        #expect(log.contains("(dependency index)"))
        let apps = rig.datasource.count("apps")
        let derived = summary.rederivedByIndex["apps"] ?? 0
        #expect(derived > 0 && derived < apps, "\(derived) of \(apps) apps derived again")
        #expect((summary.recordsRead["apps"] ?? 0) == derived)
        #expect(summary.recordsRead["ports"] == nil)
        try await rig.expectIncrementalIsExact()
    }

    @Test func aMissingIndexIsRebuiltByReadingTheDependentEndpointsWhole() async throws {
        let rig = try ReferenceRig(assets: 20)
        defer { rig.stop() }
        _ = try await Self.summary(rig)
        for f in DirectoryListing.names(rig.stateDirectory + "/ref1") { _ = unlink(rig.stateDirectory + "/ref1/" + f) }
        try rig.datasource.update("assets", rig.datasource.pks("assets")[0], ["name": "renamed"])
        let (rebuilt, log) = try await Self.summary(rig)
        #expect(log.contains("dependency index: no dependency index for model state"), "\(log)")
        // Every endpoint the index covers is read whole once.
        #expect(Set(rebuilt.rereadEndpoints) == ["apps", "ports", "vulnerabilities"])
        // The run rebuilt it: the next one uses it.
        try rig.datasource.update("assets", rig.datasource.pks("assets")[1], ["name": "renamed too"])
        let (next, nextLog) = try await Self.summary(rig)
        #expect(next.rereadEndpoints.isEmpty, "\(nextLog)")
        try await rig.expectIncrementalIsExact()
    }

    @Test func anIndexOfAnotherDefinitionIsNotUsed() async throws {
        let rig = try ReferenceRig(assets: 10)
        defer { rig.stop() }
        _ = try await Self.summary(rig)
        // The same mappings in another file (another fingerprint).
        let copy = Repo.scratchDirectory("definition") + "/reference.yaml"
        try FileIO.write(try FileIO.read(Repo.root + "/connectors/reference.yaml") + Array("\n# edited\n".utf8), to: copy)
        try rig.datasource.update("assets", rig.datasource.pks("assets")[0], ["name": "renamed"])
        let (s, log) = try await Self.summary(rig) { $0.definitionPath = copy }
        #expect(log.contains("was made with another version of the definition"), "\(log)")
        #expect(!s.rereadEndpoints.isEmpty)
    }

    /// A run that sent its data but could not save its model state (as one killed then):
    /// CAR still holds the previous state, whose index is still there; the next run repeats
    /// the incremental import from it and ends exact.
    @Test func aRunStoppedBeforeSavingItsStateLeavesIndexAndStateConsistent() async throws {
        let rig = try ReferenceRig(assets: 20)
        defer { rig.stop() }
        _ = try await Self.summary(rig)
        let before = Set(DirectoryListing.names(rig.stateDirectory + "/ref1"))
        try rig.datasource.update("assets", rig.datasource.pks("assets")[2], ["name": "renamed"])
        try rig.datasource.link("assets", rig.datasource.pks("assets")[3], field: "vulnerabilities", add: [2], remove: [])
        rig.car.setFaults(["fail": [["method": "PATCH", "path": "source", "status": 500, "count": 10]]])
        let (failed, failedLog) = await rig.run()
        #expect(failed != 0)
        rig.car.setFaults(["clear": true])
        let after = Set(DirectoryListing.names(rig.stateDirectory + "/ref1"))
        // The previous state's index is kept beside the new one; no temporary file is left.
        #expect(before.isSubset(of: after), "\(before) \(after)\n\(failedLog.text)")
        #expect(!after.contains { $0.hasSuffix(".tmp") })
        let (s, log) = try await Self.summary(rig)
        #expect(s.rereadEndpoints.isEmpty, "\(log)")
        try await rig.expectIncrementalIsExact()
    }
}
