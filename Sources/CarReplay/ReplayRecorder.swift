import CarDefinition
import CarEngine
import CarSimulators
import MappingDSL
import Locking

/// A transport that sends with another and keeps every exchange.
final class RecordingTransport: HTTPTransport {
    struct Exchange: Sendable {
        var request: HTTPRequest
        var response: HTTPResponse
    }

    let inner: any HTTPTransport
    let exchanges = Locked<[Exchange]>([])

    init(_ inner: any HTTPTransport) { self.inner = inner }

    func send(_ request: HTTPRequest) async throws(TransportError) -> HTTPResponse {
        let response = try await inner.send(request)
        exchanges.withLock { $0.append(Exchange(request: request, response: response)) }
        return response
    }
}

/// `car test --record NAME`: a full import against the live datasource (and a CAR simulator),
/// written as a replay case with its expected graph. Secret values are replaced by placeholders
/// everywhere (the case's parameters get the placeholders, so the replayed requests match);
/// headers that carry credentials are not recorded.
public struct ReplayRecorder: Sendable {
    public var definitionPath: String
    public var caseName: String
    public var options: RunOptions
    public var atMs: Int64
    /// Append an incremental step to the case: its steps are replayed first (they must pass),
    /// then an incremental import runs against the live datasource from the state they saved.
    public var appendIncremental = false

    public init(definitionPath: String, caseName: String, options: RunOptions, atMs: Int64) {
        self.definitionPath = definitionPath
        self.caseName = caseName
        self.options = options
        self.atMs = atMs
    }

    var casePath: String { ReplayRunner.casesFolder(of: definitionPath) + "/" + caseName + ".yaml" }

    /// Headers a recorded request keeps (the others are transport details or credentials).
    static let keptRequestHeaders: Set<String> = ["accept", "content-type"]
    /// Headers a recorded response keeps.
    static let keptResponseHeaders: Set<String> = ["content-type", "link", "retry-after", "x-rate-limit-reset", "x-rate-limit-remaining", "x-ratelimit-towait-sec", "location"]

    /// Records; returns what it wrote, or why it could not.
    public func record() async -> Result<[String], RunFailure> {
        let loaded = DefinitionLoader.load(path: definitionPath)
        guard let definition = loaded.definition else { return .failure(RunFailure(.general, "the definition \(definitionPath) does not load")) }
        let car: CARSimulator
        do { car = try ReplayRunner.carSimulator() } catch {
            return .failure(RunFailure(.general, "could not start the CAR simulator: \(error)"))
        }
        defer { car.stop() }
        var run = options
        var existing: (text: String, steps: Int, source: String)?
        // The runs share a state directory, as a case's runs do.
        let state = ReplayRunner.scratchStateDirectory()
        defer { ReplayRunner.remove(state) }
        run.stateDirectory = state
        if appendIncremental {
            let replayCase: ReplayCase
            do { replayCase = try ReplayCase.load(path: casePath) } catch { return .failure(RunFailure(.general, error.description)) }
            var runner = ReplayRunner(definitionPath: definitionPath)
            runner.stateDirectory = state
            let outcome = await runner.run(replayCase, car: car)
            if !outcome.passed {
                return .failure(RunFailure(.general, "\(casePath) does not pass; fix it before appending a step:\n" + outcome.failures.joined(separator: "\n")))
            }
            existing = (Repo.text(casePath), replayCase.steps.count, replayCase.source)
            run.source = replayCase.source
        }
        run.environment["CAR_SERVICE_URL"] = car.baseURL
        run.environment["CAR_SERVICE_KEY"] = "car-key"
        run.environment["CAR_SERVICE_PASSWORD"] = "car-password"
        run.mode = appendIncremental ? .incremental : .full
        run.reportTime = atMs
        run.carDelayMs = 5
        let source = run.source ?? "car-test"
        run.source = source
        if !appendIncremental && DirectoryListing.exists(casePath) {
            return .failure(RunFailure(.general, "\(casePath) exists; --append adds an incremental step to it"))
        }
        let configuration: RunConfiguration
        do { configuration = try RunConfiguration.resolve(run, definition: definition) } catch { return .failure(error) }
        let redactor = Redactor()
        let transport = RecordingTransport(CurlTransport())
        let result = await ConnectorRun.execute(run, transport: transport, sink: { Console.err($0 + "\n") }, output: { _ in }, redactor: redactor)
        if case .failure(let f) = result { return .failure(f) }

        // Secret values and their placeholders, longest first.
        var placeholders: [(String, String)] = []
        var parameters: [(String, String)] = []
        for p in definition.parameters {
            guard let value = configuration.values[p.name], !value.isNull else { continue }
            let text = renderString(value)
            if p.secret, text.count >= 4 {
                let placeholder = "recorded-\(p.name)"
                placeholders.append((text, placeholder))
                parameters.append((p.name, placeholder))
            } else {
                parameters.append((p.name, text))
            }
        }
        placeholders.sort { $0.0.count > $1.0.count }
        // CAR is the simulator here: only the datasource's exchanges are recorded.
        let carOrigin = URLParts.origin(car.baseURL)
        let recorded = transport.exchanges.withLock { $0 }.filter { URLParts.origin($0.request.url) != carOrigin }
        let origin = recorded.first.map { URLParts.origin($0.request.url) } ?? ""
        func clean(_ text: String) -> String {
            var out = text
            for (secret, placeholder) in placeholders { out = out.replacing(secret, with: placeholder) }
            out = redactor.redact(out)
            return origin.isEmpty ? out : out.replacing(origin, with: "{{datasource}}")
        }
        parameters = parameters.map { ($0.0, clean($0.1)) }
        let kind = appendIncremental ? "incremental" : "full"
        var yaml = ""
        if let existing {
            yaml = existing.text + (existing.text.hasSuffix("\n") ? "" : "\n")
        } else {
            yaml += "# Recorded by car test --record against \(clean(origin)) on \(ISO8601.format(atMs)).\n"
            yaml += "# Secrets are replaced by placeholders; review the answers before committing.\n"
            yaml += "description: " + YAMLText.quoted("a full import recorded from the live datasource") + "\n"
            yaml += "source: " + YAMLText.quoted(source) + "\n"
            yaml += "parameters:\n"
            for (k, v) in parameters { yaml += "  \(k): \(YAMLText.quoted(v))\n" }
            yaml += "steps:\n"
        }
        yaml += "  # Recorded by car test --record on \(ISO8601.format(atMs)).\n"
        yaml += "  - run: \(kind)\n    at: \(ISO8601.format(atMs))\n    exchanges:\n"
        for e in recorded {
            yaml += Self.exchangeYAML(e, clean: clean, origin: origin)
        }
        let folder = ReplayRunner.casesFolder(of: definitionPath)
        let casePath = self.casePath
        let graphPath = ReplayRunner.graphPath(casePath, step: (existing?.steps ?? 0) + 1)
        let graph = ReplayRunner.canonicalGraph(car, source: source)
        do {
            try FileIO.makeDirectory(folder)
            try FileIO.write(Array(yaml.utf8), to: casePath)
            try FileIO.write(Array((clean(JSONWriter(pretty: true, sortedKeys: true).string(graph)) + "\n").utf8), to: graphPath)
        } catch {
            return .failure(RunFailure(.general, error.description))
        }
        return .success([casePath, graphPath])
    }

    static func exchangeYAML(_ e: RecordingTransport.Exchange, clean: (String) -> String, origin: String) -> String {
        let url = clean(e.request.url)
        let pathAndQuery = url.hasPrefix("{{datasource}}") ? String(url.dropFirst("{{datasource}}".count)) : URLParts.pathAndQuery(url)
        let (path, query) = URLParts.split(pathAndQuery)
        var y = "      - request:\n"
        if e.request.method != .get { y += "          method: \(e.request.method.rawValue)\n" }
        y += "          path: \(YAMLText.quoted(path))\n"
        if !query.isEmpty {
            y += "          query:\n"
            var grouped: [(String, [String])] = []
            for (k, v) in query {
                if let i = grouped.firstIndex(where: { $0.0 == k }) { grouped[i].1.append(v) } else { grouped.append((k, [v])) }
            }
            for (k, vs) in grouped {
                y += "            \(YAMLText.quoted(k)): " + (vs.count == 1 ? YAMLText.quoted(vs[0]) : "[" + vs.map(YAMLText.quoted).joined(separator: ", ") + "]") + "\n"
            }
        }
        let kept = e.request.headers.filter { keptRequestHeaders.contains($0.name.lowercased()) }
        if let body = e.request.body, !body.isEmpty {
            let text = clean(String(decoding: body, as: UTF8.self))
            let type = e.request.header("Content-Type") ?? ""
            if type.contains("json"), let json = try? JSONParser.parse(text) {
                y += "          json: " + JSONWriter().string(json) + "\n"
            } else {
                y += "          body: " + YAMLText.quoted(text) + "\n"
            }
        }
        if !kept.isEmpty {
            y += "          headers: {" + kept.map { "\(YAMLText.quoted($0.name)): \(YAMLText.quoted(clean($0.value)))" }.joined(separator: ", ") + "}\n"
        }
        y += "        response:\n"
        y += "          status: \(e.response.status)\n"
        let headers = e.response.headers.filter { keptResponseHeaders.contains($0.name.lowercased()) }
        if !headers.isEmpty {
            y += "          headers: {" + headers.map { "\(YAMLText.quoted($0.name)): \(YAMLText.quoted(clean($0.value)))" }.joined(separator: ", ") + "}\n"
        }
        let body = clean(String(decoding: e.response.body, as: UTF8.self))
        if let json = try? JSONParser.parse(body), (e.response.header("Content-Type") ?? "").contains("json") {
            y += "          json: " + JSONWriter().string(json) + "\n"
        } else if !body.isEmpty {
            y += "          body: " + YAMLText.quoted(body) + "\n"
        }
        return y
    }
}

enum Repo {
    static func text(_ path: String) -> String {
        (try? FileIO.read(path)).map { String(decoding: $0, as: UTF8.self) } ?? ""
    }
}

/// Text for YAML files: double-quoted scalars use JSON's escapes, which YAML reads alike.
enum YAMLText {
    static func quoted(_ s: String) -> String {
        var out: [UInt8] = []
        JSONWriter.writeString(s, into: &out)
        return String(decoding: out, as: UTF8.self)
    }
}

/// The parts of a URL the recorder names.
enum URLParts {
    /// `scheme://host[:port]`.
    static func origin(_ url: String) -> String {
        guard let scheme = url.range(of: "://") else { return "" }
        let rest = url[scheme.upperBound...]
        let end = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
        return String(url[..<end])
    }

    static func pathAndQuery(_ url: String) -> String {
        let o = origin(url)
        let rest = String(url.dropFirst(o.count))
        return rest.isEmpty ? "/" : rest
    }

    /// The decoded path and query parameters.
    static func split(_ pathAndQuery: String) -> (String, [(String, String)]) {
        guard let q = pathAndQuery.firstIndex(of: "?") else { return (ReplayRequest.percentDecode(pathAndQuery, plusIsSpace: false), []) }
        let path = ReplayRequest.percentDecode(String(pathAndQuery[..<q]), plusIsSpace: false)
        let query = pathAndQuery[pathAndQuery.index(after: q)...].split(separator: "&").map { pair -> (String, String) in
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map { ReplayRequest.percentDecode(String($0), plusIsSpace: true) }
            return (kv[0], kv.count > 1 ? kv[1] : "")
        }
        return (path, query)
    }
}
