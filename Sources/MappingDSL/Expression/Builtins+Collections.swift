extension Builtins {
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
}
