import MappingDSL

/// The structure of the definition format, declared once: the loader checks YAML against it
/// (unknown keys, wrong types, missing keys) and `schemas/connector.schema.json` is generated
/// from it, so the two cannot drift apart.
public indirect enum Shape: Sendable {
    /// Text as written (numbers are accepted and kept as their text).
    case text(String)
    /// Text with `${expression}` interpolation.
    case template(String)
    /// An expression of the mapping language (a YAML number or boolean is a constant).
    case expression(String)
    /// A duration such as `500ms`, `30s`, `5m`, `1h`, `1d`, or a template giving one.
    case duration(String)
    /// One of the given words.
    case choice([String], String)
    /// A whole number within the bounds.
    case integer(ClosedRange<Int64>, String)
    /// A number.
    case number(String)
    /// `true` or `false`.
    case boolean(String)
    /// Any JSON value (YAML mapping, list or scalar); strings in it are templates.
    case json(String)
    /// A mapping with the given keys.
    case object(ObjectShape)
    /// A mapping whose keys the user chooses (matching `keyPattern`), each value of one shape.
    case map(keyPattern: String?, keyDescription: String, value: Shape, String)
    /// A list of items of one shape.
    case list(Shape, String)
    /// Either of several shapes, told apart by the YAML kind (scalar, list, mapping).
    case either([Shape], String)
    /// A mapping with a `type` key that selects one of several variants.
    case tagged(discriminator: String, variants: [(name: String, shape: ObjectShape)], String)

    /// The description of the shape.
    public var summary: String {
        switch self {
        case .text(let d), .template(let d), .expression(let d), .duration(let d), .choice(_, let d), .integer(_, let d),
            .number(let d), .boolean(let d), .json(let d), .map(_, _, _, let d), .list(_, let d), .either(_, let d),
            .tagged(_, _, let d):
            return d
        case .object(let o): return o.summary
        }
    }
}

/// A mapping with named keys.
public struct ObjectShape: Sendable {
    /// A key of the mapping.
    public struct Field: Sendable {
        public var name: String
        public var shape: Shape
        public var required: Bool
    }

    public var summary: String
    public var fields: [Field]
    /// Groups of keys of which at most one may appear.
    public var exclusive: [[String]]

    public init(_ summary: String, exclusive: [[String]] = [], _ fields: [Field]) {
        self.summary = summary
        self.fields = fields
        self.exclusive = exclusive
    }

    public func field(_ name: String) -> Field? { fields.first { $0.name == name } }
}

/// A required key.
func required(_ name: String, _ shape: Shape) -> ObjectShape.Field { .init(name: name, shape: shape, required: true) }
/// An optional key.
func optional(_ name: String, _ shape: Shape) -> ObjectShape.Field { .init(name: name, shape: shape, required: false) }

/// Checks a YAML tree against a shape and reports every structural problem.
struct ShapeChecker {
    var diagnostics: DiagnosticCollector
    var regexes: [String: Regex<AnyRegexOutput>] = [:]

    mutating func check(_ node: YAMLNode, against shape: Shape, path: String) {
        switch shape {
        case .text, .template:
            expectScalarText(node, path: path)
        case .expression:
            if case .scalar(_, _, let v) = node.kind {
                if case .double(let d) = v, !d.isFinite { diagnostics.error("\(path) must be an expression, found \(node.kindDescription)", at: node.location) }
                return
            }
            diagnostics.error("\(path) must be an expression (a string), found \(node.kindDescription)", at: node.location)
        case .duration:
            guard let text = expectScalarText(node, path: path) else { return }
            if !text.contains("${") && DurationText.parse(text) == nil {
                diagnostics.error("\(path) must be a duration such as 500ms, 30s, 5m, 1h or 1d, found '\(text)'", at: node.location)
            }
        case .choice(let words, _):
            guard let text = node.string else {
                diagnostics.error("\(path) must be one of \(words.joined(separator: ", ")), found \(node.kindDescription)", at: node.location)
                return
            }
            if !words.contains(text) {
                diagnostics.error("\(path) must be one of \(words.joined(separator: ", ")), found '\(text)'\(Suggest.hint(for: text, in: words))", at: node.location)
            }
        case .integer(let range, _):
            guard case .int(let i)? = node.scalarValue else {
                diagnostics.error("\(path) must be an integer, found \(node.kindDescription)", at: node.location)
                return
            }
            if !range.contains(i) {
                if path == "format" {
                    let formats = range.lowerBound == range.upperBound ? "format \(range.lowerBound)" : "formats \(range.lowerBound) to \(range.upperBound)"
                    diagnostics.error("this is definition format \(i); car \(CarEngineVersion.current) reads \(formats)", at: node.location)
                } else if range.lowerBound == range.upperBound {
                    diagnostics.error("\(path) must be \(range.lowerBound), found \(i)", at: node.location)
                } else {
                    diagnostics.error("\(path) must be between \(range.lowerBound) and \(range.upperBound), found \(i)", at: node.location)
                }
            }
        case .number:
            switch node.scalarValue {
            case .int?, .double?: return
            default: diagnostics.error("\(path) must be a number, found \(node.kindDescription)", at: node.location)
            }
        case .boolean:
            guard case .bool? = node.scalarValue else {
                var message = "\(path) must be true or false, found \(node.kindDescription)"
                if let t = node.scalarText, ["yes", "no", "on", "off", "y", "n"].contains(t.lowercased()) {
                    message += " ('\(t)' is a string in YAML 1.2; write true or false)"
                }
                diagnostics.error(message, at: node.location)
                return
            }
        case .json:
            return
        case .object(let object):
            checkObject(node, object, path: path)
        case .map(let pattern, let keyDescription, let value, _):
            guard let pairs = node.pairs else {
                diagnostics.error("\(path) must be a mapping, found \(node.kindDescription)", at: node.location)
                return
            }
            for (k, v) in pairs {
                guard let key = k.string else {
                    diagnostics.error("a key of \(path) must be a string, found \(k.kindDescription)", at: k.location)
                    continue
                }
                if let pattern, !matches(key, pattern) {
                    diagnostics.error("'\(key)' is not a valid \(keyDescription)", at: k.location)
                }
                check(v, against: value, path: "\(path).\(key)")
            }
        case .list(let item, _):
            guard let items = node.items else {
                diagnostics.error("\(path) must be a list, found \(node.kindDescription)", at: node.location)
                return
            }
            for (i, it) in items.enumerated() { check(it, against: item, path: "\(path)[\(i)]") }
        case .either(let options, _):
            let matching = options.first { Self.kindMatches(node, $0) }
            guard let option = matching else {
                let expected = options.map(Self.kindName).joined(separator: " or ")
                diagnostics.error("\(path) must be \(expected), found \(node.kindDescription)", at: node.location)
                return
            }
            check(node, against: option, path: path)
        case .tagged(let discriminator, let variants, _):
            guard node.pairs != nil else {
                diagnostics.error("\(path) must be a mapping with '\(discriminator)', found \(node.kindDescription)", at: node.location)
                return
            }
            let names = variants.map(\.name)
            guard let typeNode = node[discriminator] else {
                diagnostics.error("\(path) needs '\(discriminator)': one of \(names.joined(separator: ", "))", at: node.location)
                return
            }
            guard let type = typeNode.string, let variant = variants.first(where: { $0.name == type }) else {
                let found = typeNode.scalarText ?? typeNode.kindDescription
                diagnostics.error("\(path).\(discriminator) must be one of \(names.joined(separator: ", ")), found '\(found)'\(Suggest.hint(for: found, in: names))", at: typeNode.location)
                return
            }
            var shape = variant.shape
            shape.fields.insert(required(discriminator, .choice(names, "")), at: 0)
            checkObject(node, shape, path: path, variant: type)
        }
    }

    @discardableResult
    mutating func expectScalarText(_ node: YAMLNode, path: String) -> String? {
        guard case .scalar(let text, _, let value) = node.kind else {
            diagnostics.error("\(path) must be a string, found \(node.kindDescription)", at: node.location)
            return nil
        }
        switch value {
        case .null, .bool:
            diagnostics.error("\(path) must be a string, found \(node.kindDescription)", at: node.location)
            return nil
        default:
            return text
        }
    }

    mutating func checkObject(_ node: YAMLNode, _ object: ObjectShape, path: String, variant: String? = nil) {
        guard let pairs = node.pairs else {
            diagnostics.error("\(path) must be a mapping, found \(node.kindDescription)", at: node.location)
            return
        }
        let known = object.fields.map(\.name)
        var present: [String: YAMLNode] = [:]
        var suggested: Set<String> = []
        for (k, v) in pairs {
            guard let key = k.string else {
                diagnostics.error("a key of \(path) must be a string, found \(k.kindDescription)", at: k.location)
                continue
            }
            guard let field = object.field(key) else {
                let within = variant.map { " of type '\($0)'" } ?? ""
                let place = path.isEmpty ? "at the top level" : "in \(path)"
                diagnostics.error("unknown key '\(key)' \(place)\(within)\(Suggest.hint(for: key, in: known))", at: k.location)
                if let s = Suggest.closest(to: key, in: known) { suggested.insert(s) }
                continue
            }
            present[key] = k
            check(v, against: field.shape, path: path == "" ? key : "\(path).\(key)")
        }
        // A missing key that a misspelt one stands for was reported with the misspelling.
        for field in object.fields where field.required && present[field.name] == nil && !suggested.contains(field.name) {
            let name = path == "" ? "the definition" : path
            diagnostics.error("\(name) needs '\(field.name)'", at: node.location)
        }
        for group in object.exclusive {
            let given = group.filter { present[$0] != nil }
            if given.count > 1, let second = present[given[1]] {
                diagnostics.error("\(path): '\(given[0])' and '\(given[1])' cannot be used together", at: second.location)
            }
        }
    }

    static func kindMatches(_ node: YAMLNode, _ shape: Shape) -> Bool {
        switch (node.kind, shape) {
        case (.mapping, .object), (.mapping, .map), (.mapping, .tagged), (.mapping, .json): return true
        case (.sequence, .list), (.sequence, .json): return true
        case (.scalar(_, _, let v), _):
            switch shape {
            case .object, .map, .tagged, .list: return false
            case .boolean: if case .bool = v { return true } else { return false }
            case .integer: if case .int = v { return true } else { return false }
            case .number: return v.doubleValue != nil
            case .text, .template, .expression, .duration, .choice:
                if case .bool = v { return false }
                return !v.isNull
            default: return true
            }
        default: return false
        }
    }

    static func kindName(_ shape: Shape) -> String {
        switch shape {
        case .object, .map, .tagged: return "a mapping"
        case .list: return "a list"
        case .boolean: return "true or false"
        case .integer: return "an integer"
        case .number: return "a number"
        case .expression: return "an expression"
        case .json: return "a value"
        case .either(let o, _): return o.map(kindName).joined(separator: " or ")
        default: return "a string"
        }
    }

    /// Whether the key matches the pattern; each pattern compiled once per check (the same few
    /// patterns are asked of every key of a definition).
    mutating func matches(_ key: String, _ pattern: String) -> Bool {
        let regex: Regex<AnyRegexOutput>
        if let r = regexes[pattern] {
            regex = r
        } else {
            guard let r = try? Regex(pattern) else { return true }
            regexes[pattern] = r
            regex = r
        }
        return (try? regex.wholeMatch(in: key)) != nil
    }
}

/// Durations written as `250ms`, `30s`, `5m`, `2h`, `1d` (or a bare number of seconds).
public enum DurationText {
    /// Milliseconds, or `nil` when the text is not a duration.
    public static func parse(_ text: String) -> Int64? {
        let t = text.trimming(" ")
        let units: [(String, Int64)] = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000)]
        for (suffix, scale) in units where t.hasSuffix(suffix) {
            let number = t.dropLast(suffix.count)
            if let v = Int64(number), v >= 0 { return v * scale }
            if let d = Double(number), d >= 0, d.isFinite { return Int64(d * Double(scale)) }
        }
        if let v = Int64(t), v >= 0 { return v * 1000 }
        return nil
    }
}

extension String {
    /// The text without the given characters at either end.
    public func trimming(_ characters: String) -> String {
        var s = Substring(self)
        while let f = s.first, characters.contains(f) { s = s.dropFirst() }
        while let l = s.last, characters.contains(l) { s = s.dropLast() }
        return String(s)
    }
}
