/// The outcome of compiling an expression: the compiled form when there were no errors, and
/// every error found (not just the first).
public struct CompileResult: Sendable {
    public var expression: CompiledExpression?
    public var errors: [DSLError]
}

/// Parses, resolves and type-checks expressions, and turns them into closures.
public enum ExpressionCompiler {
    /// Compiles `text` in `scope`.
    public static func compile(_ text: String, scope: Scope) -> CompileResult {
        let ast: Expression
        do {
            ast = try ExpressionParser.parse(text)
        } catch {
            return CompileResult(expression: nil, errors: [error])
        }
        return compile(ast, source: text, scope: scope)
    }

    /// Compiles a parsed expression.
    public static func compile(_ ast: Expression, source: String, scope: Scope) -> CompileResult {
        var c = Checker(scope: scope)
        let (type, thunk) = c.compile(ast, inLambda: false)
        if !c.errors.isEmpty { return CompileResult(expression: nil, errors: c.errors) }
        let compiled = CompiledExpression(
            source: source, type: type, variables: c.variables, functions: c.functions, readsDocument: c.readsDocument,
            constant: ast.literalValue, run: thunk)
        return CompileResult(expression: compiled, errors: [])
    }
}

private struct Checker {
    let scope: Scope
    var errors: [DSLError] = []
    var variables: Set<String> = []
    var functions: Set<String> = []
    var readsDocument = false

    init(scope: Scope) { self.scope = scope }

    mutating func error(_ message: String, _ span: Span) {
        errors.append(DSLError(message, at: span.start, length: span.length))
    }

    static let failing: Thunk = { _ in .null }

    mutating func compile(_ e: Expression, inLambda: Bool) -> (TypeSet, Thunk) {
        switch e {
        case .literal(let v, _):
            return (TypeSet.of(v), { _ in v })

        case .path(let path, let span):
            if path.root == .document {
                if !scope.allowsDocument {
                    error("'$' (the record) is not available here", Span(span.start, span.start + 1))
                }
                readsDocument = true
            } else if !inLambda && !scope.allowsCurrent {
                error("'@' (the current item) is only available inside 'each' mappings and function arguments such as map(list, @...)", Span(span.start, span.start + 1))
            }
            if path.segments.isEmpty {
                if path.root == .document { return (.any, { ctx in ctx.document }) }
                return (.any, { ctx in ctx.current })
            }
            if let names = path.memberNames {
                // `$.a`, `@.a.b`: member lookups, without walking the path's segments.
                let fromDocument = path.root == .document
                if names.count == 1, let name = names.first {
                    return (.any, { ctx in (fromDocument ? ctx.document : ctx.current)[name] ?? .null })
                }
                return (.any, { ctx in
                    var node = fromDocument ? ctx.document : ctx.current
                    for name in names {
                        guard let next = node[name] else { return .null }
                        node = next
                    }
                    return node
                })
            }
            if path.isSingular {
                return (.any, { ctx in path.selectOne(document: ctx.document, current: ctx.current) ?? .null })
            }
            return (.array, { ctx in .array(path.select(document: ctx.document, current: ctx.current)) })

        case .variable(let name, let span):
            guard let v = scope.variables[name] else {
                var message = "unknown variable '\(name)'"
                if scope.functions[name] != nil {
                    message += " ('\(name)' is a function: call it as \(name)(...))"
                } else {
                    message += Suggest.hint(for: name, in: scope.variables.keys)
                }
                error(message, span)
                return (.any, Checker.failing)
            }
            variables.insert(name)
            let slot = v.slot
            return (v.type, { ctx in slot < ctx.variables.count ? ctx.variables[slot] : .null })

        case .array(let elements, _):
            let thunks = elements.map { compile($0, inLambda: inLambda).1 }
            return (.array, { ctx in .array(try thunks.map { try $0(ctx) }) })

        case .object(let members, _):
            var seen: Set<String> = []
            var compiled: [(String, Thunk)] = []
            for m in members {
                if !seen.insert(m.key).inserted { error("duplicate member '\(m.key)' in object", m.value.span) }
                compiled.append((m.key, compile(m.value, inLambda: inLambda).1))
            }
            let parts = compiled
            return (.object, { ctx in
                var o = JSONObject(minimumCapacity: parts.count)
                for (k, t) in parts {
                    let v = try t(ctx)
                    if !v.isNull { o.append(k, v) }
                }
                return .object(o)
            })

        case .negate(let inner, let span):
            let (t, thunk) = compile(inner, inLambda: inLambda)
            if !t.nonNull.isEmpty && t.intersection(.number).isEmpty {
                error("'-' needs a number, found \(t.nonNull)", span)
            }
            return (t.intersection([.number, .null]), { ctx in try Ops.negate(try thunk(ctx), span) })

        case .not(let inner, _):
            let (t, thunk) = compile(inner, inLambda: inLambda)
            if !t.nonNull.isEmpty && !t.contains(.bool) {
                error("'not' needs a boolean, found \(t.nonNull)", inner.span)
            }
            return (.bool, { ctx in .bool(!(try Ops.truth(try thunk(ctx), inner.span))) })

        case .binary(let op, let l, let r, let opSpan):
            return compileBinary(op, l, r, opSpan, inLambda: inLambda)

        case .conditional(let c, let a, let b, _):
            let (ct, cthunk) = compile(c, inLambda: inLambda)
            if !ct.nonNull.isEmpty && !ct.contains(.bool) {
                error("a condition must be a boolean, found \(ct.nonNull)", c.span)
            }
            let (at, athunk) = compile(a, inLambda: inLambda)
            let (bt, bthunk) = compile(b, inLambda: inLambda)
            let cspan = c.span
            return (at.union(bt), { ctx in try Ops.truth(try cthunk(ctx), cspan) ? try athunk(ctx) : try bthunk(ctx) })

        case .member(let base, let name, let span):
            let (t, thunk) = compile(base, inLambda: inLambda)
            if !t.nonNull.isEmpty && !t.contains(.object) {
                error("'.\(name)' needs an object, found \(t.nonNull)", span)
            }
            return (.any, { ctx in
                let v = try thunk(ctx)
                if case .object(let o) = v { return o[name] ?? .null }
                return .null
            })

        case .index(let base, let index, let span):
            let (bt, bthunk) = compile(base, inLambda: inLambda)
            let (it, ithunk) = compile(index, inLambda: inLambda)
            if !bt.nonNull.isEmpty && bt.intersection([.array, .object]).isEmpty {
                error("'[...]' needs an array or an object, found \(bt.nonNull)", span)
            }
            if !it.nonNull.isEmpty && it.intersection([.int, .string]).isEmpty {
                error("an index must be an integer or a string, found \(it.nonNull)", index.span)
            }
            let ispan = index.span
            return (.any, { ctx in try Ops.index(try bthunk(ctx), try ithunk(ctx), ispan) })

        case .call(let name, let args, let nameSpan, let span):
            return compileCall(name, args, nameSpan, span, inLambda: inLambda)
        }
    }

    mutating func compileBinary(_ op: BinaryOperator, _ l: Expression, _ r: Expression, _ opSpan: Span, inLambda: Bool)
        -> (TypeSet, Thunk)
    {
        let (lt, lthunk) = compile(l, inLambda: inLambda)
        let (rt, rthunk) = compile(r, inLambda: inLambda)
        let span = l.span.union(r.span)
        let ln = lt.nonNull
        let rn = rt.nonNull
        switch op {
        case .add:
            if !ln.isEmpty && !rn.isEmpty && ln != .any.nonNull && rn != .any.nonNull {
                let numbers = !ln.intersection(.number).isEmpty && !rn.intersection(.number).isEmpty
                let strings = ln.contains(.string) && rn.contains(.string)
                let arrays = ln.contains(.array) && rn.contains(.array)
                if !numbers && !strings && !arrays {
                    error("'+' cannot add \(ln) and \(rn); convert first (str(), int(), float())", opSpan)
                }
            }
            var result: TypeSet = [.null]
            if !ln.intersection(.number).isEmpty && !rn.intersection(.number).isEmpty {
                result.formUnion(ln.contains(.double) || rn.contains(.double) ? .number : .int)
            }
            if ln.contains(.string) && rn.contains(.string) { result.insert(.string) }
            if ln.contains(.array) && rn.contains(.array) { result.insert(.array) }
            return (result, { ctx in try Ops.add(try lthunk(ctx), try rthunk(ctx), span) })
        case .subtract, .multiply, .divide, .remainder:
            for (t, side) in [(ln, l), (rn, r)] where !t.isEmpty && t.intersection(.number).isEmpty {
                error("'\(op.rawValue)' needs numbers, found \(t)", side.span)
            }
            let result: TypeSet
            if op == .divide {
                result = [.number, .null]
            } else if ln.contains(.double) || rn.contains(.double) {
                result = [.number, .null]
            } else {
                result = [.int, .null]
            }
            return (result, { ctx in try Ops.arithmetic(op, try lthunk(ctx), try rthunk(ctx), span) })
        case .equal, .notEqual:
            let negate = op == .notEqual
            return (.bool, { ctx in .bool(JSONComparison.equal(try lthunk(ctx), try rthunk(ctx)) != negate) })
        case .less, .lessEqual, .greater, .greaterEqual:
            if !ln.isEmpty && !rn.isEmpty {
                let ordered = (!ln.intersection(.number).isEmpty && !rn.intersection(.number).isEmpty)
                    || (ln.contains(.string) && rn.contains(.string))
                if !ordered { error("'\(op.rawValue)' cannot order \(ln) and \(rn)", opSpan) }
            }
            return (.bool, { ctx in .bool(try Ops.order(op, try lthunk(ctx), try rthunk(ctx), span)) })
        case .and, .or:
            for (t, side) in [(ln, l), (rn, r)] where !t.isEmpty && !t.contains(.bool) {
                error("'\(op.rawValue)' needs booleans, found \(t)", side.span)
            }
            let lspan = l.span
            let rspan = r.span
            if op == .and {
                return (.bool, { ctx in .bool(try Ops.truth(try lthunk(ctx), lspan) && Ops.truth(try rthunk(ctx), rspan)) })
            }
            return (.bool, { ctx in .bool(try Ops.truth(try lthunk(ctx), lspan) || Ops.truth(try rthunk(ctx), rspan)) })
        case .coalesce:
            return (ln.union(rt), { ctx in
                let v = try lthunk(ctx)
                return v.isNull ? try rthunk(ctx) : v
            })
        }
    }

    mutating func compileCall(_ name: String, _ args: [Expression], _ nameSpan: Span, _ span: Span, inLambda: Bool)
        -> (TypeSet, Thunk)
    {
        guard let spec = scope.functions[name] else {
            var message = "unknown function '\(name)'"
            message += Suggest.hint(for: name, in: scope.functions.functions.keys)
            error(message, nameSpan)
            for a in args { _ = compile(a, inLambda: inLambda) }
            return (.any, Checker.failing)
        }
        functions.insert(name)
        if args.count < spec.minArguments || (spec.maxArguments.map { args.count > $0 } ?? false) {
            let expected: String
            if let max = spec.maxArguments {
                expected = spec.minArguments == max ? "\(max)" : "\(spec.minArguments) to \(max)"
            } else {
                expected = "at least \(spec.minArguments)"
            }
            error("'\(name)' takes \(expected) argument\(expected == "1" ? "" : "s"), found \(args.count): \(spec.signature)", span)
        }
        var types: [TypeSet] = []
        var thunks: [Thunk] = []
        for (i, a) in args.enumerated() {
            let lambda = spec.lambdaArguments.contains(i)
            let (t, thunk) = compile(a, inLambda: inLambda || lambda)
            types.append(t)
            thunks.append(thunk)
            let expected = spec.parameterType(i)
            if !lambda && !t.nonNull.isEmpty && t.nonNull.intersection(expected).isEmpty {
                error("argument \(i + 1) of '\(name)' must be \(expected.nonNull), found \(t.nonNull): \(spec.signature)", a.span)
            }
        }
        var implementation = spec.implementation
        if let specialize = spec.specialize {
            do {
                if let special = try specialize(args.map(\.literalValue)) { implementation = special }
            } catch {
                let at = error.index < args.count ? args[error.index].span : span
                self.error(error.message, at)
            }
        }
        let resultType = spec.returns(types)
        let argThunks = thunks
        switch implementation {
        case .pure(let f):
            switch argThunks.count {
            case 1:
                let a0 = argThunks[0]
                return (resultType, { ctx in
                    do { return try f([try a0(ctx)], ctx) } catch let e as EvalError { throw e } catch {
                        throw EvalError("\(error)", span: span)
                    }
                })
            default:
                return (resultType, { ctx in
                    var values: [JSON] = []
                    values.reserveCapacity(argThunks.count)
                    for t in argThunks { values.append(try t(ctx)) }
                    do { return try f(values, ctx) } catch let e as EvalError { throw e } catch {
                        throw EvalError("\(error)", span: span)
                    }
                })
            }
        case .unary(let f):
            guard let a0 = argThunks.first else { return (resultType, Checker.failing) }
            return (resultType, { ctx in
                let v = try a0(ctx)
                if v.isNull { return .null }
                do { return try f(v) } catch let e as EvalError { throw e } catch {
                    throw EvalError("\(error)", span: span)
                }
            })
        case .lambda(let f):
            guard let first = argThunks.first else { return (resultType, Checker.failing) }
            let rest = Array(argThunks.dropFirst())
            return (resultType, { ctx in
                let subject = try first(ctx)
                do { return try f(subject, Lambdas(context: ctx, thunks: rest)) } catch let e as EvalError { throw e } catch {
                    throw EvalError("\(error)", span: span)
                }
            })
        case .host:
            return (resultType, { ctx in
                var values: [JSON] = []
                for t in argThunks { values.append(try t(ctx)) }
                guard let host = ctx.host else {
                    throw EvalError("\(name)() needs the datasource, which is not available here", span: span)
                }
                do { return try host.call(name, values) } catch let e as EvalError { throw e } catch {
                    throw EvalError("\(error)", span: span)
                }
            })
        }
    }
}

/// A message thrown by function implementations; the compiler attaches the call's location.
public struct FunctionError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ message: String) { description = message }
}
