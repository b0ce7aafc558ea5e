import MappingDSL

/// Builds a `ConnectorDefinition` from a shape-checked YAML tree: resolves references,
/// compiles every expression and template in the scope of its place, and checks mappings
/// against the CAR catalogue. Every problem becomes a diagnostic; building goes on past it.
struct DefinitionBuilder {
    let path: String
    let source: SourceText
    var diagnostics: DiagnosticCollector
    var variables = VariableTable()
    var endpointNames: Set<String> = []
    /// Whether the definition has an `endpoints` section (without one, references to endpoints
    /// are not reported one by one).
    var hasEndpointsSection = true
    var functions = FunctionTable.standard
    var hostFunctions = FunctionTable.standard
    var usedVariables: Set<String> = []
    var usedEndpoints: Set<String> = []
    /// Endpoints named in lookup calls (their records are kept for lookups during a run).
    var lookupEndpoints: Set<String> = []
    /// For each endpoint, the endpoints its mappings look records up in.
    var lookupsByEndpoint: [String: Set<String>] = [:]
    var keyedLookupEndpoints: Set<String> = []
    /// The endpoints' YAML, by name (an endpoint's scope can depend on another's for_each).
    var endpointNodes: [String: YAMLNode] = [:]

    init(path: String, source: SourceText, diagnostics: DiagnosticCollector) {
        self.path = path
        self.source = source
        self.diagnostics = diagnostics
    }

    // MARK: Helpers

    mutating func error(_ message: String, _ location: SourceLocation?) { diagnostics.error(message, at: location) }
    mutating func warning(_ message: String, _ location: SourceLocation?) { diagnostics.warning(message, at: location) }

    func keyNode(_ node: YAMLNode, _ key: String) -> YAMLNode? {
        node.pairs?.first { $0.key.scalarText == key }?.key
    }

    func text(_ node: YAMLNode?, _ key: String) -> String? {
        guard let v = node?[key], case .scalar(let s, _, let value) = v.kind else { return nil }
        if value.isNull { return nil }
        if case .bool = value { return nil }
        return s
    }

    func bool(_ node: YAMLNode?, _ key: String) -> Bool? {
        if case .bool(let b)? = node?[key]?.scalarValue { return b }
        return nil
    }

    func int(_ node: YAMLNode?, _ key: String) -> Int64? {
        if case .int(let i)? = node?[key]?.scalarValue { return i }
        return nil
    }

    func duration(_ node: YAMLNode?, _ key: String) -> Int64? {
        guard let t = text(node, key) else { return nil }
        return DurationText.parse(t)
    }

    /// Compiles the expression in `node` in `scope`; errors are located inside the YAML file.
    mutating func expression(_ node: YAMLNode?, scope: Scope, expect: TypeSet? = nil, what: String? = nil) -> Expr? {
        guard let node, case .scalar(let text, let style, let value) = node.kind else { return nil }
        let span = SourceSpan(node)
        if style == .plain, !value.isNull, value.stringValue == nil {
            // A YAML number or boolean is a constant.
            return Expr(compiled: .constant(value, source: text), span: span)
        }
        let result = ExpressionCompiler.compile(text, scope: scope)
        for e in result.errors {
            var message = e.message
            if message.hasPrefix("unknown variable") {
                let bareWord = text.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" || $0 == " " }
                if style != .plain || bareWord {
                    message += "; a string in an expression needs its own quotes: write \"'\(text)'\" for the text \(text)"
                }
            }
            error(message, span.locate(offset: e.offset, length: e.length, in: source))
        }
        guard let compiled = result.expression else { return nil }
        usedVariables.formUnion(compiled.variables)
        if let expect, !compiled.type.nonNull.isEmpty, compiled.type.nonNull.intersection(expect).isEmpty {
            let target = what ?? "this place"
            error("\(target) needs \(expect), but the expression gives \(compiled.type.nonNull)", node.location)
        }
        return Expr(compiled: compiled, span: span)
    }

    /// Compiles a template: text with `${expression}` parts (`$${` writes a literal `${`).
    mutating func template(_ node: YAMLNode?, scope: Scope) -> Template? {
        guard let node, case .scalar(let text, _, _) = node.kind else { return nil }
        let span = SourceSpan(node)
        let bytes = Array(text.utf8)
        var parts: [Template.Part] = []
        var literal: [UInt8] = []
        var i = 0
        var ok = true
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "$"), i + 2 < bytes.count, bytes[i + 1] == UInt8(ascii: "$"), bytes[i + 2] == UInt8(ascii: "{") {
                literal += [UInt8(ascii: "$"), UInt8(ascii: "{")]
                i += 3
                continue
            }
            guard bytes[i] == UInt8(ascii: "$"), i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: "{") else {
                literal.append(bytes[i])
                i += 1
                continue
            }
            // Find the matching '}', skipping quoted strings and nested braces.
            var depth = 0
            var j = i + 2
            var quote: UInt8?
            var end: Int?
            while j < bytes.count {
                let c = bytes[j]
                if let q = quote {
                    if c == UInt8(ascii: "\\") {
                        j += 1
                    } else if c == q {
                        quote = nil
                    }
                } else if c == 0x27 || c == 0x22 {
                    quote = c
                } else if c == UInt8(ascii: "{") {
                    depth += 1
                } else if c == UInt8(ascii: "}") {
                    if depth == 0 {
                        end = j
                        break
                    }
                    depth -= 1
                }
                j += 1
            }
            guard let close = end else {
                error("'${' without a closing '}'", span.locate(offset: i, length: 2, in: source))
                ok = false
                break
            }
            if !literal.isEmpty {
                parts.append(.text(String(decoding: literal, as: UTF8.self)))
                literal = []
            }
            let exprText = String(decoding: bytes[(i + 2)..<close], as: UTF8.self)
            let result = ExpressionCompiler.compile(exprText, scope: scope)
            for e in result.errors {
                let offset = e.message == "empty expression" ? i : i + 2 + e.offset
                error(e.message == "empty expression" ? "empty '${}'" : e.message, span.locate(offset: offset, length: e.length, in: source))
                ok = false
            }
            if let compiled = result.expression {
                usedVariables.formUnion(compiled.variables)
                parts.append(.expression(compiled))
            }
            i = close + 1
        }
        if !literal.isEmpty { parts.append(.text(String(decoding: literal, as: UTF8.self))) }
        if parts.isEmpty { parts.append(.text("")) }
        return ok ? Template(parts: parts, span: span) : nil
    }

    mutating func jsonTemplate(_ node: YAMLNode, scope: Scope) -> JSONTemplate {
        switch node.kind {
        case .scalar(_, let style, let value):
            if case .string(let s) = value, s.contains("${") {
                if let t = template(node, scope: scope) { return .template(t) }
                return .value(.null)
            }
            _ = style
            return .value(value)
        case .sequence(let items):
            return .array(items.map { jsonTemplate($0, scope: scope) })
        case .mapping(let pairs):
            return .object(pairs.map { ($0.key.scalarText ?? "", jsonTemplate($0.value, scope: scope)) })
        }
    }

    mutating func templateMap(_ node: YAMLNode?, scope: Scope) -> [(name: String, value: Template)] {
        guard let pairs = node?.pairs else { return [] }
        var out: [(name: String, value: Template)] = []
        for (k, v) in pairs {
            guard let name = k.scalarText, let t = template(v, scope: scope) else { continue }
            out.append((name, t))
        }
        return out
    }

    mutating func queryMap(_ node: YAMLNode?, scope: Scope) -> [(name: String, values: [Template])] {
        guard let pairs = node?.pairs else { return [] }
        var out: [(name: String, values: [Template])] = []
        for (k, v) in pairs {
            guard let name = k.scalarText else { continue }
            if let items = v.items {
                out.append((name, items.compactMap { template($0, scope: scope) }))
            } else if let t = template(v, scope: scope) {
                out.append((name, [t]))
            }
        }
        return out
    }

    mutating func body(_ node: YAMLNode?, scope: Scope) -> BodySpec? {
        guard let node else { return nil }
        if let json = node["json"] { return .json(jsonTemplate(json, scope: scope)) }
        if let form = node["form"] { return .form(templateMap(form, scope: scope)) }
        if let raw = node["raw"], let t = template(raw, scope: scope) {
            return .raw(t, contentType: text(node, "content_type") ?? "text/plain")
        }
        if let gql = node["graphql"], let q = template(gql["query"], scope: scope) {
            return .graphql(query: q, variables: gql["variables"].map { jsonTemplate($0, scope: scope) })
        }
        return nil
    }

    mutating func request(_ node: YAMLNode?, scope: Scope) -> RequestSpec {
        var r = RequestSpec()
        guard let node else { return r }
        r.method = text(node, "method").flatMap(HTTPMethod.init) ?? .get
        r.path = template(node["path"], scope: scope)
        r.query = queryMap(node["query"], scope: scope)
        r.headers = templateMap(node["headers"], scope: scope)
        r.body = body(node["body"], scope: scope)
        r.allowRedirects = bool(node, "allow_redirects") ?? false
        r.timeoutMs = duration(node, "timeout")
        if r.body != nil && r.method == .get {
            warning("a GET request with a body; most servers ignore it (set method: POST?)", keyNode(node, "body")?.location)
        }
        return r
    }

    static let exitCodes: Set<Int> = [1, 10, 20, 50, 51, 52, 53, 54, 55]

    mutating func errorRules(_ node: YAMLNode?, scope: Scope) -> [ErrorRule] {
        guard let items = node?.items else { return [] }
        var rules: [ErrorRule] = []
        for item in items {
            var rule = ErrorRule(location: item.location)
            let when = item["when"]
            if let status = when?["status"] {
                for s in status.items ?? [status] {
                    if case .int(let code)? = s.scalarValue {
                        rule.status.append(.code(Int(code)))
                    } else if let t = s.scalarText {
                        if let m = Self.statusMatch(t) {
                            rule.status.append(m)
                        } else {
                            error("'\(t)' is not a status, a class such as 4xx, or a range such as 500-504", s.location)
                        }
                    }
                }
            }
            if let t = text(when, "transport") { rule.transport = TransportFailure(rawValue: t) }
            rule.bodyContains = text(when, "body_contains")
            var bodyScope = scope
            bodyScope.allowsDocument = true
            rule.body = expression(when?["body"], scope: bodyScope, expect: .bool, what: "'when.body'")
            rule.unparseableBody = bool(when, "unparseable_body")
            if let when, when.pairs?.isEmpty ?? true {
                error("'when' needs at least one condition", when.location)
            }
            let exitCode = int(item, "exit_code").map(Int.init)
            if let code = exitCode, !Self.exitCodes.contains(code), let n = item["exit_code"] {
                error("exit_code \(code) is not one car uses (1, 10, 20, 50-55)", n.location)
            }
            var policy = RetryPolicy()
            if let r = int(item, "retries") { policy.retries = Int(r) }
            if let b = text(item, "backoff") { policy.exponential = b == "exponential" }
            if let d = duration(item, "delay") { policy.delayMs = d }
            if let d = duration(item, "max_delay") { policy.maxDelayMs = d }
            if let r = bool(item, "respect_retry_after") { policy.respectRetryAfter = r }
            if let from = item["delay_from"], let header = text(from, "header"), let format = text(from, "format").flatMap(RetryDelayFrom.Format.init) {
                policy.delayFrom = RetryDelayFrom(header: header, format: format)
            }
            policy.maxWaitMs = duration(item, "max_wait")
            if policy.delayFrom != nil, policy.maxWaitMs == nil, let k = keyNode(item, "delay_from") {
                warning("'delay_from' without 'max_wait': a request waits as long as the datasource's header says; set max_wait", k.location)
            }
            switch text(item, "then") {
            case "retry": rule.action = .retry(policy, exitCode: exitCode ?? 51)
            case "ignore": rule.action = .ignore
            default: rule.action = .fail(exitCode: exitCode ?? 50, message: text(item, "message"))
            }
            if text(item, "then") != "retry" {
                for key in ["retries", "backoff", "delay", "max_delay", "respect_retry_after", "delay_from", "max_wait"] {
                    if let k = keyNode(item, key) { warning("'\(key)' only applies to 'then: retry'", k.location) }
                }
            }
            rules.append(rule)
        }
        return rules
    }

    static func statusMatch(_ text: String) -> StatusMatch? {
        let t = text.lowercased()
        if t.count == 3, t.hasSuffix("xx"), let d = Int(String(t.prefix(1))), (1...5).contains(d) {
            return .range((d * 100)...(d * 100 + 99))
        }
        let parts = t.split(separator: "-")
        if parts.count == 2, let a = Int(parts[0]), let b = Int(parts[1]), a <= b, a >= 100, b <= 599 { return .range(a...b) }
        if let c = Int(t), (100...599).contains(c) { return .code(c) }
        return nil
    }
}
