import CarDefinition
import MappingDSL

/// The CP4S configuration of a connector (`configurations/config.json` and `lang_en.json` of an
/// image's build folder), generated from its definition and merged with `DeploymentDefaults`.
public enum CP4SConfiguration {
    /// The sections of `configuration` parameters go to, in the order they are written.
    static let configurationSections = ["auth", "parameter"]

    /// The merged config.json.
    public static func config(_ definition: ConnectorDefinition) -> JSON {
        substitute(merge(DeploymentDefaults.config, connectorConfig(definition)), connector: definition.connector.name)
    }

    /// The merged lang_en.json.
    public static func languageEnglish(_ definition: ConnectorDefinition) -> JSON {
        merge(DeploymentDefaults.languageEnglish, connectorLanguage(definition))
    }

    /// As the deployment's build script merges: `connection` and `configuration` each the
    /// defaults' members with the connector's over them (a shallow merge; a member the connector
    /// also has keeps its place and takes the connector's value).
    public static func merge(_ defaults: JSON, _ connector: JSON) -> JSON {
        var out = JSONObject()
        for key in ["connection", "configuration"] {
            switch (defaults[key]?.objectValue, connector[key]?.objectValue) {
            case (var a?, let b?):
                for (k, v) in b { a[k] = v }
                out[key] = .object(a)
            case (let a?, nil): out[key] = .object(a)
            case (nil, let b?): out[key] = .object(b)
            case (nil, nil): out[key] = .null
            }
        }
        return .object(out)
    }

    /// The connector's own config.json, before the merge.
    public static func connectorConfig(_ definition: ConnectorDefinition) -> JSON {
        let info = definition.connector
        var connection = JSONObject()
        if info.schedule != nil || info.scheduleOptions != nil {
            connection["schedule"] = DeploymentDefaults.schedule(
                default: info.schedule ?? DeploymentDefaults.scheduleDefault,
                options: info.scheduleOptions ?? DeploymentDefaults.scheduleOptions)
        }
        connection["type"] = [
            "type": "connectorType", "displayName": .string(info.displayName ?? info.name),
            "group": .string(info.group ?? info.name),
        ]
        for p in definition.parameters where p.section == "connection" { connection[p.fieldName] = field(p) }
        return ["connection": .object(connection), "configuration": .object(sections(definition, typed: true, field))]
    }

    /// The `configuration` sections (auth, parameter) with a member per parameter; `typed`
    /// adds `"type": "fields"` as config.json has it.
    static func sections(_ definition: ConnectorDefinition, typed: Bool, _ member: (Parameter) -> JSON) -> JSONObject {
        var configuration = JSONObject()
        for section in configurationSections {
            let members = definition.parameters.filter { $0.section == section }
            if members.isEmpty { continue }
            var fields = JSONObject()
            if typed { fields["type"] = "fields" }
            for p in members { fields[p.fieldName] = member(p) }
            configuration[section] = .object(fields)
        }
        return configuration
    }

    /// The connector's own lang_en.json, before the merge.
    public static func connectorLanguage(_ definition: ConnectorDefinition) -> JSON {
        var connection = JSONObject()
        for p in definition.parameters where p.section == "connection" { connection[p.fieldName] = labels(p) }
        let configuration = sections(definition, typed: false, labels)
        var out = JSONObject()
        if !connection.isEmpty { out["connection"] = .object(connection) }
        out["configuration"] = .object(configuration)
        return .object(out)
    }

    /// A parameter's form field: its type, whether it may be left empty, its default and checks.
    static func field(_ p: Parameter) -> JSON {
        var f = JSONObject()
        f["type"] = .string(p.cp4sField ?? "text")
        if !p.required { f["optional"] = true }
        if let d = p.defaultValue, !d.isNull { f["default"] = formValue(d, p) }
        if let regex = p.regex { f["regex"] = .string(regex) }
        if let lo = p.min { f["min"] = number(lo) }
        if let hi = p.max { f["max"] = number(hi) }
        return .object(f)
    }

    /// A default as the form shows it: numbers as numbers, everything else as the text typed.
    static func formValue(_ value: JSON, _ p: Parameter) -> JSON {
        switch value {
        case .int, .double: return p.cp4sField == "number" ? value : .string(JSONWriter().string(value))
        case .string: return value
        case .bool(let b): return .string(b ? "true" : "false")
        case .array(let items): return .string(items.map { $0.stringValue ?? JSONWriter().string($0) }.joined(separator: ","))
        default: return .string(JSONWriter().string(value))
        }
    }

    static func number(_ d: Double) -> JSON {
        d.rounded() == d && abs(d) < 1e15 ? .int(Int64(d)) : .double(d)
    }

    static func labels(_ p: Parameter) -> JSON {
        var l = JSONObject()
        l["label"] = .string(p.label ?? p.name)
        if let placeholder = p.placeholder { l["placeholder"] = .string(placeholder) }
        if let description = p.description { l["description"] = .string(description) }
        return .object(l)
    }

    /// `{CONNECTOR}` in every string becomes the connector's name, as the build script's sed does.
    static func substitute(_ value: JSON, connector: String) -> JSON {
        switch value {
        case .string(let s): return .string(s.replacing("{CONNECTOR}", with: connector))
        case .array(let a): return .array(a.map { substitute($0, connector: connector) })
        case .object(let o):
            var out = JSONObject()
            for (k, v) in o { out[k] = substitute(v, connector: connector) }
            return .object(out)
        default: return value
        }
    }

    /// JSON text as the files are written: pretty, with a final newline.
    public static func text(_ value: JSON) -> String {
        JSONWriter(pretty: true).string(value) + "\n"
    }
}
