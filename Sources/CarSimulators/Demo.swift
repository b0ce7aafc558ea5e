import CarDefinition
import CarEngine
import MappingDSL
import Synchronization

/// `car demo`: the reference connector between the two simulators, with nothing to configure.
/// A full import, scripted changes to the datasource, an incremental import, and a check that
/// CAR's graph equals a fresh full import of the changed datasource.
public enum DemoRun {
    public struct Result: Sendable {
        public var output: String
        public var exitCode: Int32
    }

    /// Runs the demo. `definitionPath` is the reference connector; `assets` sizes the model.
    public static func run(definitionPath: String = "connectors/reference.yaml", assets: Int = 200, seed: UInt64 = 7) async -> Result {
        var out = "car \(CarEngineVersion.current) demo: the reference connector between two simulators on 127.0.0.1\n\n"
        let datasource: ReferenceSimulator
        let car: CARSimulator
        do {
            datasource = try ReferenceSimulator(assets: assets, seed: seed)
            // Strict, as the real service: only the query operators confirmed against CAR.
            var strict = CARSimulatorOptions()
            strict.graphqlOperators = CARSimulatorOptions.confirmedOperators
            car = try CARSimulator(options: strict)
        } catch {
            return Result(output: out + "could not start the simulators: \(error)\n", exitCode: 1)
        }
        defer {
            datasource.stop()
            car.stop()
        }
        guard DirectoryListing.exists(definitionPath) else {
            return Result(output: out + "\(definitionPath) not found: run the demo from the repository's top folder\n", exitCode: 1)
        }
        out += "datasource: \(datasource.baseURL) (\(assets) assets, \(datasource.count("vulnerabilities")) vulnerabilities, \(datasource.count("apps")) apps, \(datasource.count("ports")) ports)\n"
        out += "CAR service: \(car.baseURL) (read-back takes only the operators confirmed against CAR: _and, _eq, _lte)\n"

        func options(_ sim: CARSimulator) -> RunOptions {
            var o = RunOptions(definitionPath: definitionPath)
            o.environment = [
                "CAR_SERVICE_URL": sim.baseURL, "CAR_SERVICE_KEY": "car-key", "CAR_SERVICE_PASSWORD": "car-password",
                "CONNECTION_NAME": "demo", "CONFIGURATION_AUTH_URL": datasource.baseURL, "CONFIGURATION_AUTH_PASSWORD": "admin",
            ]
            o.carDelayMs = 20
            o.logFormat = .json
            return o
        }
        func run(_ sim: CARSimulator) async -> Swift.Result<RunSummary, RunFailure> {
            await ConnectorRun.execute(options(sim), sink: { _ in })
        }
        /// What a run did, from its summary; or why it failed.
        func report(_ outcome: Swift.Result<RunSummary, RunFailure>) -> String {
            switch outcome {
            case .failure(let f): return "   error: \(f.message)\n"
            case .success(let summary):
                var lines: [String] = []
                let byIndex = summary.rederivedByIndex.filter { $0.value > 0 }
                if !byIndex.isEmpty {
                    lines.append("derived again because they look up changed records (dependency index): "
                                 + byIndex.keys.sorted().map { "\(byIndex[$0] ?? 0) \($0)" }.joined(separator: ", "))
                }
                if !summary.rereadEndpoints.isEmpty {
                    lines.append("read again whole (their mappings look up changed records): " + summary.rereadEndpoints.joined(separator: ", "))
                }
                if summary.readBackFellBack {
                    lines.append("CAR rejected _in in a read-back query: the rest of the run used _and and _eq only")
                }
                lines += summary.collectionLines
                lines.append(summary.line)
                return lines.map { "   " + $0 }.joined(separator: "\n") + "\n"
            }
        }

        out += "\n1. full import\n"
        let full = await run(car)
        out += report(full)
        if full.exitCode != 0 { return Result(output: out, exitCode: full.exitCode) }

        out += "\n2. changes to the datasource\n"
        do {
            let steps = try applyScriptedChanges(datasource)
            out += steps.map { "   " + $0 }.joined(separator: "\n") + "\n"
        } catch {
            return Result(output: out + "   could not change the datasource: \(error)\n", exitCode: 1)
        }

        out += "\n3. incremental import\n"
        let incremental = await run(car)
        out += report(incremental)
        if incremental.exitCode != 0 { return Result(output: out, exitCode: incremental.exitCode) }

        out += "\n4. check: CAR's graph against a fresh full import of the changed datasource\n"
        let fresh: CARSimulator
        do { fresh = try CARSimulator() } catch { return Result(output: out + "   \(error)\n", exitCode: 1) }
        defer { fresh.stop() }
        let check = await run(fresh)
        if check.exitCode != 0 { return Result(output: out + report(check), exitCode: check.exitCode) }
        let actual = GraphComparison.normalized(car, source: "demo")
        let expected = GraphComparison.normalized(fresh, source: "demo")
        let vertices = (actual["vertices"]?.objectValue?.values ?? []).reduce(0) { $0 + ($1.arrayValue?.count ?? 0) }
        let edges = (actual["edges"]?.objectValue?.values ?? []).reduce(0) { $0 + ($1.arrayValue?.count ?? 0) }
        if actual == expected {
            out += "   equal: \(vertices) vertices and \(edges) active edges, as a fresh full import gives\n"
            return Result(output: out, exitCode: 0)
        }
        out += "   DIFFERENT:\n" + GraphComparison.difference(actual, expected) + "\n"
        return Result(output: out, exitCode: 1)
    }

    /// The scripted changes: one of each kind the incremental import must get right.
    static func applyScriptedChanges(_ ds: ReferenceSimulator) throws(ReferenceChangeError) -> [String] {
        var steps: [String] = []
        let assets = ds.pks("assets")
        let apps = ds.pks("apps")
        try ds.update("assets", assets[0], ["name": "renamed-asset"])
        steps.append("renamed asset \(assets[0])")
        try ds.update("assets", assets[1], ["site": .int(Int64(ds.pks("sites").last ?? 1))])
        steps.append("moved asset \(assets[1]) to another site")
        try ds.link("assets", assets[2], field: "vulnerabilities", add: [1], remove: [2, 3])
        steps.append("added and removed vulnerabilities of asset \(assets[2])")
        try ds.delete("assets", assets[3])
        steps.append("deleted asset \(assets[3]) (its ip, mac and host go with it)")
        try ds.delete("vulnerabilities", ds.pks("vulnerabilities")[4])
        steps.append("deleted a vulnerability")
        if let ip = ds.pks("ip_addresses").dropFirst(10).first {
            try ds.update("ip_addresses", ip, ["address": "192.168.200.1"])
            steps.append("changed the address of ip \(ip)")
        }
        if let app = apps.first {
            try ds.link("apps", app, field: "assets", add: [assets[5]])
            steps.append("linked app \(app) to asset \(assets[5])")
        }
        let site = try ds.create("sites", ["name": "New site", "address": "9 New Road"])
        let asset = try ds.create("assets", ["name": "new-asset", "type": "Server", "initial_value": 10.0, "site": .int(Int64(site)), "vulnerabilities": [1]])
        _ = try ds.create("ip_addresses", ["address": "172.16.9.9", "asset": .int(Int64(asset))])
        steps.append("created site \(site) and asset \(asset) with an ip")
        return steps
    }
}


/// Comparing a source's graph in two CAR simulators.
public enum GraphComparison {
    /// Vertices with their fields, and the active edges without what a run stamps on them.
    public static func normalized(_ car: CARSimulator, source: String) -> JSON {
        let s = car.graph["sources"]?[source] ?? .null
        var vertices = JSONObject()
        for (c, docs) in s["vertices"]?.objectValue ?? JSONObject() where !(docs.arrayValue ?? []).isEmpty { vertices[c] = docs }
        var edges = JSONObject()
        for (c, docs) in s["edges"]?.objectValue ?? JSONObject() {
            let active = (docs.arrayValue ?? []).filter { $0["active"] == true }.map { d -> JSON in
                guard case .object(var o) = d else { return d }
                for k in ["source", "report", "timestamp", "active"] { o[k] = nil }
                return .object(o)
            }
            if !active.isEmpty { edges[c] = .array(active) }
        }
        return ["vertices": .object(vertices), "edges": .object(edges)]
    }

    /// What one graph has that the other lacks (at most 40 lines).
    public static func difference(_ actual: JSON, _ expected: JSON) -> String {
        var lines: [String] = []
        for part in ["vertices", "edges"] {
            let a = actual[part]?.objectValue ?? JSONObject()
            let e = expected[part]?.objectValue ?? JSONObject()
            for c in Set(a.keys).union(e.keys).sorted() {
                let x = Set(a[c]?.arrayValue ?? [])
                let y = Set(e[c]?.arrayValue ?? [])
                for extra in x.subtracting(y) { lines.append("   + \(part) \(c) \(extra)") }
                for missing in y.subtracting(x) { lines.append("   - \(part) \(c) \(missing)") }
            }
        }
        return lines.prefix(40).joined(separator: "\n")
    }
}
