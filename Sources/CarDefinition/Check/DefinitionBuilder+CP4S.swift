import MappingDSL

/// What generating the CP4S configuration (`car package`) needs of parameters and the schedule.
extension Parameter {
    /// The field types of CP4S's connection form a parameter can have.
    public static let cp4sFieldTypes: Set<String> = ["text", "password", "number"]

    /// The CP4S form field type: `form` when given, else the one the type implies (nil for
    /// boolean and list, which have no field of their own).
    public var cp4sField: String? {
        if let form { return form }
        switch kind {
        case .password: return "password"
        case .text, .url: return secret ? "password" : "text"
        case .integer, .number: return "number"
        case .boolean, .list: return nil
        }
    }
}

/// Keys of CP4S's configuration that a parameter of a section cannot be named after.
enum CP4SReservedNames {
    /// The connection section holds the deployment's fields and the connector type beside the
    /// parameters (and CONNECTION_NAME is the source name).
    static let connection: Set<String> = ["name", "description", "schedule", "help", "image", "type"]
    /// The auth and parameter sections carry `"type": "fields"` beside the parameters.
    static let fields: Set<String> = ["type"]
}

extension DefinitionBuilder {
    func number(_ node: YAMLNode?, _ key: String) -> Double? {
        switch node?[key]?.scalarValue {
        case .int(let i)?: return Double(i)
        case .double(let d)?: return d
        default: return nil
        }
    }

    /// Every parameter needs a section and a field type CP4S knows, and a name its section has room for.
    mutating func checkForCP4S(_ parameters: [Parameter], _ node: YAMLNode?) {
        for p in parameters {
            let v = node?[p.name]
            let reserved = p.section == "connection" ? CP4SReservedNames.connection : CP4SReservedNames.fields
            if reserved.contains(p.name) {
                error("parameter '\(p.name)' cannot be in section \(p.section): CP4S's configuration uses '\(p.name)' there"
                    + " (reserved in \(p.section): \(reserved.sorted().joined(separator: ", "))); rename it or choose another section", p.location)
            }
            if p.cp4sField == nil {
                let how = p.kind == .boolean ? "true or false" : "a comma-separated or JSON list"
                error("parameter '\(p.name)' is \(p.kind.rawValue), which the CP4S connection form has no field for;"
                    + " add 'form: text' (the value is typed as \(how))", v?["type"]?.location ?? p.location)
            } else if p.form == "number", p.kind != .integer, p.kind != .number {
                error("parameter '\(p.name)' is \(p.kind.rawValue); form: number needs type integer or number", v?["form"]?.location ?? p.location)
            }
            checkRegex(p, v)
            checkBounds(p, v)
        }
    }

    mutating func checkRegex(_ p: Parameter, _ v: YAMLNode?) {
        guard let pattern = p.regex else { return }
        let location = v?["regex"]?.location ?? p.location
        guard let regex = try? Regex(pattern) else {
            error("the regex of parameter '\(p.name)' is not a valid regular expression", location)
            return
        }
        if p.kind == .boolean || p.kind == .list {
            error("regex applies to text; parameter '\(p.name)' is \(p.kind.rawValue)", location)
        } else if case .string(let d)? = p.defaultValue, (try? regex.firstMatch(in: d)) == nil {
            error("the default of parameter '\(p.name)' does not match its regex", v?["default"]?.location ?? location)
        }
    }

    mutating func checkBounds(_ p: Parameter, _ v: YAMLNode?) {
        guard p.min != nil || p.max != nil else { return }
        let location = v?["min"]?.location ?? v?["max"]?.location ?? p.location
        guard p.kind == .integer || p.kind == .number else {
            error("min and max apply to integer and number parameters; '\(p.name)' is \(p.kind.rawValue)", location)
            return
        }
        if let lo = p.min, let hi = p.max, lo > hi {
            error("parameter '\(p.name)' has min \(NumberText.format(lo)) above max \(NumberText.format(hi))", location)
        }
        let d: Double?
        switch p.defaultValue {
        case .int(let i)?: d = Double(i)
        case .double(let x)?: d = x
        default: d = nil
        }
        if let d, (p.min.map { d < $0 } ?? false) || (p.max.map { d > $0 } ?? false) {
            error("the default of parameter '\(p.name)' is outside its min and max", v?["default"]?.location ?? location)
        }
    }

    /// The schedule's default is a five-field cron expression; options may also be `mm HH * * *`.
    mutating func checkSchedule(_ node: YAMLNode?) {
        guard let node else { return }
        if let n = node["default"], let text = n.scalarText, !Self.isCron(text) {
            error("schedule default '\(text)' is not a five-field cron expression such as */15 * * * *", n.location)
        }
        for n in node["options"]?.items ?? [] {
            if let text = n.scalarText, text != "mm HH * * *", !Self.isCron(text) {
                error("schedule option '\(text)' is not a five-field cron expression (or mm HH * * * for a daily time)", n.location)
            }
        }
    }

    static func isCron(_ text: String) -> Bool {
        let fields = text.split(separator: " ", omittingEmptySubsequences: true)
        return fields.count == 5 && fields.allSatisfy { matches(String($0), #"^[0-9*/,\-]+$"#) }
    }
}

/// Numbers in messages: whole numbers without a fraction.
public enum NumberText {
    public static func format(_ d: Double) -> String {
        d.rounded() == d && abs(d) < 1e15 ? String(Int64(d)) : String(d)
    }
}

extension DefinitionBuilder {
    /// A parameter's flags cannot be the framework's, and its variable is a variable name.
    mutating func checkFlagAndVariable(_ p: Parameter, _ v: YAMLNode) {
        for flag in p.flagNames where FrameworkFlags.names.contains(flag) || FrameworkFlags.names.contains(flag.replacing("_", with: "-")) {
            error("parameter '\(p.name)': -\(flag) is a flag of the framework itself; name the parameter otherwise or give it another 'flag'", v["flag"]?.location ?? p.location)
        }
        if let flag = p.flag, (try? Regex("^[A-Za-z][A-Za-z0-9_-]*$").wholeMatch(in: flag)) == nil {
            error("the flag of parameter '\(p.name)' is letters, digits, _ and -, without the leading dash", v["flag"]?.location ?? p.location)
        }
        if let env = p.environment, (try? Regex("^[A-Z][A-Z0-9_]*$").wholeMatch(in: env)) == nil {
            error("the environment variable of parameter '\(p.name)' is upper case letters, digits and _", v["env"]?.location ?? p.location)
        }
    }
}
