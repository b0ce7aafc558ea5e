/// A compiled regular expression, shared read-only between tasks.
struct SharedRegex: @unchecked Sendable {
    let regex: Regex<AnyRegexOutput>

    init(_ pattern: String) throws(FunctionError) {
        do {
            regex = try Regex(pattern)
        } catch {
            throw FunctionError("invalid regular expression '\(pattern)': \(error)")
        }
    }
}

/// Renders a scalar as text the way `str()` does.
public func renderString(_ v: JSON) -> String {
    switch v {
    case .string(let s): return s
    case .int(let i): return String(i)
    case .double(let d): return d.rounded() == d && abs(d) < 1e15 ? String(Int64(d)) : d.description
    case .bool(let b): return b ? "true" : "false"
    case .null: return ""
    case .array, .object: return v.description
    }
}

extension FunctionTable {
    /// The built-in functions of the expression language.
    public static let standard = FunctionTable(Builtins.all)
}

enum Builtins {
    static let all: [FunctionSpec] = conversions + strings + collections + lambdas + time + network + encoding + shapes

    // MARK: Conversions

    static let conversions: [FunctionSpec] = [
        FunctionSpec(
            "str", "str(value) -> string", summary: "The value as text: numbers in decimal, booleans as true/false, arrays and objects as compact JSON; null stays null.",
            example: "str(17) → \"17\"", arguments: 1...1, parameters: [.any], returns: [.string, .null],
            implementation: pure1 { .string(renderString($0)) }),
        FunctionSpec(
            "int", "int(value) -> integer", summary: "An integer from a number (truncated toward zero), a decimal string, or a boolean (1/0); anything else is an error.",
            example: "int('42') → 42", arguments: 1...1, parameters: [[.int, .double, .string, .bool]], returns: [.int, .null],
            implementation: pure1 { v in
                switch v {
                case .int: return v
                case .double(let d):
                    guard d.isFinite, abs(d) < 9.2e18 else { throw fail("int: \(d) is out of range") }
                    return .int(Int64(d.rounded(.towardZero)))
                case .bool(let b): return .int(b ? 1 : 0)
                case .string(let s):
                    let t = s.trimmingWhitespace()
                    if let i = Int64(t) { return .int(i) }
                    throw fail("int: '\(s)' is not an integer")
                default: throw fail("int: cannot convert \(v.typeName)")
                }
            }),
        FunctionSpec(
            "float", "float(value) -> number", summary: "A floating-point number from a number or a numeric string.",
            example: "float('2.5') → 2.5", arguments: 1...1, parameters: [[.int, .double, .string]], returns: [.double, .null],
            implementation: pure1 { v in
                switch v {
                case .int(let i): return .double(Double(i))
                case .double: return v
                case .string(let s):
                    if let d = Double(s.trimmingWhitespace()), d.isFinite { return .double(d) }
                    throw fail("float: '\(s)' is not a number")
                default: throw fail("float: cannot convert \(v.typeName)")
                }
            }),
        FunctionSpec(
            "bool", "bool(value) -> boolean", summary: "A boolean from a boolean, the strings true/false (any case), or a number (non-zero is true).",
            example: "bool('True') → true", arguments: 1...1, parameters: [[.bool, .int, .double, .string]], returns: [.bool, .null],
            implementation: pure1 { v in
                switch v {
                case .bool: return v
                case .int(let i): return .bool(i != 0)
                case .double(let d): return .bool(d != 0)
                case .string(let s):
                    switch s.lowercased() {
                    case "true": return .bool(true)
                    case "false": return .bool(false)
                    default: throw fail("bool: '\(s)' is not true or false")
                    }
                default: throw fail("bool: cannot convert \(v.typeName)")
                }
            }),
        FunctionSpec(
            "coalesce", "coalesce(value, ...) -> any", summary: "The first argument that is not null.",
            example: "coalesce(null, 'x') → \"x\"", arguments: 1...1, variadic: true, parameters: [.any],
            returnsFrom: { types in types.reduce(TypeSet()) { $0.union($1) } },
            implementation: .pure { args, _ in args.first { !$0.isNull } ?? .null }),
        FunctionSpec(
            "type", "type(value) -> string", summary: "The JSON type of the value: null, boolean, integer, number, string, array or object.",
            example: "type(1.5) → \"number\"", arguments: 1...1, parameters: [.any], returns: .string,
            implementation: .pure { args, _ in .string(args[0].typeName) }),
        FunctionSpec(
            "to_json", "to_json(value) -> string", summary: "The value as compact JSON text.",
            example: "to_json({a: 1}) → \"{\\\"a\\\":1}\"", arguments: 1...1, parameters: [.any], returns: .string,
            implementation: .pure { args, _ in .string(args[0].description) }),
        FunctionSpec(
            "parse_json", "parse_json(text) -> any", summary: "The JSON value the text holds; invalid JSON is an error.",
            example: "parse_json('[1,2]') → [1, 2]", arguments: 1...1, parameters: [.string], returns: .any,
            implementation: pure1 { v in
                let s = try string(v, "parse_json")
                do { return try JSONParser.parse(s) } catch { throw fail("parse_json: \(error)") }
            }),
    ]
}

extension String {
    func trimmingWhitespace() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        let last = scalars.lastIndex(where: { !$0.properties.isWhitespace }) ?? first
        return String(scalars[first...last])
    }
}

/// Argument checks and helpers shared by the function groups.
extension Builtins {
    static func fail(_ message: String) -> FunctionError { FunctionError(message) }

    static func string(_ v: JSON, _ fn: String, _ position: String = "its argument") throws -> String {
        guard case .string(let s) = v else { throw fail("\(fn) expects a string as \(position), found \(v.typeName)") }
        return s
    }

    static func array(_ v: JSON, _ fn: String) throws -> [JSON] {
        guard case .array(let a) = v else { throw fail("\(fn) expects an array, found \(v.typeName)") }
        return a
    }

    static func object(_ v: JSON, _ fn: String) throws -> JSONObject {
        guard case .object(let o) = v else { throw fail("\(fn) expects an object, found \(v.typeName)") }
        return o
    }

    static func integer(_ v: JSON, _ fn: String) throws -> Int64 {
        switch v {
        case .int(let i): return i
        case .double(let d) where d.rounded() == d && abs(d) < 9.2e18: return Int64(d)
        default: throw fail("\(fn) expects an integer, found \(v.typeName)")
        }
    }

    static func pure1(_ body: @escaping @Sendable (JSON) throws -> JSON) -> FunctionImplementation {
        .unary(body)
    }

    static func compileRegex(_ literal: JSON?, index: Int) throws(ArgumentError) -> SharedRegex? {
        guard case .string(let pattern)? = literal else { return nil }
        do {
            return try SharedRegex(pattern)
        } catch {
            throw ArgumentError(index: index, error.description)
        }
    }
}
