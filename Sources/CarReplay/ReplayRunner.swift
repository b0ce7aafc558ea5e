import CarDefinition
import CarEngine
import CarSimulators
import MappingDSL
import Locking

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The outcome of one replay case.
public struct ReplayOutcome: Sendable {
    public var name: String
    /// What went wrong (empty: the case passed).
    public var failures: [String]
    /// Per step: the graph's size after it.
    public var figures: [String]
    /// Expected graphs written (with `update`).
    public var written: [String]

    public var passed: Bool { failures.isEmpty }
}

/// `car test`: runs a connector's replay cases. Each step serves its recorded exchanges on
/// loopback and runs the connector against a CAR simulator that holds IBM's conventions (only the
/// query operators confirmed against CAR); the graph after the step is compared with the
/// expected one beside the case.
public struct ReplayRunner: Sendable {
    public var definitionPath: String
    /// Write the expected graphs instead of comparing.
    public var update = false
    /// Print each run's log.
    public var verbose = false
    /// The state directory of the runs (default: a scratch one per case, removed afterwards).
    public var stateDirectory: String?

    public init(definitionPath: String) {
        self.definitionPath = definitionPath
    }

    /// The folder of a definition's cases: `connectors/okta.yaml` → `connectors/okta.tests`.
    public static func casesFolder(of definitionPath: String) -> String {
        (definitionPath.hasSuffix(".yaml") ? String(definitionPath.dropLast(5)) : definitionPath) + ".tests"
    }

    /// The case files, sorted.
    public func casePaths() -> [String] {
        let folder = Self.casesFolder(of: definitionPath)
        return DirectoryListing.names(folder).filter { $0.hasSuffix(".yaml") }.sorted().map { folder + "/" + $0 }
    }

    /// The expected graph of a case's step (1-based).
    public static func graphPath(_ casePath: String, step: Int) -> String {
        String(casePath.dropLast(5)) + ".\(step).graph.json"
    }

    /// Runs one case.
    /// A new scratch directory for a case's state.
    public static func scratchStateDirectory() -> String {
        let n = scratchCounter.withLock { c in
            c += 1
            return c
        }
        return "/tmp/car-test-state-\(getpid())-\(n)"
    }

    static let scratchCounter = Locked(0)

    /// Removes a scratch state directory (its files, then itself).
    public static func remove(_ directory: String) {
        for source in DirectoryListing.names(directory) {
            let sub = directory + "/" + source
            for f in DirectoryListing.names(sub) { unlink(sub + "/" + f) }
            rmdir(sub)
        }
        rmdir(directory)
    }

    /// The CAR simulator of a case: the operators confirmed against CAR only, a database.
    public static func carSimulator() throws -> CARSimulator {
        var options = CARSimulatorOptions()
        options.graphqlOperators = CARSimulatorOptions.confirmedOperators
        options.databaseReady = true
        return try CARSimulator(options: options)
    }

    /// Runs one case; against `car` when given (it keeps the graph afterwards).
    public func run(_ replayCase: ReplayCase, car given: CARSimulator? = nil, log: @escaping @Sendable (String) -> Void = { _ in }) async -> ReplayOutcome {
        var outcome = ReplayOutcome(name: replayCase.name, failures: [], figures: [], written: [])
        let server: ReplayServer
        let car: CARSimulator
        do {
            server = try ReplayServer()
            car = try given ?? Self.carSimulator()
        } catch {
            outcome.failures.append("could not start the loopback servers: \(error)")
            return outcome
        }
        // The state kept between the case's runs (the dependency index), as a deployment keeps it.
        let state = stateDirectory ?? Self.scratchStateDirectory()
        defer {
            server.stop()
            if given == nil { car.stop() }
            if stateDirectory == nil { Self.remove(state) }
        }
        for (index, step) in replayCase.steps.enumerated() {
            let number = index + 1
            let label = "step \(number) (\(step.kind.rawValue), line \(step.location.line))"
            server.load(step.exchanges)
            if let state = step.modelState { car.setModelState(source: replayCase.source, state) }
            let lines = Locked<[String]>([])
            var options = runOptions(replayCase, step, server: server, car: car)
            options.stateDirectory = state
            let result = await ConnectorRun.execute(options, transport: ReplayTransport(port: server.port),
                                                    sink: { line in lines.withLock { $0.append(line) } }, output: { _ in })
            let logText = lines.withLock { $0.joined(separator: "\n") }
            if verbose { log("--- \(replayCase.name) \(label)\n" + logText) }
            var stepFailures: [String] = []
            let exit = result.exitCode
            if exit != step.expectedExit {
                stepFailures.append("exit code \(exit), expected \(step.expectedExit)")
            }
            for text in step.logContains where !logText.contains(text) {
                stepFailures.append("the log does not contain \"\(text)\"")
            }
            stepFailures += server.problems()
            let graph = Self.canonicalGraph(car, source: replayCase.source)
            let path = Self.graphPath(replayCase.path, step: number)
            if update && !stepFailures.isEmpty {
                stepFailures.append("its graph was not written: the step failed")
            } else if update {
                do {
                    try FileIO.write(Array((JSONWriter(pretty: true, sortedKeys: true).string(graph) + "\n").utf8), to: path)
                    outcome.written.append(path)
                } catch {
                    stepFailures.append(error.description)
                }
            } else {
                stepFailures += compare(graph, expectedAt: path)
            }
            outcome.figures.append("\(label): exit \(exit), \(Self.count(graph, "vertices")) vertices, \(Self.count(graph, "edges")) active edges")
            if !stepFailures.isEmpty {
                outcome.failures += stepFailures.map { "\(label): \($0)" }
                if !verbose { outcome.failures.append("\(label): its log:\n" + logText.split(separator: "\n").suffix(15).map { "      " + $0 }.joined(separator: "\n")) }
                break
            }
        }
        return outcome
    }

    func runOptions(_ c: ReplayCase, _ step: ReplayStep, server: ReplayServer, car: CARSimulator) -> RunOptions {
        var o = RunOptions(definitionPath: definitionPath)
        o.environment = c.environment.mapValues(server.substitute)
        o.environment["CAR_SERVICE_URL"] = car.baseURL
        o.environment["CAR_SERVICE_KEY"] = "car-key"
        o.environment["CAR_SERVICE_PASSWORD"] = "car-password"
        o.source = c.source
        o.parameters = c.parameters.mapValues(server.substitute)
        o.mode = step.kind == .full ? .full : .incremental
        o.reportTime = step.atMs
        o.carDelayMs = 5
        o.logFormat = .text
        o.progressIntervalMs = 3_600_000
        return o
    }

    func compare(_ graph: JSON, expectedAt path: String) -> [String] {
        let bytes: [UInt8]
        do { bytes = try FileIO.read(path) } catch {
            return ["no expected graph \(path) (car test --update writes it; review it before committing)"]
        }
        let expected: JSON
        let actual: JSON
        do {
            expected = try Self.sortedKeys(JSONParser.parse(bytes))
            actual = try Self.sortedKeys(graph)
        } catch {
            return ["\(path): \(error)"]
        }
        if actual == expected { return [] }
        var lines = ["the graph differs from \(path) (+ in CAR, not expected; - expected, not in CAR):"]
        if graph["model_state_id"] != expected["model_state_id"] {
            lines.append("   model state \(JSONWriter().string(graph["model_state_id"] ?? .null)), expected \(JSONWriter().string(expected["model_state_id"] ?? .null))")
        }
        lines.append(GraphComparison.difference(actual, expected))
        return [lines.joined(separator: "\n")]
    }

    /// The source's graph with its model state, in a stable order.
    static func canonicalGraph(_ car: CARSimulator, source: String) -> JSON {
        let normalized = GraphComparison.normalized(car, source: source)
        var out = JSONObject()
        out["model_state_id"] = car.graph["sources"]?[source]?["model_state_id"] ?? .null
        for part in ["vertices", "edges"] {
            var collections = JSONObject()
            let parts = normalized[part]?.objectValue ?? JSONObject()
            for name in parts.keys.sorted() {
                let docs = parts[name]?.arrayValue ?? []
                collections[name] = .array(docs.map { ($0, JSONWriter(sortedKeys: true).string($0)) }.sorted { $0.1 < $1.1 }.map(\.0))
            }
            out[part] = .object(collections)
        }
        return .object(out)
    }

    /// The value with every object's keys in order, so that equal graphs compare equal.
    static func sortedKeys(_ value: JSON) throws(JSONParseError) -> JSON {
        try JSONParser.parse(JSONWriter(sortedKeys: true).bytes(value))
    }

    static func count(_ graph: JSON, _ part: String) -> Int {
        (graph[part]?.objectValue?.values ?? []).reduce(0) { $0 + ($1.arrayValue?.count ?? 0) }
    }
}

/// libcurl, with the replay server's address taken as plain HTTP: a definition whose base URL
/// is `https://${host}:${port}` is replayed as is (TLS itself is not replayed).
struct ReplayTransport: HTTPTransport {
    let inner = CurlTransport()
    let port: UInt16

    func send(_ request: HTTPRequest) async throws(TransportError) -> HTTPResponse {
        var plain = request
        let https = ["https://127.0.0.1:\(port)", "https://localhost:\(port)"].first { request.url.hasPrefix($0) }
        if https != nil { plain.url = "http://" + request.url.dropFirst("https://".count) }
        var response = try await inner.send(plain)
        if let https, response.url.hasPrefix("http://") { response.url = https + response.url.dropFirst(https.count - 1) }
        return response
    }
}
