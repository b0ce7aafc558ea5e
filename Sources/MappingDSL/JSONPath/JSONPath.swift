/// A JSONPath query (RFC 9535): a root (`$` or `@`) and segments of selectors.
public struct JSONPath: Sendable, Hashable, CustomStringConvertible {
    /// Where a query starts.
    public enum Root: Sendable, Hashable {
        /// `$`: the document (in mappings, the record).
        case document
        /// `@`: the current node (in filters, the node under test; in mappings, the current item).
        case current
    }

    /// A step of a query.
    public enum Segment: Sendable, Hashable {
        /// `.name`, `[...]`: selects among the children of each node.
        case child([Selector])
        /// `..name`, `..[...]`: selects among each node and all its descendants' children.
        case descendant([Selector])
    }

    /// One selector inside a segment.
    public enum Selector: Sendable, Hashable {
        case name(String)
        case wildcard
        case index(Int)
        case slice(start: Int?, end: Int?, step: Int?)
        case filter(FilterExpression)
    }

    /// The root.
    public var root: Root
    /// The segments, in order.
    public var segments: [Segment]

    /// A query from its parts.
    public init(root: Root, segments: [Segment]) {
        self.root = root
        self.segments = segments
    }

    /// A singular query selects at most one node: only name and index selectors, no descendants.
    public var isSingular: Bool {
        segments.allSatisfy { segment in
            guard case .child(let selectors) = segment, selectors.count == 1 else { return false }
            switch selectors[0] {
            case .name, .index: return true
            default: return false
            }
        }
    }

    public var description: String {
        var s = root == .document ? "$" : "@"
        for segment in segments {
            switch segment {
            case .child(let sel):
                if sel.count == 1, case .name(let n) = sel[0], JSONPath.isShorthandName(n) {
                    s += "." + n
                } else if sel.count == 1, case .wildcard = sel[0] {
                    s += "[*]"
                } else {
                    s += "[" + sel.map(\.description).joined(separator: ",") + "]"
                }
            case .descendant(let sel):
                if sel.count == 1, case .name(let n) = sel[0], JSONPath.isShorthandName(n) {
                    s += ".." + n
                } else {
                    s += "..[" + sel.map(\.description).joined(separator: ",") + "]"
                }
            }
        }
        return s
    }

    static func isShorthandName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, isNameFirst(first) else { return false }
        return name.unicodeScalars.allSatisfy { isNameFirst($0) || ("0"..."9").contains($0) }
    }

    static func isNameFirst(_ u: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(u) || ("A"..."Z").contains(u) || u == "_" || u.value >= 0x80
    }
}

extension JSONPath.Selector: CustomStringConvertible {
    public var description: String {
        switch self {
        case .name(let n): return JSONWriter().string(.string(n)).replacingQuotes()
        case .wildcard: return "*"
        case .index(let i): return String(i)
        case .slice(let a, let b, let c):
            var s = (a.map(String.init) ?? "") + ":" + (b.map(String.init) ?? "")
            if let c { s += ":" + String(c) }
            return s
        case .filter(let f): return "?" + f.description
        }
    }
}

extension String {
    fileprivate func replacingQuotes() -> String {
        // Render name selectors with single quotes, as RFC 9535's normalized paths do. Scalar by
        // scalar: a quote and a combining mark after it are one Character.
        let scalars = Array(unicodeScalars.dropFirst().dropLast())
        var out = String.UnicodeScalarView()
        out.append("'")
        var i = 0
        while i < scalars.count {
            if scalars[i] == "\\", i + 1 < scalars.count {
                if scalars[i + 1] != "\"" { out.append(scalars[i]) }
                out.append(scalars[i + 1])
                i += 2
                continue
            }
            if scalars[i] == "'" { out.append("\\") }
            out.append(scalars[i])
            i += 1
        }
        out.append("'")
        return String(out)
    }
}

/// A filter expression (`?...`) of RFC 9535.
public indirect enum FilterExpression: Sendable, Hashable, CustomStringConvertible {
    case or([FilterExpression])
    case and([FilterExpression])
    case not(FilterExpression)
    /// An existence test: true when the query selects at least one node.
    case exists(JSONPath)
    /// A function used as a test (`match`, `search`, or a logical-typed function).
    case testFunction(FilterFunction)
    case compare(FilterOperand, ComparisonOperator, FilterOperand)

    public var description: String {
        switch self {
        case .or(let parts): return parts.map(\.description).joined(separator: " || ")
        case .and(let parts): return parts.map { part in
                if case .or = part { return "(" + part.description + ")" }
                return part.description
            }.joined(separator: " && ")
        case .not(let inner): return "!(" + inner.description + ")"
        case .exists(let q): return q.description
        case .testFunction(let f): return f.description
        case .compare(let a, let op, let b): return "\(a) \(op.rawValue) \(b)"
        }
    }
}

/// A comparison operator inside a filter.
public enum ComparisonOperator: String, Sendable, Hashable {
    case eq = "==", ne = "!=", lt = "<", le = "<=", gt = ">", ge = ">="
}

/// One side of a filter comparison.
public enum FilterOperand: Sendable, Hashable, CustomStringConvertible {
    case literal(JSON)
    case query(JSONPath)
    case function(FilterFunction)

    public var description: String {
        switch self {
        case .literal(let v): return v.description
        case .query(let q): return q.description
        case .function(let f): return f.description
        }
    }
}

/// A function extension of RFC 9535: `length`, `count`, `match`, `search`, `value`.
public struct FilterFunction: Sendable, Hashable, CustomStringConvertible {
    public var name: String
    public var arguments: [FilterOperand]

    public var description: String { name + "(" + arguments.map(\.description).joined(separator: ", ") + ")" }
}
