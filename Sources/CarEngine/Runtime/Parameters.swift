import MappingDSL

/// Where parameter values come from, highest precedence first: explicit values (`--param`,
/// flags), then environment variables (`CONFIGURATION_AUTH_<NAME>` for auth parameters,
/// `CONNECTION_<NAME>` for connection ones, `CONFIGURATION_PARAMETER_<NAME>` for the others), then secret files, then defaults.
public struct ParameterSources: Sendable {
    public var explicit: [String: String]
    public var environment: [String: String]
    public var files: [String: String]

    public init(explicit: [String: String] = [:], environment: [String: String] = [:], files: [String: String] = [:]) {
        self.explicit = explicit
        self.environment = environment
        self.files = files
    }

    /// The environment variable names of a parameter, the declared section's first.
    public static func environmentNames(_ p: Parameter) -> [String] {
        let upper = p.name.uppercased()
        let auth = "CONFIGURATION_AUTH_" + upper
        let param = "CONFIGURATION_PARAMETER_" + upper
        switch p.section {
        case "auth": return [auth, param]
        case "connection": return ["CONNECTION_" + upper, auth, param]
        default: return [param, auth]
        }
    }
}

/// Parameter values, typed, with the secret ones listed for redaction.
public struct ResolvedParameters: Sendable {
    public var values: [String: JSON]
    public var secrets: [String]
}

public enum ParameterResolver {
    public static func resolve(_ definition: ConnectorDefinition, _ sources: ParameterSources) throws(RunFailure) -> ResolvedParameters {
        var values: [String: JSON] = [:]
        var secrets: [String] = []
        var missing: [String] = []
        for p in definition.parameters {
            let envNames = ParameterSources.environmentNames(p)
            var raw: (String, String)?
            if let v = sources.explicit[p.name] {
                raw = (v, "--param \(p.name)")
            } else if let name = envNames.first(where: { sources.environment[$0] != nil }), let v = sources.environment[name] {
                raw = (v, name)
            } else if let name = envNames.first(where: { sources.files[$0] != nil }), let v = sources.files[name] {
                raw = (v, "the secret file \(name)")
            }
            if let (text, origin) = raw {
                let value = try convert(text, p, origin: origin)
                try ParameterRules.check(value, text, p, origin: origin)
                values[p.name] = value
                if p.secret { secrets.append(text) }
            } else if let d = p.defaultValue {
                values[p.name] = d
            } else if p.required {
                missing.append("'\(p.name)' (--param \(p.name)=... or \(envNames[0]))")
            } else {
                values[p.name] = .null
            }
        }
        if !missing.isEmpty {
            throw RunFailure(.invalidParameter, "missing parameter\(missing.count == 1 ? "" : "s"): " + missing.joined(separator: ", "))
        }
        return ResolvedParameters(values: values, secrets: secrets)
    }

    static func convert(_ text: String, _ p: Parameter, origin: String) throws(RunFailure) -> JSON {
        func bad(_ expected: String) -> RunFailure {
            let shown = p.secret ? "the given value" : "'\(text)'"
            return RunFailure(.invalidParameter, "parameter '\(p.name)' must be \(expected); \(shown) from \(origin) is not")
        }
        switch p.kind {
        case .text, .password: return .string(text)
        case .url:
            guard text.hasPrefix("http://") || text.hasPrefix("https://") else { throw bad("an http:// or https:// URL") }
            return .string(text)
        case .integer:
            guard let i = Int64(text.trimmingCharacters(in: " ")) else { throw bad("an integer") }
            return .int(i)
        case .number:
            guard let d = Double(text.trimmingCharacters(in: " ")), d.isFinite else { throw bad("a number") }
            return d.rounded() == d && abs(d) < 1e15 && !text.contains(".") ? .int(Int64(d)) : .double(d)
        case .boolean:
            switch text.lowercased() {
            case "true", "1", "yes", "on": return .bool(true)
            case "false", "0", "no", "off", "": return .bool(false)
            default: throw bad("true or false")
            }
        case .list:
            if text.hasPrefix("["), let parsed = try? JSONParser.parse(text), case .array = parsed { return parsed }
            return .array(text.split(separator: ",").map { .string(String($0).trimmingCharacters(in: " ")) })
        }
    }
}
