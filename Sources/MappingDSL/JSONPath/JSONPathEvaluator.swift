extension JSONPath {
    /// The member names of a path made only of single names (`$.a.b`), or `nil`.
    var memberNames: [String]? {
        var names: [String] = []
        for segment in segments {
            guard case .child(let selectors) = segment, selectors.count == 1, case .name(let name) = selectors[0] else { return nil }
            names.append(name)
        }
        return names
    }

    /// The nodes the query selects, in document order. `document` is `$`, `current` is `@`.
    public func select(document: JSON, current: JSON) -> [JSON] {
        // Singular segments first, node by node; a last `[*]` over an array is the array
        // itself (shared, not copied): `$.vulnerabilities[*]` builds no array.
        var node = root == .document ? document : current
        var first = 0
        prefix: while first < segments.count {
            guard case .child(let selectors) = segments[first], selectors.count == 1 else { break }
            switch Self.step(selectors[0], from: node) {
            case .node(let next): node = next
            case .nothing: return []
            case .notSingular:
                if case .wildcard = selectors[0], first == segments.count - 1, case .array(let a) = node { return a }
                break prefix
            }
            first += 1
        }
        if first == segments.count { return [node] }
        var nodes = [node]
        for segment in segments[first...] {
            var next: [JSON] = []
            switch segment {
            case .child(let selectors):
                for node in nodes {
                    for selector in selectors { apply(selector, to: node, document: document, into: &next) }
                }
            case .descendant(let selectors):
                for node in nodes {
                    visitDescendants(node) { n in
                        for selector in selectors { apply(selector, to: n, document: document, into: &next) }
                    }
                }
            }
            nodes = next
            if nodes.isEmpty { break }
        }
        return nodes
    }

    /// The single node a singular query selects, or `nil` when it selects nothing. Faster than
    /// `select` for the common `$.a.b[0]` shape.
    public func selectOne(document: JSON, current: JSON) -> JSON? {
        var node = root == .document ? document : current
        for segment in segments {
            guard case .child(let selectors) = segment, selectors.count == 1 else {
                return select(document: document, current: current).first
            }
            switch Self.step(selectors[0], from: node) {
            case .node(let next): node = next
            case .nothing: return nil
            case .notSingular: return select(document: document, current: current).first
            }
        }
        return node
    }

    /// What a name or index selects from one node.
    enum Step {
        case node(JSON)
        case nothing
        /// The selector can select more than one node.
        case notSingular
    }

    static func step(_ selector: Selector, from node: JSON) -> Step {
        switch selector {
        case .name(let name):
            guard case .object(let o) = node, let v = o[name] else { return .nothing }
            return .node(v)
        case .index(let i):
            guard case .array(let a) = node else { return .nothing }
            let j = i < 0 ? a.count + i : i
            guard j >= 0 && j < a.count else { return .nothing }
            return .node(a[j])
        default:
            return .notSingular
        }
    }

    private func visitDescendants(_ node: JSON, _ body: (JSON) -> Void) {
        body(node)
        switch node {
        case .array(let a): for e in a { visitDescendants(e, body) }
        case .object(let o): for m in o.members { visitDescendants(m.value, body) }
        default: break
        }
    }

    private func apply(_ selector: Selector, to node: JSON, document: JSON, into out: inout [JSON]) {
        switch selector {
        case .name, .index:
            if case .node(let v) = Self.step(selector, from: node) { out.append(v) }
        case .wildcard:
            switch node {
            case .array(let a): out.append(contentsOf: a)
            case .object(let o): for m in o.members { out.append(m.value) }
            default: break
            }
        case .slice(let start, let end, let step):
            if case .array(let a) = node {
                for j in JSONPath.sliceIndices(count: a.count, start: start, end: end, step: step) { out.append(a[j]) }
            }
        case .filter(let filter):
            switch node {
            case .array(let a):
                for e in a where filter.test(current: e, document: document) { out.append(e) }
            case .object(let o):
                for m in o.members where filter.test(current: m.value, document: document) { out.append(m.value) }
            default: break
            }
        }
    }

    /// The indices an RFC 9535 slice selects from an array of `count` elements.
    static func sliceIndices(count: Int, start: Int?, end: Int?, step: Int?) -> [Int] {
        let step = step ?? 1
        if step == 0 { return [] }
        func normalize(_ i: Int) -> Int { i >= 0 ? i : count + i }
        var result: [Int] = []
        if step > 0 {
            let lower = min(max(normalize(start ?? 0), 0), count)
            let upper = min(max(normalize(end ?? count), 0), count)
            var i = lower
            while i < upper {
                result.append(i)
                i += step
            }
        } else {
            let upper = min(max(normalize(start ?? count - 1), -1), count - 1)
            let lower = min(max(normalize(end ?? -count - 1), -1), count - 1)
            var i = upper
            while lower < i {
                result.append(i)
                i += step
            }
        }
        return result
    }
}

/// The value of a filter operand: a node list (from a query) or a single value; `nothing` is the
/// empty result of a singular query or a function without a result.
private enum Operand {
    case value(JSON)
    case nothing
    case nodes([JSON])
}

extension FilterExpression {
    func test(current: JSON, document: JSON) -> Bool {
        switch self {
        case .or(let parts): return parts.contains { $0.test(current: current, document: document) }
        case .and(let parts): return parts.allSatisfy { $0.test(current: current, document: document) }
        case .not(let inner): return !inner.test(current: current, document: document)
        case .exists(let q): return !q.select(document: document, current: current).isEmpty
        case .testFunction(let f):
            return f.logical(current: current, document: document)
        case .compare(let a, let op, let b):
            let left = a.evaluate(current: current, document: document)
            let right = b.evaluate(current: current, document: document)
            return compare(left, op, right)
        }
    }

    private func compare(_ a: Operand, _ op: ComparisonOperator, _ b: Operand) -> Bool {
        switch op {
        case .eq: return equal(a, b)
        case .ne: return !equal(a, b)
        case .lt: return less(a, b)
        case .le: return less(a, b) || equal(a, b)
        case .gt: return less(b, a)
        case .ge: return less(b, a) || equal(a, b)
        }
    }

    private func single(_ o: Operand) -> JSON? {
        switch o {
        case .value(let v): return v
        case .nothing: return nil
        case .nodes(let n): return n.count == 1 ? n[0] : nil
        }
    }

    private func equal(_ a: Operand, _ b: Operand) -> Bool {
        let x = single(a)
        let y = single(b)
        switch (x, y) {
        case (nil, nil): return true
        case (let x?, let y?): return JSONComparison.equal(x, y)
        default: return false
        }
    }

    private func less(_ a: Operand, _ b: Operand) -> Bool {
        guard let x = single(a), let y = single(b) else { return false }
        return JSONComparison.less(x, y) ?? false
    }
}

extension FilterOperand {
    fileprivate func evaluate(current: JSON, document: JSON) -> Operand {
        switch self {
        case .literal(let v): return .value(v)
        case .query(let q):
            if q.isSingular {
                if let v = q.selectOne(document: document, current: current) { return .value(v) }
                return .nothing
            }
            return .nodes(q.select(document: document, current: current))
        case .function(let f): return f.value(current: current, document: document)
        }
    }
}

extension FilterFunction {
    fileprivate func value(current: JSON, document: JSON) -> Operand {
        let args = arguments.map { $0.evaluate(current: current, document: document) }
        func one(_ o: Operand) -> JSON? {
            switch o {
            case .value(let v): return v
            case .nothing: return nil
            case .nodes(let n): return n.count == 1 ? n[0] : nil
            }
        }
        switch name {
        case "length":
            guard let v = one(args[0]) else { return .nothing }
            switch v {
            case .string(let s): return .value(.int(Int64(s.unicodeScalars.count)))
            case .array(let a): return .value(.int(Int64(a.count)))
            case .object(let o): return .value(.int(Int64(o.count)))
            default: return .nothing
            }
        case "count":
            switch args[0] {
            case .nodes(let n): return .value(.int(Int64(n.count)))
            case .value: return .value(.int(1))
            case .nothing: return .value(.int(0))
            }
        case "value":
            switch args[0] {
            case .nodes(let n): return n.count == 1 ? .value(n[0]) : .nothing
            case .value(let v): return .value(v)
            case .nothing: return .nothing
            }
        default:
            return .value(.bool(logical(current: current, document: document)))
        }
    }

    fileprivate func logical(current: JSON, document: JSON) -> Bool {
        guard name == "match" || name == "search", arguments.count == 2 else { return false }
        let args = arguments.map { $0.evaluate(current: current, document: document) }
        guard case .value(.string(let subject)) = args[0], case .value(.string(let pattern)) = args[1] else { return false }
        guard let regex = try? Regex(name == "match" ? "^(?:" + pattern + ")$" : pattern) else { return false }
        return (try? regex.firstMatch(in: subject)) != nil
    }
}

/// Comparison rules shared by JSONPath filters and the expression language: numbers compare by
/// value whatever their representation; strings by Unicode scalar values; arrays and objects
/// by deep equality; only numbers and strings are ordered.
public enum JSONComparison {
    /// Deep equality with numeric comparison of integers and doubles.
    public static func equal(_ a: JSON, _ b: JSON) -> Bool {
        switch (a, b) {
        case (.int(let x), .int(let y)): return x == y
        case (.int, .double), (.double, .int), (.double, .double):
            return a.doubleValue == b.doubleValue
        case (.array(let x), .array(let y)):
            return x.count == y.count && zip(x, y).allSatisfy { equal($0, $1) }
        case (.object(let x), .object(let y)):
            guard x.count == y.count else { return false }
            for (k, v) in x {
                guard let w = y[k], equal(v, w) else { return false }
            }
            return true
        default: return a == b
        }
    }

    /// `a < b` for two numbers or two strings; `nil` when the two cannot be ordered.
    public static func less(_ a: JSON, _ b: JSON) -> Bool? {
        switch (a, b) {
        case (.int(let x), .int(let y)): return x < y
        case (.int, .double), (.double, .int), (.double, .double):
            guard let x = a.doubleValue, let y = b.doubleValue else { return nil }
            return x < y
        case (.string(let x), .string(let y)):
            return x.unicodeScalars.lexicographicallyPrecedes(y.unicodeScalars)
        default: return nil
        }
    }
}
