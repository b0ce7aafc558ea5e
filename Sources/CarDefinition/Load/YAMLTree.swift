import MappingDSL

/// A YAML node with its location, decoupled from libyaml and Yams.
public struct YAMLNode: Sendable {
    /// How a scalar was written.
    public enum Style: Sendable, Hashable {
        case plain, singleQuoted, doubleQuoted, literal, folded
    }

    public enum Kind: Sendable {
        /// A scalar: its text, how it was written, and its value under the YAML 1.2 core schema.
        case scalar(String, Style, JSON)
        case sequence([YAMLNode])
        case mapping([(key: YAMLNode, value: YAMLNode)])
    }

    public var kind: Kind
    public var location: SourceLocation

    /// The scalar's resolved value (null, boolean, integer, float or string).
    public var scalarValue: JSON? {
        if case .scalar(_, _, let v) = kind { return v }
        return nil
    }

    /// The scalar's text as written.
    public var scalarText: String? {
        if case .scalar(let s, _, _) = kind { return s }
        return nil
    }

    /// The scalar's text when it resolves to a string.
    public var string: String? {
        if case .scalar(_, _, .string(let s)) = kind { return s }
        return nil
    }

    public var style: Style? {
        if case .scalar(_, let style, _) = kind { return style }
        return nil
    }

    /// The pairs of a mapping.
    public var pairs: [(key: YAMLNode, value: YAMLNode)]? {
        if case .mapping(let p) = kind { return p }
        return nil
    }

    /// The items of a sequence.
    public var items: [YAMLNode]? {
        if case .sequence(let s) = kind { return s }
        return nil
    }

    /// The value of the mapping's member `key`.
    public subscript(key: String) -> YAMLNode? {
        pairs?.first { $0.key.scalarText == key }?.value
    }

    /// What kind of YAML value this is, for messages: "a mapping", "a list", "a string", ...
    public var kindDescription: String {
        switch kind {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .scalar(_, _, let v):
            switch v {
            case .null: return "null"
            case .bool: return "a boolean"
            case .int: return "an integer"
            case .double: return "a number"
            default: return "a string"
            }
        }
    }

    /// The node as plain JSON (mappings as objects, keys as their text).
    public var json: JSON {
        switch kind {
        case .scalar(_, _, let v): return v
        case .sequence(let items): return .array(items.map(\.json))
        case .mapping(let pairs):
            var o = JSONObject()
            for (k, v) in pairs { o[k.scalarText ?? k.json.description] = v.json }
            return .object(o)
        }
    }
}

/// Resolves plain scalars under the YAML 1.2 core schema.
enum CoreSchema {
    static func resolve(_ text: String) -> JSON {
        switch text {
        case "", "~", "null", "Null", "NULL": return .null
        case "true", "True", "TRUE": return .bool(true)
        case "false", "False", "FALSE": return .bool(false)
        case ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF": return .double(.infinity)
        case "-.inf", "-.Inf", "-.INF": return .double(-.infinity)
        case ".nan", ".NaN", ".NAN": return .double(.nan)
        default: break
        }
        let b = Array(text.utf8)
        guard let first = b.first, first == 0x2B || first == 0x2D || first == 0x2E || (first >= 0x30 && first <= 0x39) else {
            return .string(text)
        }
        // Integers: decimal, 0o octal, 0x hex.
        if text.hasPrefix("0x"), b.count > 2, let v = Int64(text.dropFirst(2), radix: 16) { return .int(v) }
        if text.hasPrefix("0o"), b.count > 2, let v = Int64(text.dropFirst(2), radix: 8) { return .int(v) }
        var i = 0
        if b[0] == 0x2B || b[0] == 0x2D { i = 1 }
        let digitsStart = i
        while i < b.count, b[i] >= 0x30, b[i] <= 0x39 { i += 1 }
        if i == b.count && i > digitsStart {
            if let v = Int64(b[0] == 0x2B ? String(text.dropFirst()) : text) { return .int(v) }
            if let d = Double(text) { return .double(d) }
        }
        // Floats: [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
        var j = digitsStart
        var mantissaDigits = 0
        while j < b.count, b[j] >= 0x30, b[j] <= 0x39 {
            j += 1
            mantissaDigits += 1
        }
        if j < b.count, b[j] == 0x2E {
            j += 1
            while j < b.count, b[j] >= 0x30, b[j] <= 0x39 {
                j += 1
                mantissaDigits += 1
            }
        }
        guard mantissaDigits > 0 else { return .string(text) }
        if j < b.count, b[j] == 0x65 || b[j] == 0x45 {
            j += 1
            if j < b.count, b[j] == 0x2B || b[j] == 0x2D { j += 1 }
            let expStart = j
            while j < b.count, b[j] >= 0x30, b[j] <= 0x39 { j += 1 }
            if j == expStart { return .string(text) }
        }
        guard j == b.count, let d = Double(text) else { return .string(text) }
        return .double(d)
    }
}
