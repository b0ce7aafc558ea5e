/// The operators of the expression language at run time: truth, arithmetic, comparison, indexing.
enum Ops {
    static func truth(_ v: JSON, _ span: Span) throws -> Bool {
        switch v {
        case .bool(let b): return b
        case .null: return false
        default: throw EvalError("expected a boolean, found \(v.typeName) \(v)", span: span)
        }
    }

    static func negate(_ v: JSON, _ span: Span) throws -> JSON {
        switch v {
        case .null: return .null
        case .int(let i):
            guard i != Int64.min else { throw EvalError("integer overflow", span: span) }
            return .int(-i)
        case .double(let d): return .double(-d)
        default: throw EvalError("'-' needs a number, found \(v.typeName)", span: span)
        }
    }

    static func add(_ a: JSON, _ b: JSON, _ span: Span) throws -> JSON {
        switch (a, b) {
        case (.null, _), (_, .null): return .null
        case (.int(let x), .int(let y)):
            let (r, o) = x.addingReportingOverflow(y)
            if o { throw EvalError("integer overflow in '+'", span: span) }
            return .int(r)
        case (.string(let x), .string(let y)): return .string(x + y)
        case (.array(let x), .array(let y)): return .array(x + y)
        default:
            if let x = a.doubleValue, let y = b.doubleValue { return .double(x + y) }
            throw EvalError("'+' cannot add \(a.typeName) and \(b.typeName)", span: span)
        }
    }

    static func arithmetic(_ op: BinaryOperator, _ a: JSON, _ b: JSON, _ span: Span) throws -> JSON {
        if a.isNull || b.isNull { return .null }
        if case .int(let x) = a, case .int(let y) = b, op != .divide {
            let (r, o): (Int64, Bool)
            switch op {
            case .subtract: (r, o) = x.subtractingReportingOverflow(y)
            case .multiply: (r, o) = x.multipliedReportingOverflow(by: y)
            default:
                guard y != 0 else { throw EvalError("remainder by zero", span: span) }
                (r, o) = x.remainderReportingOverflow(dividingBy: y)
            }
            if o { throw EvalError("integer overflow in '\(op.rawValue)'", span: span) }
            return .int(r)
        }
        guard let x = a.doubleValue, let y = b.doubleValue else {
            throw EvalError("'\(op.rawValue)' needs numbers, found \(a.typeName) and \(b.typeName)", span: span)
        }
        switch op {
        case .subtract: return .double(x - y)
        case .multiply: return .double(x * y)
        case .divide:
            guard y != 0 else { throw EvalError("division by zero", span: span) }
            return .double(x / y)
        default:
            guard y != 0 else { throw EvalError("remainder by zero", span: span) }
            return .double(x.truncatingRemainder(dividingBy: y))
        }
    }

    static func order(_ op: BinaryOperator, _ a: JSON, _ b: JSON, _ span: Span) throws -> Bool {
        if a.isNull || b.isNull { return false }
        guard let lt = JSONComparison.less(a, b), let gt = JSONComparison.less(b, a) else {
            throw EvalError("'\(op.rawValue)' cannot order \(a.typeName) and \(b.typeName)", span: span)
        }
        switch op {
        case .less: return lt
        case .lessEqual: return !gt
        case .greater: return gt
        default: return !lt
        }
    }

    static func index(_ base: JSON, _ index: JSON, _ span: Span) throws -> JSON {
        switch (base, index) {
        case (.null, _), (_, .null): return .null
        case (.array(let a), .int(let i)):
            let j = i < 0 ? Int64(a.count) + i : i
            return j >= 0 && j < a.count ? a[Int(j)] : .null
        case (.object(let o), .string(let k)): return o[k] ?? .null
        default:
            throw EvalError("cannot index \(base.typeName) with \(index.typeName)", span: span)
        }
    }
}
