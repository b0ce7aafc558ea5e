import CarDefinition
import MappingDSL

/// A parameter's configuration keys and environment variables (`CONFIGURATION_AUTH_<NAME>` for
/// auth parameters, `CONNECTION_<NAME>` for connection ones, `CONFIGURATION_PARAMETER_<NAME>` for
/// the others; the other sections' names are read too), and their resolution into typed values.
public enum ParameterKeys {
    /// The keys of a parameter, its declared section's first.
    static func keys(_ p: Parameter?) -> [String] {
        guard let p else { return [] }
        // Lower case: the variable of `selfSignedCert` is CONNECTION_SELFSIGNEDCERT, as IBM
        // spells it (swift-configuration would read a capital as a word boundary).
        let name = p.name.lowercased()
        let auth = "configuration.auth." + name
        let param = "configuration.parameter." + name
        let own = p.environment.map { [key(forVariable: $0)] } ?? []
        switch p.section {
        case "auth": return own + [auth, param]
        case "connection": return own + ["connection." + name, auth, param]
        default: return own + [param, auth]
        }
    }

    /// The key whose environment variable is `name`: `CONFIGURATION_AUTH_TOKEN` →
    /// `configuration.auth.token`, `CONNECTION_SNI` → `connection.sni`.
    static func key(forVariable name: String) -> String {
        let lower = name.lowercased()
        for prefix in ["configuration_auth_", "configuration_parameter_", "connection_"] where lower.hasPrefix(prefix) && lower.count > prefix.count {
            return prefix.dropLast().replacing("_", with: ".") + "." + lower.dropFirst(prefix.count)
        }
        return lower.replacing("_", with: ".")
    }

    /// The environment variable names of a parameter, the declared section's first.
    public static func environmentNames(_ p: Parameter) -> [String] {
        keys(p).map(ConfigurationSources.environmentName)
    }

    /// Every parameter, typed, from the first source that holds it, else its default.
    static func resolve(_ definition: ConnectorDefinition, _ sources: ConfigurationSources) throws(RunFailure) -> [String: Setting<JSON>] {
        var values: [String: Setting<JSON>] = [:]
        var missing: [String] = []
        for p in definition.parameters {
            if let given = keys(p).lazy.compactMap({ sources.string($0, secret: p.secret) }).first {
                let value = try ParameterResolver.convert(given.value, p, origin: given.origin.description)
                try ParameterRules.check(value, given.value, p, origin: given.origin.description)
                values[p.name] = Setting(value: value, origin: given.origin, isSecret: p.secret)
            } else if let d = p.defaultValue {
                values[p.name] = Setting(value: d, origin: .defaultValue, isSecret: p.secret)
            } else if p.required {
                missing.append("'\(p.name)' (-\(p.flag ?? p.name) VALUE or \(environmentNames(p)[0]))")
            } else {
                values[p.name] = Setting(value: .null, origin: .defaultValue, isSecret: p.secret)
            }
        }
        if !missing.isEmpty {
            throw RunFailure(.invalidParameter, "missing parameter\(missing.count == 1 ? "" : "s"): " + missing.joined(separator: ", "))
        }
        return values
    }

    /// Warnings for `CONFIGURATION_AUTH_*` and `CONFIGURATION_PARAMETER_*` variables that name no
    /// parameter of the definition.
    static func unknownVariables(_ environment: [String: String], definition: ConnectorDefinition) -> [String] {
        let known = Set(definition.parameters.flatMap(environmentNames))
        return environment.keys.sorted().compactMap { name in
            guard name.hasPrefix("CONFIGURATION_AUTH_") || name.hasPrefix("CONFIGURATION_PARAMETER_"), !known.contains(name) else { return nil }
            return "the environment variable \(name) names no parameter of the \(definition.connector.name) connector\(Suggest.hint(for: name, in: known)); it is not used"
        }
    }
}

/// Converts parameter text to the parameter's type.
public enum ParameterResolver {
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
            guard let i = Int64(text.trimming(" ")) else { throw bad("an integer") }
            return .int(i)
        case .number:
            guard let d = Double(text.trimming(" ")), d.isFinite else { throw bad("a number") }
            return d.rounded() == d && abs(d) < 1e15 && !text.contains(".") ? .int(Int64(d)) : .double(d)
        case .boolean:
            switch text.lowercased() {
            case "true", "1", "yes", "on": return .bool(true)
            case "false", "0", "no", "off", "": return .bool(false)
            default: throw bad("true or false")
            }
        case .list:
            if text.hasPrefix("["), let parsed = try? JSONParser.parse(text), case .array = parsed { return parsed }
            return .array(text.split(separator: ",").map { .string(String($0).trimming(" ")) })
        }
    }
}
