extension Builtins {
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
}
