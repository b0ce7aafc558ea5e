import CarDefinition
import MappingDSL

/// One replay test of a connector: the parameters of its runs and its steps, each a run against
/// recorded datasource answers with what it must leave behind.
public struct ReplayCase: Sendable {
    /// The case's name: its file name without `.yaml`.
    public var name: String
    public var path: String
    public var description: String?
    /// The source (connection) name of the runs.
    public var source: String
    /// Parameter values; `{{datasource}}` stands for the replay server's base URL.
    public var parameters: [String: String]
    /// Environment variables of the runs (IBM's names, for example).
    public var environment: [String: String]
    public var steps: [ReplayStep]
}

/// One run of a replay case.
public struct ReplayStep: Sendable {
    public enum Kind: String, Sendable { case full, incremental }
    public var kind: Kind
    /// The run's clock, in epoch milliseconds.
    public var atMs: Int64
    /// The model state saved in CAR before the run (one a Python run saved, for example).
    public var modelState: String?
    public var exchanges: [RecordedExchange]
    public var expectedExit: Int32
    /// Text the run's log must contain.
    public var logContains: [String]
    public var location: SourceLocation
}

/// A recorded request and the answer the datasource gave.
public struct RecordedExchange: Sendable {
    public enum Body: Sendable {
        case json(JSON)
        case form([String: [String]])
        case text(String)
    }

    public enum Uses: Sendable, Equatable {
        case exactly(Int)
        case any
    }

    public var method: String
    public var path: String
    /// Every query parameter, by name (a list is a repeated parameter); nil: no query at all.
    public var query: [String: [String]]
    public var headers: [(name: String, value: String)]
    public var body: Body?
    public var status: Int
    public var responseHeaders: [(name: String, value: String)]
    public var responseBody: String
    public var uses: Uses
    public var location: SourceLocation

    /// How the exchange is named in messages.
    public var summary: String {
        let q = query.isEmpty ? "" : "?" + query.keys.sorted().flatMap { k in (query[k] ?? []).map { "\(k)=\($0)" } }.joined(separator: "&")
        return "\(method) \(path)\(q) → \(status)"
    }
}

/// A replay case file that does not read: the file, where, and what is wrong.
public struct ReplayCaseError: Error, Sendable, CustomStringConvertible {
    public var diagnostic: Diagnostic
    public var source: SourceText?

    public var description: String { DiagnosticRenderer.render(diagnostic, source: source) }
}

extension ReplayCase {
    /// A case's name: its file name without the folder and `.yaml`.
    public static func caseName(_ path: String) -> String {
        let file = path.split(separator: "/").last.map(String.init) ?? path
        return file.hasSuffix(".yaml") ? String(file.dropLast(5)) : file
    }

    /// Reads a case file.
    public static func load(path: String) throws(ReplayCaseError) -> ReplayCase {
        let bytes: [UInt8]
        do { bytes = try FileIO.read(path, limit: 64 << 20) } catch {
            throw ReplayCaseError(diagnostic: Diagnostic(.error, error.description, file: path, at: nil), source: nil)
        }
        let root: YAMLNode?
        let text: String
        do { (root, text) = try YAMLLoader.load(bytes: bytes) } catch {
            throw ReplayCaseError(diagnostic: Diagnostic(.error, error.message, file: path, at: error.location), source: nil)
        }
        let source = SourceText(path: path, text: text)
        let reader = ReplayCaseReader(path: path)
        do {
            guard let root else { throw reader.failure("the file is empty; a case has 'parameters' and 'steps'", at: nil) }
            return try reader.read(root, name: ReplayCase.caseName(path))
        } catch let failure as ReplayCaseReader.Failure {
            throw ReplayCaseError(diagnostic: failure.diagnostic, source: source)
        } catch {
            throw ReplayCaseError(diagnostic: Diagnostic(.error, "\(error)", file: path, at: nil), source: source)
        }
    }
}

/// Reads the YAML of a case, with a located error for anything it does not expect.
struct ReplayCaseReader {
    struct Failure: Error { var diagnostic: Diagnostic }
    let path: String

    func failure(_ message: String, at location: SourceLocation?) -> Failure {
        Failure(diagnostic: Diagnostic(.error, message, file: path, at: location))
    }

    func pairs(_ node: YAMLNode, _ what: String, allowed: Set<String>) throws -> [String: YAMLNode] {
        guard let pairs = node.pairs else { throw failure("\(what) must be a mapping, found \(node.kindDescription)", at: node.location) }
        var out: [String: YAMLNode] = [:]
        for (k, v) in pairs {
            guard let key = k.string else { throw failure("\(what): keys are text", at: k.location) }
            guard allowed.contains(key) else {
                throw failure("\(what) has no key '\(key)' (it has \(allowed.sorted().joined(separator: ", ")))", at: k.location)
            }
            out[key] = v
        }
        return out
    }

    func text(_ node: YAMLNode, _ what: String) throws -> String {
        guard let s = node.scalarText else { throw failure("\(what) must be text, found \(node.kindDescription)", at: node.location) }
        return s
    }

    func textMap(_ node: YAMLNode?, _ what: String) throws -> [(String, String)] {
        guard let node else { return [] }
        guard let pairs = node.pairs else { throw failure("\(what) must be a mapping, found \(node.kindDescription)", at: node.location) }
        var out: [(String, String)] = []
        for (k, v) in pairs { out.append((try text(k, what), try text(v, "\(what).\(k.scalarText ?? "")"))) }
        return out
    }

    func read(_ root: YAMLNode, name: String) throws -> ReplayCase {
        let top = try pairs(root, "a replay case", allowed: ["description", "source", "parameters", "environment", "steps"])
        guard let stepsNode = top["steps"], let items = stepsNode.items, !items.isEmpty else {
            throw failure("a replay case needs 'steps': a list of runs", at: top["steps"]?.location ?? root.location)
        }
        var steps: [ReplayStep] = []
        for item in items { steps.append(try step(item)) }
        if steps.first?.kind == .incremental && steps.first?.modelState == nil {
            throw failure("the first step is incremental: give the model state it continues from ('model_state')", at: items[0].location)
        }
        return ReplayCase(
            name: name, path: path, description: try top["description"].map { try text($0, "description") },
            source: try top["source"].map { try text($0, "source") } ?? "car-test",
            parameters: Dictionary(try textMap(top["parameters"], "parameters"), uniquingKeysWith: { _, b in b }),
            environment: Dictionary(try textMap(top["environment"], "environment"), uniquingKeysWith: { _, b in b }), steps: steps)
    }

    func step(_ node: YAMLNode) throws -> ReplayStep {
        let p = try pairs(node, "a step", allowed: ["run", "at", "model_state", "exchanges", "expect"])
        guard let runNode = p["run"] else { throw failure("a step needs 'run: full' or 'run: incremental'", at: node.location) }
        guard let kind = ReplayStep.Kind(rawValue: try text(runNode, "run")) else {
            throw failure("'run' is full or incremental", at: runNode.location)
        }
        guard let atNode = p["at"] else { throw failure("a step needs 'at': the run's clock, such as 2026-11-01T10:00:00Z", at: node.location) }
        guard let at = ISO8601.parse(try text(atNode, "at")) else {
            throw failure("'at' is a time such as 2026-11-01T10:00:00Z", at: atNode.location)
        }
        var exchanges: [RecordedExchange] = []
        if let list = p["exchanges"] {
            guard let items = list.items else { throw failure("'exchanges' is a list", at: list.location) }
            for item in items { exchanges.append(try exchange(item)) }
        }
        var exit: Int32 = 0
        var logContains: [String] = []
        if let e = p["expect"] {
            let ep = try pairs(e, "expect", allowed: ["exit", "log_contains"])
            if let x = ep["exit"] {
                guard case .int(let code)? = x.scalarValue, (0...255).contains(code) else { throw failure("'exit' is an exit code", at: x.location) }
                exit = Int32(code)
            }
            if let l = ep["log_contains"] {
                if let items = l.items {
                    for i in items { logContains.append(try text(i, "log_contains")) }
                } else {
                    logContains.append(try text(l, "log_contains"))
                }
            }
        }
        return ReplayStep(kind: kind, atMs: at, modelState: try p["model_state"].map { try text($0, "model_state") },
                          exchanges: exchanges, expectedExit: exit, logContains: logContains, location: node.location)
    }

    func exchange(_ node: YAMLNode) throws -> RecordedExchange {
        let p = try pairs(node, "an exchange", allowed: ["request", "response", "times"])
        guard let req = p["request"] else { throw failure("an exchange needs 'request'", at: node.location) }
        guard let res = p["response"] else { throw failure("an exchange needs 'response'", at: node.location) }
        let r = try pairs(req, "request", allowed: ["method", "path", "query", "headers", "json", "form", "body", "graphql"])
        guard let pathNode = r["path"] else { throw failure("a request needs 'path'", at: req.location) }
        let path = try text(pathNode, "path")
        guard path.hasPrefix("/") else { throw failure("'path' starts with '/' (the replay server's base URL is {{datasource}})", at: pathNode.location) }
        var query: [String: [String]] = [:]
        if let q = r["query"] {
            guard let pairs = q.pairs else { throw failure("'query' must be a mapping", at: q.location) }
            for (k, v) in pairs {
                let name = try text(k, "query")
                if let items = v.items { query[name] = try items.map { try text($0, "query.\(name)") } } else {
                    query[name] = [try text(v, "query.\(name)")]
                }
            }
        }
        let bodies = ["json", "form", "body", "graphql"].filter { r[$0] != nil }
        if bodies.count > 1 { throw failure("a request body is one of json, form, body, graphql", at: req.location) }
        var body: RecordedExchange.Body?
        if let j = r["json"] { body = .json(j.json) }
        if let g = r["graphql"] { body = .json(g.json) }
        if let f = r["form"] {
            var form: [String: [String]] = [:]
            for (k, v) in try textMap(f, "form") { form[k, default: []].append(v) }
            body = .form(form)
        }
        if let b = r["body"] { body = .text(try text(b, "body")) }
        let s = try pairs(res, "response", allowed: ["status", "headers", "json", "body"])
        var status = 200
        if let st = s["status"] {
            guard case .int(let code)? = st.scalarValue, (100...599).contains(code) else { throw failure("'status' is an HTTP status", at: st.location) }
            status = Int(code)
        }
        if s["json"] != nil && s["body"] != nil { throw failure("a response has 'json' or 'body', not both", at: res.location) }
        var headers = try textMap(s["headers"], "response headers").map { (name: $0.0, value: $0.1) }
        var responseBody = ""
        if let j = s["json"] {
            responseBody = String(decoding: JSONWriter().bytes(j.json), as: UTF8.self)
            if !headers.contains(where: { $0.name.lowercased() == "content-type" }) { headers.append((name: "Content-Type", value: "application/json")) }
        }
        if let b = s["body"] { responseBody = try text(b, "body") }
        var uses = RecordedExchange.Uses.exactly(1)
        if let t = p["times"] {
            if t.scalarText == "any" { uses = .any } else {
                guard case .int(let n)? = t.scalarValue, n >= 1 else { throw failure("'times' is a count (1 or more) or 'any'", at: t.location) }
                uses = .exactly(Int(n))
            }
        }
        return RecordedExchange(
            method: (try r["method"].map { try text($0, "method") } ?? "GET").uppercased(), path: path, query: query,
            headers: try textMap(r["headers"], "request headers").map { (name: $0.0, value: $0.1) }, body: body, status: status,
            responseHeaders: headers, responseBody: responseBody, uses: uses, location: node.location)
    }
}
