/// A byte range inside an expression's text.
public struct Span: Sendable, Hashable {
    public var start: Int
    public var end: Int

    public init(_ start: Int, _ end: Int) {
        self.start = start
        self.end = max(end, start)
    }

    /// The smallest span that covers both.
    public func union(_ other: Span) -> Span { Span(min(start, other.start), max(end, other.end)) }

    public var length: Int { max(end - start, 1) }
}

/// The static type of an expression: the set of JSON kinds its value may have.
public struct TypeSet: OptionSet, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let null = TypeSet(rawValue: 1)
    public static let bool = TypeSet(rawValue: 2)
    public static let int = TypeSet(rawValue: 4)
    public static let double = TypeSet(rawValue: 8)
    public static let string = TypeSet(rawValue: 16)
    public static let array = TypeSet(rawValue: 32)
    public static let object = TypeSet(rawValue: 64)

    /// An integer or a floating-point number.
    public static let number: TypeSet = [.int, .double]
    /// Any JSON value.
    public static let any: TypeSet = [.null, .bool, .int, .double, .string, .array, .object]

    /// The type of a JSON value.
    public static func of(_ value: JSON) -> TypeSet {
        switch value {
        case .null: return .null
        case .bool: return .bool
        case .int: return .int
        case .double: return .double
        case .string: return .string
        case .array: return .array
        case .object: return .object
        }
    }

    /// The type without `null`.
    public var nonNull: TypeSet { subtracting(.null) }

    public var description: String {
        if self == .any { return "any" }
        var names: [String] = []
        if contains(.number) {
            names.append("number")
        } else if contains(.int) {
            names.append("integer")
        } else if contains(.double) {
            names.append("number")
        }
        if contains(.string) { names.append("string") }
        if contains(.bool) { names.append("boolean") }
        if contains(.array) { names.append("array") }
        if contains(.object) { names.append("object") }
        if contains(.null) { names.append("null") }
        if names.isEmpty { return "nothing" }
        return names.joined(separator: " or ")
    }
}

/// Operators of the expression language.
public enum BinaryOperator: String, Sendable {
    case add = "+", subtract = "-", multiply = "*", divide = "/", remainder = "%"
    case equal = "==", notEqual = "!=", less = "<", lessEqual = "<=", greater = ">", greaterEqual = ">="
    case and = "and", or = "or", coalesce = "??"
}

/// A parsed expression. Every node carries the span of its text.
public indirect enum Expression: Sendable {
    case literal(JSON, Span)
    case path(JSONPath, Span)
    case variable(String, Span)
    case array([Expression], Span)
    case object([(key: String, value: Expression)], Span)
    case negate(Expression, Span)
    case not(Expression, Span)
    case binary(BinaryOperator, Expression, Expression, operatorSpan: Span)
    case conditional(Expression, Expression, Expression, Span)
    case call(name: String, arguments: [Expression], nameSpan: Span, span: Span)
    case member(Expression, String, Span)
    case index(Expression, Expression, Span)

    /// The span of the whole expression.
    public var span: Span {
        switch self {
        case .literal(_, let s), .path(_, let s), .variable(_, let s), .array(_, let s), .object(_, let s),
            .negate(_, let s), .not(_, let s), .conditional(_, _, _, let s), .member(_, _, let s), .index(_, _, let s):
            return s
        case .binary(_, let l, let r, _): return l.span.union(r.span)
        case .call(_, _, _, let s): return s
        }
    }

    /// The literal value, when the expression is a constant.
    public var literalValue: JSON? {
        if case .literal(let v, _) = self { return v }
        return nil
    }
}
