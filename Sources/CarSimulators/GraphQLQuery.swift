import CarDefinition
import MappingDSL

/// The GraphQL read-back queries connectors send to CAR:
/// `{ <collection>(where: <condition>) { field, ... } }`, with conditions `{field: {_eq: v}}`
/// (`_eq _neq _lt _lte _gt _gte _in _nin`), `_and`, `_or`, `_not`.
struct GraphQLQuery {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    var collection: String
    var condition: JSON?
    var fields: [String]

    static func parse(_ text: String) throws -> GraphQLQuery {
        var p = Parser(Array(text.utf8))
        p.skip()
        if p.word() == "query" { p.skip() } else { p.pos = 0; p.skip() }
        try p.expect("{")
        p.skip()
        let collection = p.word()
        guard !collection.isEmpty else { throw Failure(description: "expected a collection name") }
        p.skip()
        var condition: JSON?
        if p.peek() == UInt8(ascii: "(") {
            p.pos += 1
            p.skip()
            let arg = p.word()
            guard arg == "where" else { throw Failure(description: "expected where:, found '\(arg)'") }
            p.skip()
            try p.expect(":")
            condition = try p.value()
            p.skip()
            try p.expect(")")
        }
        p.skip()
        try p.expect("{")
        var fields: [String] = []
        while true {
            p.skip()
            if p.peek() == UInt8(ascii: "}") {
                p.pos += 1
                break
            }
            if p.peek() == UInt8(ascii: ",") {
                p.pos += 1
                continue
            }
            let f = p.word()
            guard !f.isEmpty else { throw Failure(description: "expected a field name") }
            fields.append(f)
        }
        p.skip()
        try p.expect("}")
        return GraphQLQuery(collection: collection, condition: condition, fields: fields)
    }

    /// Values of `field: {_eq: v}` and `field: {_in: [...]}` conditions at the top level or in
    /// a top-level `_and`: every match has one of them (the index can narrow the search).
    func indexedValues() -> [String: [String]] {
        guard case .object(let top)? = condition else { return [:] }
        var parts: [JSONObject] = [top]
        if case .array(let list)? = top["_and"] { parts += list.compactMap(\.objectValue) }
        var out: [String: [String]] = [:]
        for part in parts {
            for (field, value) in part where !field.hasPrefix("_") || field == "_key" {
                guard case .object(let ops) = value else { continue }
                if let v = ops["_eq"], !v.isNull { out[field] = [renderString(v)] }
                if case .array(let list)? = ops["_in"] { out[field] = list.map(renderString) }
            }
        }
        return out
    }

    /// Every operator the implementation knows.
    static let implemented: Set<String> = ["_and", "_or", "_not", "_eq", "_neq", "_lt", "_lte", "_gt", "_gte", "_in", "_nin"]

    /// The operators the condition uses: logical ones (`_and`, `_or`, `_not`) where a condition
    /// is expected, comparisons inside a field's object (a field may itself start with `_`, as
    /// `_key` does).
    func operators() -> Set<String> {
        var out: Set<String> = []
        func walk(_ condition: JSON) {
            guard case .object(let o) = condition else { return }
            for (key, value) in o {
                switch key {
                case "_and", "_or":
                    out.insert(key)
                    for c in value.arrayValue ?? [] { walk(c) }
                case "_not":
                    out.insert(key)
                    walk(value)
                default:
                    if case .object(let ops) = value { out.formUnion(ops.keys) }
                }
            }
        }
        if let condition { walk(condition) }
        return out
    }

    func matches(_ doc: JSONObject) -> Bool {
        guard let condition else { return true }
        return Self.test(condition, doc)
    }

    static func test(_ condition: JSON, _ doc: JSONObject) -> Bool {
        guard case .object(let o) = condition else { return false }
        for (key, value) in o {
            switch key {
            case "_and": if !(value.arrayValue ?? []).allSatisfy({ test($0, doc) }) { return false }
            case "_or": if !(value.arrayValue ?? []).contains(where: { test($0, doc) }) { return false }
            case "_not": if test(value, doc) { return false }
            default:
                let actual = doc[key] ?? .null
                guard case .object(let ops) = value else {
                    if !JSONComparison.equal(actual, value) { return false }
                    continue
                }
                for (op, operand) in ops {
                    let ok: Bool
                    switch op {
                    case "_eq": ok = JSONComparison.equal(actual, operand)
                    case "_neq": ok = !JSONComparison.equal(actual, operand)
                    case "_lt": ok = JSONComparison.less(actual, operand) == true
                    case "_lte": ok = JSONComparison.less(actual, operand) == true || JSONComparison.equal(actual, operand)
                    case "_gt": ok = JSONComparison.less(operand, actual) == true
                    case "_gte": ok = JSONComparison.less(operand, actual) == true || JSONComparison.equal(actual, operand)
                    case "_in": ok = (operand.arrayValue ?? []).contains { JSONComparison.equal(actual, $0) }
                    case "_nin": ok = !(operand.arrayValue ?? []).contains { JSONComparison.equal(actual, $0) }
                    default: ok = false
                    }
                    if !ok { return false }
                }
            }
        }
        return true
    }

    struct Parser {
        let b: [UInt8]
        var pos = 0
        init(_ b: [UInt8]) { self.b = b }

        func peek() -> UInt8? { pos < b.count ? b[pos] : nil }

        mutating func skip() {
            while let c = peek(), c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 { pos += 1 }
        }

        mutating func word() -> String {
            let start = pos
            while let c = peek(), (c >= 0x61 && c <= 0x7A) || (c >= 0x41 && c <= 0x5A) || (c >= 0x30 && c <= 0x39) || c == 0x5F { pos += 1 }
            return String(decoding: b[start..<pos], as: UTF8.self)
        }

        mutating func expect(_ s: String) throws {
            let want = Array(s.utf8)
            guard pos + want.count <= b.count, Array(b[pos..<(pos + want.count)]) == want else {
                throw Failure(description: "expected '\(s)' at offset \(pos)")
            }
            pos += want.count
        }

        mutating func value() throws -> JSON {
            skip()
            guard let c = peek() else { throw Failure(description: "unexpected end") }
            switch c {
            case UInt8(ascii: "{"):
                pos += 1
                var o = JSONObject()
                while true {
                    skip()
                    if peek() == UInt8(ascii: "}") {
                        pos += 1
                        return .object(o)
                    }
                    if peek() == UInt8(ascii: ",") {
                        pos += 1
                        continue
                    }
                    let k = word()
                    guard !k.isEmpty else { throw Failure(description: "expected a name at offset \(pos)") }
                    skip()
                    try expect(":")
                    o[k] = try value()
                }
            case UInt8(ascii: "["):
                pos += 1
                var a: [JSON] = []
                while true {
                    skip()
                    if peek() == UInt8(ascii: "]") {
                        pos += 1
                        return .array(a)
                    }
                    if peek() == UInt8(ascii: ",") {
                        pos += 1
                        continue
                    }
                    a.append(try value())
                }
            case UInt8(ascii: "\""):
                let start = pos
                pos += 1
                while let ch = peek(), ch != UInt8(ascii: "\"") { pos += ch == UInt8(ascii: "\\") ? 2 : 1 }
                pos += 1
                return try JSONParser.parse(b[start..<min(pos, b.count)])
            default:
                let start = pos
                while let ch = peek(), ch != 0x20, ch != UInt8(ascii: ","), ch != UInt8(ascii: "}"), ch != UInt8(ascii: "]"), ch != 0x0A { pos += 1 }
                let text = String(decoding: b[start..<pos], as: UTF8.self)
                if let v = try? JSONParser.parse(text) { return v }
                return .string(text)
            }
        }
    }
}
