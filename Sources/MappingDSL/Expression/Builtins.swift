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

private func fail(_ message: String) -> FunctionError { FunctionError(message) }

private func string(_ v: JSON, _ fn: String, _ position: String = "its argument") throws -> String {
    guard case .string(let s) = v else { throw fail("\(fn) expects a string as \(position), found \(v.typeName)") }
    return s
}

private func array(_ v: JSON, _ fn: String) throws -> [JSON] {
    guard case .array(let a) = v else { throw fail("\(fn) expects an array, found \(v.typeName)") }
    return a
}

private func object(_ v: JSON, _ fn: String) throws -> JSONObject {
    guard case .object(let o) = v else { throw fail("\(fn) expects an object, found \(v.typeName)") }
    return o
}

private func integer(_ v: JSON, _ fn: String) throws -> Int64 {
    switch v {
    case .int(let i): return i
    case .double(let d) where d.rounded() == d && abs(d) < 9.2e18: return Int64(d)
    default: throw fail("\(fn) expects an integer, found \(v.typeName)")
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

private func pure1(_ body: @escaping @Sendable (JSON) throws -> JSON) -> FunctionImplementation {
    .pure { args, _ in
        guard let a = args.first, !a.isNull else { return .null }
        return try body(a)
    }
}

private func compileRegex(_ literal: JSON?, index: Int) throws(ArgumentError) -> SharedRegex? {
    guard case .string(let pattern)? = literal else { return nil }
    do {
        return try SharedRegex(pattern)
    } catch {
        throw ArgumentError(index: index, error.description)
    }
}

extension FunctionTable {
    /// The built-in functions of the expression language.
    public static let standard = FunctionTable(Builtins.all)
}

enum Builtins {
    static let all: [FunctionSpec] = conversions + strings + collections + lambdas + time + network + encoding

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

    // MARK: Strings

    static let strings: [FunctionSpec] = [
        FunctionSpec(
            "lower", "lower(text) -> string", summary: "The text in lower case.", example: "lower('Web-1') → \"web-1\"",
            arguments: 1...1, parameters: [.string], returns: [.string, .null],
            implementation: pure1 { .string(try string($0, "lower").lowercased()) }),
        FunctionSpec(
            "upper", "upper(text) -> string", summary: "The text in upper case.", example: "upper('web') → \"WEB\"",
            arguments: 1...1, parameters: [.string], returns: [.string, .null],
            implementation: pure1 { .string(try string($0, "upper").uppercased()) }),
        FunctionSpec(
            "trim", "trim(text) -> string", summary: "The text without leading and trailing white space.",
            example: "trim('  a ') → \"a\"", arguments: 1...1, parameters: [.string], returns: [.string, .null],
            implementation: pure1 { .string(try string($0, "trim").trimmingWhitespace()) }),
        FunctionSpec(
            "concat", "concat(value, ...) -> string | array", summary: "Strings joined end to end, or arrays appended; null if any argument is null.",
            example: "concat('ipaddress/', '10.0.0.5') → \"ipaddress/10.0.0.5\"", arguments: 1...1, variadic: true,
            parameters: [[.string, .array]],
            returnsFrom: { types in
                let all = types.reduce(TypeSet()) { $0.union($1.nonNull) }
                return all.intersection([.string, .array]).union(.null)
            },
            implementation: .pure { args, _ in
                if args.contains(where: \.isNull) { return .null }
                if case .array = args[0] {
                    var out: [JSON] = []
                    for a in args { out.append(contentsOf: try array(a, "concat")) }
                    return .array(out)
                }
                var out = ""
                for (i, a) in args.enumerated() { out += try string(a, "concat", "argument \(i + 1)") }
                return .string(out)
            }),
        FunctionSpec(
            "join", "join(list, separator) -> string", summary: "The list's strings and numbers joined with the separator; null elements are left out.",
            example: "join([1, 2, 3], ',') → \"1,2,3\"", arguments: 2...2, parameters: [.array, .string], returns: [.string, .null],
            implementation: .pure { args, _ in
                if args[0].isNull { return .null }
                let list = try array(args[0], "join")
                let sep = try string(args[1], "join", "separator")
                var parts: [String] = []
                parts.reserveCapacity(list.count)
                for e in list {
                    switch e {
                    case .null: continue
                    case .string, .int, .double, .bool: parts.append(renderString(e))
                    default: throw fail("join: cannot join \(e.typeName) elements")
                    }
                }
                return .string(parts.joined(separator: sep))
            }),
        FunctionSpec(
            "split", "split(text, separator) -> array", summary: "The text cut at every occurrence of the separator.",
            example: "split('a,b', ',') → [\"a\", \"b\"]", arguments: 2...2, parameters: [.string, .string], returns: [.array, .null],
            implementation: .pure { args, _ in
                if args[0].isNull { return .null }
                let s = try string(args[0], "split")
                let sep = try string(args[1], "split", "separator")
                guard !sep.isEmpty else { return .array(s.map { .string(String($0)) }) }
                return .array(s.split(separator: sep, omittingEmptySubsequences: false).map { .string(String($0)) })
            }),
        FunctionSpec(
            "replace", "replace(text, old, new) -> string", summary: "The text with every occurrence of old replaced by new (plain text, not a pattern).",
            example: "replace('a-b-c', '-', '.') → \"a.b.c\"", arguments: 3...3, parameters: [.string, .string, .string],
            returns: [.string, .null],
            implementation: .pure { args, _ in
                if args[0].isNull { return .null }
                let s = try string(args[0], "replace")
                let old = try string(args[1], "replace", "argument 2")
                let new = try string(args[2], "replace", "argument 3")
                guard !old.isEmpty else { return .string(s) }
                return .string(s.replacing(old, with: new))
            }),
        regexMatch, regexExtract, regexReplace,
        FunctionSpec(
            "last_segment", "last_segment(url) -> string", summary: "The last non-empty path segment of a URL or path (query and fragment ignored).",
            example: "last_segment('http://h/sites/2/') → \"2\"", arguments: 1...1, parameters: [.string], returns: [.string, .null],
            implementation: pure1 { v in
                var text = try string(v, "last_segment")
                // On the UTF-8 bytes: this runs for every hyperlink of every record.
                return text.withUTF8 { b -> JSON in
                    var end = b.count
                    for i in 0..<b.count where b[i] == UInt8(ascii: "?") || b[i] == UInt8(ascii: "#") {
                        end = i
                        break
                    }
                    while end > 0 && b[end - 1] == UInt8(ascii: "/") { end -= 1 }
                    var start = end
                    while start > 0 && b[start - 1] != UInt8(ascii: "/") { start -= 1 }
                    guard start < end else { return .null }
                    return .string(String(decoding: UnsafeBufferPointer(rebasing: b[start..<end]), as: UTF8.self))
                }
            }),
        FunctionSpec(
            "substring", "substring(text, start, end?) -> string", summary: "The characters from start up to (not including) end; negative positions count from the end.",
            example: "substring('abcdef', 1, 3) → \"bc\"", arguments: 2...3, parameters: [.string, .int, .int], returns: [.string, .null],
            implementation: .pure { args, _ in
                if args[0].isNull { return .null }
                let chars = Array(try string(args[0], "substring"))
                let n = Int64(chars.count)
                func clamp(_ i: Int64) -> Int { Int(min(max(i < 0 ? n + i : i, 0), n)) }
                let start = clamp(try integer(args[1], "substring"))
                let end = args.count > 2 && !args[2].isNull ? clamp(try integer(args[2], "substring")) : chars.count
                return .string(start < end ? String(chars[start..<end]) : "")
            }),
        FunctionSpec(
            "starts_with", "starts_with(text, prefix) -> boolean", summary: "Whether the text begins with the prefix.",
            example: "starts_with('web-1', 'web') → true", arguments: 2...2, parameters: [.string, .string], returns: [.bool, .null],
            implementation: .pure { args, _ in
                if args[0].isNull { return .null }
                return .bool(try string(args[0], "starts_with").hasPrefix(try string(args[1], "starts_with", "prefix")))
            }),
        FunctionSpec(
            "ends_with", "ends_with(text, suffix) -> boolean", summary: "Whether the text ends with the suffix.",
            example: "ends_with('a.example', '.example') → true", arguments: 2...2, parameters: [.string, .string], returns: [.bool, .null],
            implementation: .pure { args, _ in
                if args[0].isNull { return .null }
                return .bool(try string(args[0], "ends_with").hasSuffix(try string(args[1], "ends_with", "suffix")))
            }),
        FunctionSpec(
            "contains", "contains(text | list, value) -> boolean", summary: "Whether the text contains the substring, or the list contains the value.",
            example: "contains([1, 2], 2) → true", arguments: 2...2, parameters: [[.string, .array], .any], returns: [.bool, .null],
            implementation: .pure { args, _ in
                switch args[0] {
                case .null: return .null
                case .string(let s): return .bool(s.contains(try string(args[1], "contains", "argument 2")))
                case .array(let a): return .bool(a.contains { JSONComparison.equal($0, args[1]) })
                default: throw fail("contains expects a string or an array, found \(args[0].typeName)")
                }
            }),
    ]

    static let regexMatch: FunctionSpec = {
        var spec = FunctionSpec(
            "regex_match", "regex_match(text, pattern) -> boolean", summary: "Whether the pattern matches somewhere in the text (anchor it with ^ and $ for the whole text).",
            example: "regex_match('web-01', '^web-[0-9]+$') → true", arguments: 2...2, parameters: [.string, .string], returns: [.bool, .null],
            implementation: .pure { args, _ in
                if args[0].isNull { return .null }
                let regex = try SharedRegex(try string(args[1], "regex_match", "pattern"))
                return .bool(try regex.regex.firstMatch(in: try string(args[0], "regex_match")) != nil)
            })
        spec.specialize = { literals throws(ArgumentError) in
            guard literals.count == 2, let regex = try compileRegex(literals[1], index: 1) else { return nil }
            return .pure { args, _ in
                if args[0].isNull { return .null }
                return .bool(try regex.regex.firstMatch(in: try string(args[0], "regex_match")) != nil)
            }
        }
        return spec
    }()

    static func extract(_ regex: SharedRegex, _ args: [JSON]) throws -> JSON {
        if args[0].isNull { return .null }
        let s = try string(args[0], "regex_extract")
        guard let match = try regex.regex.firstMatch(in: s) else { return .null }
        let group = args.count > 2 ? Int(try integer(args[2], "regex_extract")) : (match.output.count > 1 ? 1 : 0)
        guard group >= 0 && group < match.output.count else {
            throw fail("regex_extract: the pattern has no group \(group)")
        }
        guard let sub = match.output[group].substring else { return .null }
        return .string(String(sub))
    }

    static let regexExtract: FunctionSpec = {
        var spec = FunctionSpec(
            "regex_extract", "regex_extract(text, pattern, group?) -> string", summary: "The text of a capture group (default: the first group, or the whole match without groups) of the first match; null when nothing matches.",
            example: "regex_extract('CVE-2024-1234 fixed', 'CVE-(\\\\d+)') → \"2024\"", arguments: 2...3, parameters: [.string, .string, .int],
            returns: [.string, .null],
            implementation: .pure { args, _ in
                try extract(try SharedRegex(try string(args[1], "regex_extract", "pattern")), args)
            })
        spec.specialize = { literals throws(ArgumentError) in
            guard literals.count >= 2, let regex = try compileRegex(literals[1], index: 1) else { return nil }
            return .pure { args, _ in try extract(regex, args) }
        }
        return spec
    }()

    static func regexReplaceImpl(_ regex: SharedRegex, _ args: [JSON]) throws -> JSON {
        if args[0].isNull { return .null }
        let s = try string(args[0], "regex_replace")
        let replacement = try string(args[2], "regex_replace", "replacement")
        return .string(s.replacing(regex.regex) { _ in replacement })
    }

    static let regexReplace: FunctionSpec = {
        var spec = FunctionSpec(
            "regex_replace", "regex_replace(text, pattern, replacement) -> string", summary: "The text with every match of the pattern replaced by the replacement text.",
            example: "regex_replace('a1b22', '[0-9]+', '#') → \"a#b#\"", arguments: 3...3, parameters: [.string, .string, .string],
            returns: [.string, .null],
            implementation: .pure { args, _ in
                try regexReplaceImpl(try SharedRegex(try string(args[1], "regex_replace", "pattern")), args)
            })
        spec.specialize = { literals throws(ArgumentError) in
            guard literals.count == 3, let regex = try compileRegex(literals[1], index: 1) else { return nil }
            return .pure { args, _ in try regexReplaceImpl(regex, args) }
        }
        return spec
    }()

    // MARK: Collections

    static let collections: [FunctionSpec] = [
        FunctionSpec(
            "len", "len(text | list | object) -> integer", summary: "The number of characters, elements or members.",
            example: "len([1, 2, 3]) → 3", arguments: 1...1, parameters: [[.string, .array, .object]], returns: [.int, .null],
            implementation: pure1 { v in
                switch v {
                case .string(let s): return .int(Int64(s.count))
                case .array(let a): return .int(Int64(a.count))
                case .object(let o): return .int(Int64(o.count))
                default: throw fail("len expects a string, an array or an object, found \(v.typeName)")
                }
            }),
        FunctionSpec(
            "first", "first(list) -> any", summary: "The first element, or null for an empty list.", example: "first([4, 5]) → 4",
            arguments: 1...1, parameters: [.array], returns: .any,
            implementation: pure1 { v in try array(v, "first").first ?? .null }),
        FunctionSpec(
            "last", "last(list) -> any", summary: "The last element, or null for an empty list.", example: "last([4, 5]) → 5",
            arguments: 1...1, parameters: [.array], returns: .any,
            implementation: pure1 { v in try array(v, "last").last ?? .null }),
        FunctionSpec(
            "unique", "unique(list) -> array", summary: "The list without repeated elements, first occurrences kept in order.",
            example: "unique([1, 2, 1]) → [1, 2]", arguments: 1...1, parameters: [.array], returns: [.array, .null],
            implementation: pure1 { v in
                var seen: Set<JSON> = []
                return .array(try array(v, "unique").filter { seen.insert($0).inserted })
            }),
        FunctionSpec(
            "flatten", "flatten(list) -> array", summary: "The elements of nested lists, one level deep.",
            example: "flatten([[1], [2, 3]]) → [1, 2, 3]", arguments: 1...1, parameters: [.array], returns: [.array, .null],
            implementation: pure1 { v in
                var out: [JSON] = []
                for e in try array(v, "flatten") {
                    if case .array(let inner) = e { out.append(contentsOf: inner) } else { out.append(e) }
                }
                return .array(out)
            }),
        FunctionSpec(
            "sort", "sort(list) -> array", summary: "The numbers or strings of the list in ascending order.",
            example: "sort([3, 1, 2]) → [1, 2, 3]", arguments: 1...1, parameters: [.array], returns: [.array, .null],
            implementation: pure1 { v in
                let a = try array(v, "sort")
                for e in a where JSONComparison.less(e, a[0]) == nil {
                    throw fail("sort: cannot order \(e.typeName) with \(a[0].typeName)")
                }
                return .array(a.sorted { JSONComparison.less($0, $1) ?? false })
            }),
        FunctionSpec(
            "reverse", "reverse(list) -> array", summary: "The list in reverse order.", example: "reverse([1, 2]) → [2, 1]",
            arguments: 1...1, parameters: [.array], returns: [.array, .null],
            implementation: pure1 { v in .array(try array(v, "reverse").reversed()) }),
        FunctionSpec(
            "keys", "keys(object) -> array", summary: "The object's member names, in order.", example: "keys({a: 1, b: 2}) → [\"a\", \"b\"]",
            arguments: 1...1, parameters: [.object], returns: [.array, .null],
            implementation: pure1 { v in .array(try object(v, "keys").keys.map { .string($0) }) }),
        FunctionSpec(
            "values", "values(object) -> array", summary: "The object's member values, in order.", example: "values({a: 1, b: 2}) → [1, 2]",
            arguments: 1...1, parameters: [.object], returns: [.array, .null],
            implementation: pure1 { v in .array(try object(v, "values").values) }),
        FunctionSpec(
            "get", "get(object | list, key | index, default?) -> any", summary: "The member or element, or the default (null) when it is missing.",
            example: "get({a: 1}, 'b', 0) → 0", arguments: 2...3, parameters: [[.object, .array], [.string, .int], .any], returns: .any,
            implementation: .pure { args, _ in
                let fallback = args.count > 2 ? args[2] : .null
                switch (args[0], args[1]) {
                case (.object(let o), .string(let k)): return o[k] ?? fallback
                case (.array(let a), .int(let i)):
                    let j = i < 0 ? Int64(a.count) + i : i
                    return j >= 0 && j < a.count ? a[Int(j)] : fallback
                case (.null, _), (_, .null): return fallback
                default: throw fail("get: cannot look up \(args[1].typeName) in \(args[0].typeName)")
                }
            }),
        FunctionSpec(
            "to_object", "to_object(pairs) -> object", summary: "An object from a list of [key, value] pairs or of {key, value} objects.",
            example: "to_object([['a', 1]]) → {\"a\": 1}", arguments: 1...1, parameters: [.array], returns: [.object, .null],
            implementation: pure1 { v in
                var o = JSONObject()
                for pair in try array(v, "to_object") {
                    switch pair {
                    case .array(let kv) where kv.count == 2:
                        o[renderString(kv[0])] = kv[1]
                    case .object(let kv):
                        guard let k = kv["key"] else { throw fail("to_object: an object pair needs 'key'") }
                        o[renderString(k)] = kv["value"] ?? .null
                    default: throw fail("to_object expects [key, value] pairs")
                    }
                }
                return .object(o)
            }),
        FunctionSpec(
            "pick", "pick(object, name, ...) -> object", summary: "The object with only the named members.",
            example: "pick({a: 1, b: 2}, 'a') → {\"a\": 1}", arguments: 2...2, variadic: true, parameters: [.object, .string],
            returns: [.object, .null],
            implementation: .pure { args, _ in
                if args[0].isNull { return .null }
                let o = try object(args[0], "pick")
                var out = JSONObject()
                for name in args.dropFirst() {
                    let k = try string(name, "pick", "a member name")
                    if let v = o[k] { out[k] = v }
                }
                return .object(out)
            }),
        FunctionSpec(
            "omit", "omit(object, name, ...) -> object", summary: "The object without the named members.",
            example: "omit({pk: 1, b: 2}, 'pk') → {\"b\": 2}", arguments: 2...2, variadic: true, parameters: [.object, .string],
            returns: [.object, .null],
            implementation: .pure { args, _ in
                if args[0].isNull { return .null }
                var o = try object(args[0], "omit")
                for name in args.dropFirst() { o[try string(name, "omit", "a member name")] = nil }
                return .object(o)
            }),
        FunctionSpec(
            "sum", "sum(list) -> number", summary: "The sum of the list's numbers.", example: "sum([1, 2.5]) → 3.5",
            arguments: 1...1, parameters: [.array], returns: [.number, .null],
            implementation: pure1 { v in
                var total: JSON = .int(0)
                for e in try array(v, "sum") where !e.isNull { total = try Ops.add(total, e, Span(0, 0)) }
                return total
            }),
        FunctionSpec(
            "min", "min(value, ...) -> number | string", summary: "The smallest of the arguments (or of a single list argument); nulls are ignored.",
            example: "min(3, 1, 2) → 1", arguments: 1...1, variadic: true, parameters: [[.int, .double, .string, .array]],
            returns: .any, implementation: .pure { args, _ in try extreme(args, "min") { $0 } }),
        FunctionSpec(
            "max", "max(value, ...) -> number | string", summary: "The largest of the arguments (or of a single list argument); nulls are ignored.",
            example: "max(3, 1, 2) → 3", arguments: 1...1, variadic: true, parameters: [[.int, .double, .string, .array]],
            returns: .any, implementation: .pure { args, _ in try extreme(args, "max") { !$0 } }),
        FunctionSpec(
            "round", "round(number, digits?) -> number", summary: "The number rounded half away from zero, to an integer or to the given decimal digits.",
            example: "round(2.345, 2) → 2.35", arguments: 1...2, parameters: [.number, .int], returns: [.number, .null],
            implementation: .pure { args, _ in
                guard let d = args[0].doubleValue else {
                    if args[0].isNull { return .null }
                    throw fail("round expects a number, found \(args[0].typeName)")
                }
                if args.count > 1, !args[1].isNull {
                    var scale = 1.0
                    for _ in 0..<max(0, min(15, Int(try integer(args[1], "round")))) { scale *= 10 }
                    return .double((d * scale).rounded() / scale)
                }
                if case .int = args[0] { return args[0] }
                return .int(Int64(d.rounded()))
            }),
        FunctionSpec(
            "floor", "floor(number) -> integer", summary: "The largest integer not above the number.", example: "floor(2.7) → 2",
            arguments: 1...1, parameters: [.number], returns: [.int, .null],
            implementation: pure1 { v in
                guard let d = v.doubleValue else { throw fail("floor expects a number") }
                return .int(Int64(d.rounded(.down)))
            }),
        FunctionSpec(
            "ceil", "ceil(number) -> integer", summary: "The smallest integer not below the number.", example: "ceil(2.1) → 3",
            arguments: 1...1, parameters: [.number], returns: [.int, .null],
            implementation: pure1 { v in
                guard let d = v.doubleValue else { throw fail("ceil expects a number") }
                return .int(Int64(d.rounded(.up)))
            }),
        FunctionSpec(
            "abs", "abs(number) -> number", summary: "The absolute value.", example: "abs(-3) → 3",
            arguments: 1...1, parameters: [.number], returns: [.number, .null],
            implementation: pure1 { v in
                switch v {
                case .int(let i) where i != Int64.min: return .int(Swift.abs(i))
                case .double(let d): return .double(Swift.abs(d))
                default: throw fail("abs expects a number")
                }
            }),
    ]

    static func extreme(_ args: [JSON], _ name: String, _ flip: (Bool) -> Bool) throws -> JSON {
        var values = args
        if args.count == 1, case .array(let a) = args[0] { values = a }
        var best: JSON = .null
        for v in values where !v.isNull {
            if best.isNull {
                best = v
                continue
            }
            guard let less = JSONComparison.less(v, best) else { throw fail("\(name): cannot order \(v.typeName) with \(best.typeName)") }
            let greater = JSONComparison.less(best, v) ?? false
            if flip(true) ? less : greater { best = v }
        }
        return best
    }

    // MARK: Functions over lists with an expression per element

    static let lambdas: [FunctionSpec] = [
        FunctionSpec(
            "map", "map(list, expression) -> array", summary: "The expression evaluated for each element (as @); null results are kept.",
            example: "map([1, 2], @ * 10) → [10, 20]", arguments: 2...2, parameters: [.array, .any], lambda: [1], returns: [.array, .null],
            implementation: .lambda { subject, fns in
                if subject.isNull { return .null }
                return .array(try array(subject, "map").map { try fns[0]($0) })
            }),
        FunctionSpec(
            "filter", "filter(list, condition) -> array", summary: "The elements (as @) for which the condition is true.",
            example: "filter([1, 5, 9], @ > 3) → [5, 9]", arguments: 2...2, parameters: [.array, .bool], lambda: [1], returns: [.array, .null],
            implementation: .lambda { subject, fns in
                if subject.isNull { return .null }
                return .array(try array(subject, "filter").filter { try Ops.truth(try fns[0]($0), Span(0, 0)) })
            }),
        FunctionSpec(
            "any", "any(list, condition) -> boolean", summary: "Whether the condition holds for at least one element (as @).",
            example: "any([1, 5], @ > 3) → true", arguments: 2...2, parameters: [.array, .bool], lambda: [1], returns: [.bool, .null],
            implementation: .lambda { subject, fns in
                if subject.isNull { return .null }
                return .bool(try array(subject, "any").contains { try Ops.truth(try fns[0]($0), Span(0, 0)) })
            }),
        FunctionSpec(
            "all", "all(list, condition) -> boolean", summary: "Whether the condition holds for every element (as @).",
            example: "all([4, 5], @ > 3) → true", arguments: 2...2, parameters: [.array, .bool], lambda: [1], returns: [.bool, .null],
            implementation: .lambda { subject, fns in
                if subject.isNull { return .null }
                return .bool(try array(subject, "all").allSatisfy { try Ops.truth(try fns[0]($0), Span(0, 0)) })
            }),
        FunctionSpec(
            "map_values", "map_values(object, expression) -> object", summary: "The object with each member's value replaced by the expression evaluated on it (as @).",
            example: "map_values({a: 1}, str(@)) → {\"a\": \"1\"}", arguments: 2...2, parameters: [.object, .any], lambda: [1],
            returns: [.object, .null],
            implementation: .lambda { subject, fns in
                if subject.isNull { return .null }
                let o = try object(subject, "map_values")
                var out = JSONObject(minimumCapacity: o.count)
                for (k, v) in o { out.append(k, try fns[0](v)) }
                return .object(out)
            }),
    ]

    // MARK: Time

    static let time: [FunctionSpec] = [
        FunctionSpec(
            "now_ms", "now_ms() -> integer", summary: "The run's start time in epoch milliseconds (fixed for the whole run).",
            example: "now_ms() → 1732838400000", arguments: 0...0, parameters: [], returns: .int,
            implementation: .pure { _, ctx in .int(ctx.nowMs) }),
        FunctionSpec(
            "days_ago_ms", "days_ago_ms(days) -> integer", summary: "The run's start time minus the given number of days, in epoch milliseconds.",
            example: "days_ago_ms(30) → 1730246400000", arguments: 1...1, parameters: [.number], returns: [.int, .null],
            implementation: .pure { args, ctx in
                guard let d = args[0].doubleValue else {
                    if args[0].isNull { return .null }
                    throw fail("days_ago_ms expects a number")
                }
                return .int(ctx.nowMs - Int64(d * 86_400_000))
            }),
        FunctionSpec(
            "iso_to_epoch_ms", "iso_to_epoch_ms(text) -> integer", summary: "Epoch milliseconds from an ISO-8601 date or date-time (UTC unless it has an offset).",
            example: "iso_to_epoch_ms('2024-11-29T00:00:00Z') → 1732838400000", arguments: 1...1, parameters: [.string],
            returns: [.int, .null],
            implementation: pure1 { v in
                let s = try string(v, "iso_to_epoch_ms")
                guard let ms = ISO8601.parse(s) else { throw fail("iso_to_epoch_ms: '\(s)' is not an ISO-8601 date-time") }
                return .int(ms)
            }),
        FunctionSpec(
            "epoch_ms_to_iso", "epoch_ms_to_iso(ms) -> string", summary: "The ISO-8601 UTC date-time (with milliseconds) of epoch milliseconds.",
            example: "epoch_ms_to_iso(1732838400000) → \"2024-11-29T00:00:00.000Z\"", arguments: 1...1, parameters: [.number],
            returns: [.string, .null],
            implementation: pure1 { v in .string(ISO8601.format(try integer(v, "epoch_ms_to_iso"))) }),
        FunctionSpec(
            "epoch_s_to_ms", "epoch_s_to_ms(seconds) -> integer", summary: "Epoch milliseconds from epoch seconds (fractions kept to the millisecond).",
            example: "epoch_s_to_ms(1732838400) → 1732838400000", arguments: 1...1, parameters: [.number], returns: [.int, .null],
            implementation: pure1 { v in
                switch v {
                case .int(let i):
                    let (r, o) = i.multipliedReportingOverflow(by: 1000)
                    if o { throw fail("epoch_s_to_ms: \(i) is out of range") }
                    return .int(r)
                case .double(let d):
                    guard d.isFinite, abs(d) < 9e15 else { throw fail("epoch_s_to_ms: \(d) is out of range") }
                    return .int(Int64((d * 1000).rounded()))
                default: throw fail("epoch_s_to_ms expects a number")
                }
            }),
    ]

    // MARK: Network

    static let network: [FunctionSpec] = [
        FunctionSpec(
            "normalize_mac", "normalize_mac(text) -> string", summary: "A MAC address in lower-case colon form from colon, dash, dot or bare-hex notation; null when it is not a MAC address.",
            example: "normalize_mac('00-50-56-A6-E2-1E') → \"00:50:56:a6:e2:1e\"", arguments: 1...1, parameters: [.string],
            returns: [.string, .null],
            implementation: pure1 { v in Network.normalizeMAC(try string(v, "normalize_mac")).map(JSON.string) ?? .null }),
        FunctionSpec(
            "is_ipv4", "is_ipv4(text) -> boolean", summary: "Whether the text is a dotted-quad IPv4 address.",
            example: "is_ipv4('10.0.0.5') → true", arguments: 1...1, parameters: [.string], returns: [.bool, .null],
            implementation: pure1 { v in .bool(Network.isIPv4(try string(v, "is_ipv4"))) }),
        FunctionSpec(
            "is_ipv6", "is_ipv6(text) -> boolean", summary: "Whether the text is an IPv6 address (RFC 4291 text forms, with :: and embedded IPv4).",
            example: "is_ipv6('fe80::1') → true", arguments: 1...1, parameters: [.string], returns: [.bool, .null],
            implementation: pure1 { v in .bool(Network.isIPv6(try string(v, "is_ipv6"))) }),
        FunctionSpec(
            "url_encode", "url_encode(text) -> string", summary: "The text percent-encoded for use in a URL query or path segment.",
            example: "url_encode('a b/c') → \"a%20b%2Fc\"", arguments: 1...1, parameters: [.string], returns: [.string, .null],
            implementation: pure1 { v in .string(Network.percentEncode(try string(v, "url_encode"))) }),
    ]

    // MARK: Encoding

    static let encoding: [FunctionSpec] = [
        FunctionSpec(
            "base64_encode", "base64_encode(text) -> string", summary: "The UTF-8 bytes of the text in standard Base64.",
            example: "base64_encode('user:pw') → \"dXNlcjpwdw==\"", arguments: 1...1, parameters: [.string], returns: [.string, .null],
            implementation: pure1 { v in .string(Base64.encode(Array(try string(v, "base64_encode").utf8))) }),
        FunctionSpec(
            "base64_decode", "base64_decode(text) -> string", summary: "The text whose UTF-8 bytes the Base64 (standard or URL-safe, padding optional) encodes.",
            example: "base64_decode('dXNlcjpwdw==') → \"user:pw\"", arguments: 1...1, parameters: [.string], returns: [.string, .null],
            implementation: pure1 { v in
                guard let bytes = Base64.decode(try string(v, "base64_decode")) else { throw fail("base64_decode: not valid Base64") }
                guard let s = String(validating: bytes, as: UTF8.self) else { throw fail("base64_decode: the decoded bytes are not UTF-8 text") }
                return .string(s)
            }),
        FunctionSpec(
            "sha256", "sha256(text) -> string", summary: "The SHA-256 digest of the text's UTF-8 bytes, as lower-case hex.",
            example: "sha256('abc') → \"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\"", arguments: 1...1, parameters: [.string], returns: [.string, .null],
            implementation: pure1 { v in .string(SHA256.hex(Array(try string(v, "sha256").utf8))) }),
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
