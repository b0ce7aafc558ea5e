import CarSimulators
import LoopbackHTTP
import Testing

@testable import CarDefinition
@testable import CarEngine
@testable import MappingDSL

/// The CAR simulator as the tests run it (answering every operator it implements, or only those
/// confirmed against the real service, car-service-api.md), and the dependency index the runs
/// keep: used, off (dependent endpoints read whole), or made stale before every run (it belongs
/// to another model state: the run falls back and rebuilds it).
struct CARService: CaseIterable, CustomTestStringConvertible, Sendable, Hashable {
    enum Operators: String, Sendable { case all, confirmed }
    enum Index: String, Sendable { case kept, off, stale }

    var operators: Operators
    var index: Index

    static let allOperators = CARService(operators: .all, index: .kept)
    static let confirmedOperators = CARService(operators: .confirmed, index: .kept)
    static let allCases: [CARService] = [
        allOperators, confirmedOperators, CARService(operators: .all, index: .off), CARService(operators: .confirmed, index: .stale),
    ]

    func simulator() throws -> CARSimulator {
        var options = CARSimulatorOptions()
        if operators == .confirmed { options.graphqlOperators = CARSimulatorOptions.confirmedOperators }
        return try CARSimulator(options: options)
    }

    var testDescription: String { "\(operators.rawValue) operators, index \(index.rawValue)" }
}

/// The reference connector between the reference datasource simulator and the CAR simulator.
struct ReferenceRig {
    let datasource: ReferenceSimulator
    let car: CARSimulator
    let index: CARService.Index
    /// This rig's state directory (the dependency index between its runs).
    let stateDirectory: String

    init(assets: Int = 20, seed: UInt64 = 1, service: CARService = .allOperators) throws {
        datasource = try ReferenceSimulator(assets: assets, seed: seed)
        car = try service.simulator()
        index = service.index
        stateDirectory = Repo.scratchDirectory("state")
    }

    /// Makes every index of the rig stale: it now says it belongs to another model state.
    func makeIndexStale() {
        let dir = stateDirectory + "/ref1"
        for name in DirectoryListing.names(dir) where name.hasSuffix(".idx") {
            guard let text = Repo.read(dir + "/" + name), let nl = text.firstIndex(of: "\n") else { continue }
            var header = text[..<nl].split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            if header.count == 3 { header[1] = "another-state" }
            try? FileIO.write(Array((header.joined(separator: "\t") + text[nl...]).utf8), to: dir + "/" + name)
        }
    }

    func stop() {
        datasource.stop()
        car.stop()
    }

    static func options(datasource: ReferenceSimulator, car: CARSimulator, _ configure: (inout RunOptions) -> Void = { _ in }) -> RunOptions {
        var o = RunOptions(definitionPath: Repo.root + "/connectors/reference.yaml")
        o.environment = [
            "CAR_SERVICE_URL": car.baseURL, "CAR_SERVICE_KEY": "car-key", "CAR_SERVICE_PASSWORD": "car-password",
            "CONNECTION_NAME": "ref1", "CONFIGURATION_AUTH_URL": datasource.baseURL, "CONFIGURATION_AUTH_PASSWORD": "admin",
        ]
        o.carDelayMs = 2
        o.logFormat = .json
        configure(&o)
        return o
    }

    @discardableResult
    func run(_ configure: (inout RunOptions) -> Void = { _ in }) async -> (code: Int32, log: CapturedLog) {
        let log = CapturedLog()
        if index == .stale { makeIndexStale() }
        let state = stateDirectory
        let index = self.index
        let code = await runCar(Self.options(datasource: datasource, car: car) { o in
            o.stateDirectory = state
            o.dependencyIndex = index == .off ? "off" : "on"
            configure(&o)
        }, sink: { line in log.lines.withLock { $0.append(line) } })
        return (code, log)
    }

    /// The source's graph, as `GraphComparison` compares graphs.
    static func normalized(_ car: CARSimulator) -> JSON { GraphComparison.normalized(car, source: "ref1") }

    /// The graph a full import of the datasource as it is now gives in an empty CAR.
    func freshFullImport() async throws -> JSON {
        let fresh = try CARSimulator()
        defer { fresh.stop() }
        let log = CapturedLog()
        let code = await runCar(Self.options(datasource: datasource, car: fresh) { $0.dependencyIndex = "off" }, sink: { line in log.lines.withLock { $0.append(line) } })
        #expect(code == 0, "\(log.text)")
        return Self.normalized(fresh)
    }

    /// Runs an incremental import and checks the graph equals a fresh full import.
    func expectIncrementalIsExact(sourceLocation: Testing.SourceLocation = #_sourceLocation) async throws {
        let (code, log) = await run()
        #expect(code == 0, "\(log.text)", sourceLocation: sourceLocation)
        #expect(log.text.contains("incremental import of source ref1"), "\(log.text)", sourceLocation: sourceLocation)
        let expected = try await freshFullImport()
        let actual = Self.normalized(car)
        if actual != expected {
            Issue.record("the graph after incremental imports differs from a fresh full import:\n\(Self.difference(actual, expected))", sourceLocation: sourceLocation)
        }
    }

    static func difference(_ actual: JSON, _ expected: JSON) -> String { GraphComparison.difference(actual, expected) }
}

@Suite("Exact incremental imports of the reference connector")
struct IncrementalTests {
    func rig(_ assets: Int = 20, _ service: CARService) async throws -> ReferenceRig {
        let rig = try ReferenceRig(assets: assets, service: service)
        let (code, log) = await rig.run()
        #expect(code == 0, "\(log.text)")
        #expect(log.text.contains("full import"))
        return rig
    }

    @Test(arguments: CARService.allCases)
    func deletingAnAssetTakesItsAddressesAndHostWithIt(service: CARService) async throws {
        let rig = try await rig(20, service)
        defer { rig.stop() }
        let ipsBefore = rig.datasource.count("ip_addresses")
        try rig.datasource.delete("assets", 3)
        #expect(rig.datasource.count("ip_addresses") == ipsBefore - 1)
        try await rig.expectIncrementalIsExact()
    }

    @Test(arguments: CARService.allCases)
    func deletingAVulnerability(service: CARService) async throws {
        let rig = try await rig(20, service)
        defer { rig.stop() }
        try rig.datasource.delete("vulnerabilities", 1)
        try await rig.expectIncrementalIsExact()
    }

    @Test(arguments: CARService.allCases)
    func renamingAndRetyping(service: CARService) async throws {
        let rig = try await rig(20, service)
        defer { rig.stop() }
        try rig.datasource.update("assets", 2, ["name": "renamed", "type": "Server"])
        try rig.datasource.update("sites", 1, ["name": "HQ"])
        try await rig.expectIncrementalIsExact()
    }

    @Test(arguments: CARService.allCases)
    func movingAnAssetToAnotherSite(service: CARService) async throws {
        let rig = try await rig(100, service)
        defer { rig.stop() }
        try rig.datasource.update("assets", 5, ["site": 2])
        try rig.datasource.update("assets", 6, ["site": .null])
        try await rig.expectIncrementalIsExact()
    }

    @Test(arguments: CARService.allCases)
    func addingAndRemovingVulnerabilitiesOfAnAsset(service: CARService) async throws {
        let rig = try await rig(20, service)
        defer { rig.stop() }
        try rig.datasource.link("assets", 4, field: "vulnerabilities", add: [1, 2])
        try rig.datasource.link("assets", 7, field: "vulnerabilities", remove: [1, 2, 3, 4, 5])
        try await rig.expectIncrementalIsExact()
    }

    @Test(arguments: CARService.allCases)
    func edgesDerivedThroughOtherRecords(service: CARService) async throws {
        let rig = try await rig(20, service)
        defer { rig.stop() }
        // Application → vulnerability goes through the app's assets: the app is not in the delta.
        let app = try rig.datasource.create("apps", ["name": "billing", "assets": [8, 9]])
        #expect(await rig.run().code == 0)
        try rig.datasource.link("assets", 8, field: "vulnerabilities", remove: [1, 2, 3, 4, 5])
        try rig.datasource.delete("assets", 9)
        try await rig.expectIncrementalIsExact()
        try rig.datasource.link("apps", app, field: "assets", remove: [8])
        try await rig.expectIncrementalIsExact()
    }

    @Test(arguments: CARService.allCases)
    func changingAnAddressChangesTheVertexKey(service: CARService) async throws {
        let rig = try await rig(20, service)
        defer { rig.stop() }
        try rig.datasource.update("ip_addresses", 2, ["address": "192.168.77.2"])
        try rig.datasource.update("hosts", 3, ["host": "renamed.example.com"])
        try await rig.expectIncrementalIsExact()
    }

    @Test(arguments: CARService.allCases)
    func deletingSitesXrefsAppsAndPorts(service: CARService) async throws {
        let rig = try await rig(60, service)
        defer { rig.stop() }
        try rig.datasource.delete("sites", 1)
        try rig.datasource.delete("xrefproperties", 1)
        try rig.datasource.update("xrefproperties", 2, ["extref_value": "CHANGED"])
        try rig.datasource.delete("apps", 1)
        try rig.datasource.delete("ports", 1)
        try rig.datasource.delete("ip_addresses", 10)
        try await rig.expectIncrementalIsExact()
    }

    @Test(arguments: CARService.allCases)
    func creatingRecords(service: CARService) async throws {
        let rig = try await rig(20, service)
        defer { rig.stop() }
        let site = try rig.datasource.create("sites", ["name": "New site", "address": "1 New Road"])
        let vuln = try rig.datasource.create("vulnerabilities", ["name": "New vuln", "published_on": 1, "disclosed_on": 1, "updated_on": 1,
                                                                  "vcvssbmid": 3, "base_score": 1.5, "xref_properties": []])
        let asset = try rig.datasource.create("assets", ["name": "new-asset", "type": "Server", "initial_value": 1.0, "site": .int(Int64(site)),
                                                          "vulnerabilities": [.int(Int64(vuln))]])
        let ip = try rig.datasource.create("ip_addresses", ["address": "172.16.0.1", "asset": .int(Int64(asset))])
        try rig.datasource.create("ports", ["port_number": 9000, "layer7application": "custom", "protocol": "udp", "apps": [1], "ip_addresses": [.int(Int64(ip))]])
        try await rig.expectIncrementalIsExact()
    }

    @Test(arguments: CARService.allCases)
    func nothingChanged(service: CARService) async throws {
        let rig = try await rig(20, service)
        defer { rig.stop() }
        try await rig.expectIncrementalIsExact()
    }
}

@Suite("Read-back operators in runs")
struct ReadBackOperatorTests {
    @Test(arguments: [false, true])
    func aStrictCARGetsTheConfirmedOperatorsAfterOneRejectionOrFromTheStart(forced: Bool) async throws {
        let rig = try ReferenceRig(assets: 20, service: .confirmedOperators)
        defer { rig.stop() }
        #expect(await rig.run().code == 0)
        try rig.datasource.update("ip_addresses", 2, ["address": "192.168.77.2"])
        try rig.datasource.delete("assets", 3)
        try rig.datasource.link("assets", 4, field: "vulnerabilities", remove: [1, 2, 3])
        let (code, log) = await rig.run { if forced { $0.carQueryOperators = "confirmed" } }
        #expect(code == 0, "\(log.text)")
        let warnings = log.text.components(separatedBy: "using only _and, _eq and _lte").count - 1
        #expect(warnings == (forced ? 0 : 1), "\(log.text)")
        #expect(log.text.contains("deactivated"), "\(log.text)")
        try await rig.expectIncrementalIsExact()
    }

    @Test func anUnknownOperatorSettingIsAnInvalidParameter() async throws {
        let rig = try ReferenceRig(assets: 5)
        defer { rig.stop() }
        let (code, log) = await rig.run { $0.environment["CAR_QUERY_OPERATORS"] = "some" }
        #expect(code == 2)
        #expect(log.text.contains("use auto or confirmed"), "\(log.text)")
    }
}

/// Random changes to the reference model, as the admin API makes them.
struct RandomChanges {
    var rng: SplitMix64

    mutating func pick(_ list: [Int]) -> Int? { list.isEmpty ? nil : list[Int(rng.next() % UInt64(list.count))] }

    mutating func apply(to sim: ReferenceSimulator) throws -> String {
        let assets = sim.pks("assets")
        let vulns = sim.pks("vulnerabilities")
        let sites = sim.pks("sites")
        switch rng.next() % 14 {
        case 0:
            guard let a = pick(assets) else { return "none" }
            try sim.delete("assets", a)
            return "delete asset \(a)"
        case 1:
            guard let a = pick(assets) else { return "none" }
            try sim.update("assets", a, ["name": .string("renamed-\(rng.next() % 1000)")])
            return "rename asset \(a)"
        case 2:
            guard let a = pick(assets) else { return "none" }
            let site: JSON = pick(sites).map { .int(Int64($0)) } ?? .null
            try sim.update("assets", a, ["site": site])
            return "move asset \(a)"
        case 3:
            guard let a = pick(assets), let v = pick(vulns) else { return "none" }
            try sim.link("assets", a, field: "vulnerabilities", add: [v])
            return "link asset \(a) vuln \(v)"
        case 4:
            guard let a = pick(assets), let v = pick(vulns) else { return "none" }
            try sim.link("assets", a, field: "vulnerabilities", remove: [v])
            return "unlink asset \(a) vuln \(v)"
        case 5:
            guard let v = pick(vulns) else { return "none" }
            try sim.delete("vulnerabilities", v)
            return "delete vuln \(v)"
        case 6:
            guard let s = pick(sites) else { return "none" }
            try sim.delete("sites", s)
            return "delete site \(s)"
        case 7:
            guard let ip = pick(sim.pks("ip_addresses")) else { return "none" }
            try sim.update("ip_addresses", ip, ["address": .string("192.168.\(rng.next() % 250).\(ip % 250)")])
            return "readdress ip \(ip)"
        case 8:
            guard let app = pick(sim.pks("apps")), let a = pick(assets) else { return "none" }
            try sim.link("apps", app, field: "assets", add: [a])
            return "app \(app) add asset \(a)"
        case 9:
            guard let app = pick(sim.pks("apps")), let a = pick(assets) else { return "none" }
            try sim.link("apps", app, field: "assets", remove: [a])
            return "app \(app) remove asset \(a)"
        case 10:
            guard let x = pick(sim.pks("xrefproperties")) else { return "none" }
            try sim.update("xrefproperties", x, ["extref_value": .string("X-\(rng.next() % 1000)")])
            return "change xref \(x)"
        case 11:
            guard let p = pick(sim.pks("ports")), let ip = pick(sim.pks("ip_addresses")) else { return "none" }
            try sim.link("ports", p, field: "ip_addresses", add: [ip])
            return "port \(p) add ip \(ip)"
        case 12:
            let a = try sim.create("assets", ["name": .string("created-\(rng.next() % 1000)"), "type": "Other", "initial_value": 2.5,
                                              "site": pick(sites).map { .int(Int64($0)) } ?? .null, "vulnerabilities": .array(pick(vulns).map { [.int(Int64($0))] } ?? [])])
            _ = try sim.create("ip_addresses", ["address": .string("172.31.\(a % 250).\(rng.next() % 250)"), "asset": .int(Int64(a))])
            return "create asset \(a)"
        default:
            guard let h = pick(sim.pks("hosts")) else { return "none" }
            try sim.delete("hosts", h)
            return "delete host \(h)"
        }
    }
}

@Suite("Incremental imports under random changes")
struct RandomIncrementalTests {
    @Test(arguments: CARService.allCases, 1...50)
    func randomChangesEndInTheGraphOfAFreshFullImport(service: CARService, seed: Int) async throws {
        let rig = try ReferenceRig(assets: 12, seed: UInt64(seed), service: service)
        defer { rig.stop() }
        #expect(await rig.run().code == 0)
        var changes = RandomChanges(rng: SplitMix64(seed: UInt64(seed) &* 31 &+ 7))
        let count = 1 + Int(changes.rng.next() % 10)
        var applied: [String] = []
        for i in 0..<count {
            applied.append(try changes.apply(to: rig.datasource))
            // Sometimes an incremental import between changes.
            if i < count - 1 && changes.rng.next() % 3 == 0 {
                let (code, log) = await rig.run()
                #expect(code == 0, "\(log.text)")
            }
        }
        let (code, log) = await rig.run()
        #expect(code == 0, "\(log.text)")
        let expected = try await rig.freshFullImport()
        let actual = ReferenceRig.normalized(rig.car)
        if actual != expected {
            Issue.record("seed \(seed), changes \(applied):\n\(ReferenceRig.difference(actual, expected))")
        }
    }
}
