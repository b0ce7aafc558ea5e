import CarDefinition
import MappingDSL

/// Decides what a failed request means: the definition's error mappings first, then defaults.
enum ErrorPolicy {
    enum Outcome: Sendable {
        case success
        case transport(TransportError)
        case status(HTTPResponse, JSON?)
        case unparseable(HTTPResponse)
    }

    enum Decision: Sendable {
        case retry(RetryPolicy, exitCode: Int)
        case fail(Int, String?)
        case ignore
    }

    static func decide(_ outcome: Outcome, rules: [ErrorRule], defaults: RetryPolicy, context: EvalContext) -> Decision {
        for rule in rules where matches(rule, outcome, context) {
            switch rule.action {
            case .retry(let policy, let code): return .retry(policy, exitCode: code)
            case .fail(let code, let message): return .fail(code, message)
            case .ignore: return .ignore
            }
        }
        switch outcome {
        case .success:
            return .ignore
        case .transport(let e):
            switch e.kind {
            case .refused, .timeout, .connection: return .retry(defaults, exitCode: 51)
            default: return .fail(51, nil)
            }
        case .unparseable:
            return .fail(55, nil)
        case .status(let r, _):
            switch r.status {
            case 429, 503: return .retry(defaults, exitCode: 51)
            case 500...599: return .retry(defaults, exitCode: 51)
            case 401: return .fail(52, nil)
            case 403: return .fail(53, nil)
            case 400, 404, 422: return .fail(54, nil)
            default: return .fail(50, nil)
            }
        }
    }

    static func matches(_ rule: ErrorRule, _ outcome: Outcome, _ context: EvalContext) -> Bool {
        var response: HTTPResponse?
        var body: JSON?
        switch outcome {
        case .success: return false
        case .transport(let e):
            // Only rules about transport failures can match; conditions on a response cannot.
            guard let kind = rule.transport, rule.status.isEmpty, rule.bodyContains == nil, rule.body == nil,
                rule.unparseableBody != true
            else { return false }
            return kind == .any || kind.rawValue == e.kind.rawValue
        case .status(let r, let b):
            response = r
            body = b
            if rule.unparseableBody == true { return false }
        case .unparseable(let r):
            response = r
            if rule.unparseableBody == false { return false }
            if rule.unparseableBody != true && rule.status.isEmpty && rule.bodyContains == nil { return false }
        }
        if rule.transport != nil { return false }
        guard let response else { return false }
        if !rule.status.isEmpty && !rule.status.contains(where: { $0.matches(response.status) }) { return false }
        if let needle = rule.bodyContains, !String(decoding: response.body, as: UTF8.self).contains(needle) { return false }
        if let expr = rule.body {
            guard let body else { return false }
            var ctx = context
            ctx.document = body
            guard (try? expr.evaluate(ctx)) == .bool(true) else { return false }
        }
        if rule.status.isEmpty && rule.bodyContains == nil && rule.body == nil && rule.unparseableBody == nil { return false }
        return true
    }
}
