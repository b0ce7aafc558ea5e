/// Parses the text of an expression into an `Expression`.
///
/// Precedence, lowest first: `c ? a : b`; `??`; `or` `||`; `and` `&&`; `not` `!`; comparisons
/// `== != < <= > >=`; `+ -`; `* / %`; unary `-`; postfix `.name` and `[index]`; primaries
/// (literals, JSONPath, variables, calls, `(…)`, `[…]`, `{…}`).
public enum ExpressionParser {
    /// The deepest nesting of parentheses, brackets and calls an expression may have.
    public static let maxDepth = 64

    /// Parses `text` as one expression.
    public static func parse(_ text: String) throws(DSLError) -> Expression {
        var p = Impl(cursor: Cursor(text))
        p.cursor.skipWhitespace()
        if p.cursor.atEnd { throw DSLError("empty expression", at: 0) }
        let e = try p.parseExpression()
        p.cursor.skipWhitespace()
        if !p.cursor.atEnd {
            let start = p.cursor.pos
            throw DSLError("unexpected \(p.cursor.describeHere()) after the end of the expression", at: start, length: p.tokenLength())
        }
        return e
    }

    private struct Impl {
        var cursor: Cursor
        var depth = 0

        func tokenLength() -> Int {
            var end = cursor.pos
            guard end < cursor.bytes.count else { return 1 }
            if Cursor.isNameChar(cursor.bytes[end]) {
                while end < cursor.bytes.count, Cursor.isNameChar(cursor.bytes[end]) { end += 1 }
                return end - cursor.pos
            }
            return 1
        }

        mutating func enter(_ at: Int) throws(DSLError) {
            depth += 1
            if depth > ExpressionParser.maxDepth {
                throw DSLError("expression nested deeper than \(ExpressionParser.maxDepth) levels", at: at)
            }
        }

        /// Consumes `word` when it stands at the cursor as a whole word.
        mutating func keyword(_ word: StaticString) -> Bool {
            guard cursor.peekIs(word) else { return false }
            let after = cursor.pos + word.utf8CodeUnitCount
            if after < cursor.bytes.count, Cursor.isNameChar(cursor.bytes[after]) { return false }
            cursor.pos = after
            return true
        }

        mutating func symbol(_ s: StaticString) -> Bool {
            guard cursor.peekIs(s) else { return false }
            cursor.pos += s.utf8CodeUnitCount
            return true
        }

        mutating func parseExpression() throws(DSLError) -> Expression {
            try enter(cursor.pos)
            defer { depth -= 1 }
            let condition = try parseCoalesce()
            cursor.skipWhitespace()
            // `?` but not `??` (handled below it).
            guard cursor.peek() == UInt8(ascii: "?"), cursor.peek(1) != UInt8(ascii: "?") else { return condition }
            cursor.pos += 1
            cursor.skipWhitespace()
            let then = try parseExpression()
            cursor.skipWhitespace()
            guard symbol(":") else {
                throw DSLError("expected ':' in a conditional 'condition ? then : else'", at: cursor.pos, length: tokenLength())
            }
            cursor.skipWhitespace()
            let otherwise = try parseExpression()
            return .conditional(condition, then, otherwise, condition.span.union(otherwise.span))
        }

        mutating func parseCoalesce() throws(DSLError) -> Expression {
            var left = try parseOr()
            while true {
                cursor.skipWhitespace()
                let at = cursor.pos
                guard symbol("??") else { return left }
                cursor.skipWhitespace()
                let right = try parseOr()
                left = .binary(.coalesce, left, right, operatorSpan: Span(at, at + 2))
            }
        }

        mutating func parseOr() throws(DSLError) -> Expression {
            var left = try parseAnd()
            while true {
                cursor.skipWhitespace()
                let at = cursor.pos
                guard keyword("or") || symbol("||") else { return left }
                let opSpan = Span(at, cursor.pos)
                cursor.skipWhitespace()
                let right = try parseAnd()
                left = .binary(.or, left, right, operatorSpan: opSpan)
            }
        }

        mutating func parseAnd() throws(DSLError) -> Expression {
            var left = try parseNot()
            while true {
                cursor.skipWhitespace()
                let at = cursor.pos
                guard keyword("and") || symbol("&&") else { return left }
                let opSpan = Span(at, cursor.pos)
                cursor.skipWhitespace()
                let right = try parseNot()
                left = .binary(.and, left, right, operatorSpan: opSpan)
            }
        }

        mutating func parseNot() throws(DSLError) -> Expression {
            cursor.skipWhitespace()
            let at = cursor.pos
            if keyword("not") || (cursor.peek() == UInt8(ascii: "!") && cursor.peek(1) != UInt8(ascii: "=") && symbol("!")) {
                try enter(at)
                defer { depth -= 1 }
                cursor.skipWhitespace()
                let inner = try parseNot()
                return .not(inner, Span(at, inner.span.end))
            }
            return try parseComparison()
        }

        mutating func parseComparison() throws(DSLError) -> Expression {
            let left = try parseAdditive()
            cursor.skipWhitespace()
            let at = cursor.pos
            let ops: [(StaticString, BinaryOperator)] = [
                ("==", .equal), ("!=", .notEqual), ("<=", .lessEqual), (">=", .greaterEqual), ("<", .less), (">", .greater),
            ]
            for (text, op) in ops where symbol(text) {
                let opSpan = Span(at, cursor.pos)
                cursor.skipWhitespace()
                let right = try parseAdditive()
                cursor.skipWhitespace()
                for (again, _) in ops where cursor.peekIs(again) {
                    throw DSLError("comparisons do not chain; combine them with 'and'", at: cursor.pos, length: again.utf8CodeUnitCount)
                }
                return .binary(op, left, right, operatorSpan: opSpan)
            }
            if cursor.peek() == UInt8(ascii: "="), cursor.peek(1) != UInt8(ascii: "=") {
                throw DSLError("'=' is not an operator; compare with '=='", at: at)
            }
            return left
        }

        mutating func parseAdditive() throws(DSLError) -> Expression {
            var left = try parseMultiplicative()
            while true {
                cursor.skipWhitespace()
                let at = cursor.pos
                let op: BinaryOperator
                if symbol("+") {
                    op = .add
                } else if cursor.peek() == UInt8(ascii: "-") && symbol("-") {
                    op = .subtract
                } else {
                    return left
                }
                cursor.skipWhitespace()
                let right = try parseMultiplicative()
                left = .binary(op, left, right, operatorSpan: Span(at, at + 1))
            }
        }

        mutating func parseMultiplicative() throws(DSLError) -> Expression {
            var left = try parseUnary()
            while true {
                cursor.skipWhitespace()
                let at = cursor.pos
                let op: BinaryOperator
                if symbol("*") {
                    op = .multiply
                } else if symbol("/") {
                    op = .divide
                } else if symbol("%") {
                    op = .remainder
                } else {
                    return left
                }
                cursor.skipWhitespace()
                let right = try parseUnary()
                left = .binary(op, left, right, operatorSpan: Span(at, at + 1))
            }
        }

        mutating func parseUnary() throws(DSLError) -> Expression {
            cursor.skipWhitespace()
            let at = cursor.pos
            if cursor.peek() == UInt8(ascii: "-") {
                if let n = cursor.peek(1), Cursor.isDigit(n) {
                    return try parsePostfix(.literal(try cursor.readNumber(), Span(at, cursor.pos)))
                }
                cursor.pos += 1
                try enter(at)
                defer { depth -= 1 }
                let inner = try parseUnary()
                return .negate(inner, Span(at, inner.span.end))
            }
            return try parsePostfix(try parsePrimary())
        }

        mutating func parsePostfix(_ base: Expression) throws(DSLError) -> Expression {
            var e = base
            while true {
                if cursor.peek() == UInt8(ascii: "."), let n = cursor.peek(1), Cursor.isNameFirst(n) {
                    cursor.pos += 1
                    let start = cursor.pos
                    while let c = cursor.peek(), Cursor.isNameChar(c) { cursor.pos += 1 }
                    e = .member(e, cursor.text(start..<cursor.pos), Span(e.span.start, cursor.pos))
                } else if cursor.peek() == UInt8(ascii: "[") {
                    let open = cursor.pos
                    cursor.pos += 1
                    cursor.skipWhitespace()
                    let index = try parseExpression()
                    cursor.skipWhitespace()
                    guard symbol("]") else { throw DSLError("unclosed '['", at: open) }
                    e = .index(e, index, Span(e.span.start, cursor.pos))
                } else {
                    return e
                }
            }
        }

        mutating func parsePrimary() throws(DSLError) -> Expression {
            cursor.skipWhitespace()
            let start = cursor.pos
            guard let c = cursor.peek() else { throw DSLError("unexpected end of expression, expected a value", at: start) }
            switch c {
            case UInt8(ascii: "$"), UInt8(ascii: "@"):
                let path = try PathParser.parseQuery(&cursor)
                return .path(path, Span(start, cursor.pos))
            case 0x27, 0x22:
                let s = try cursor.readStringLiteral()
                return .literal(.string(s), Span(start, cursor.pos))
            case 0x30...0x39:
                return .literal(try cursor.readNumber(), Span(start, cursor.pos))
            case UInt8(ascii: "("):
                cursor.pos += 1
                let inner = try parseExpression()
                cursor.skipWhitespace()
                guard symbol(")") else { throw DSLError("unclosed '('", at: start) }
                return inner
            case UInt8(ascii: "["):
                cursor.pos += 1
                try enter(start)
                defer { depth -= 1 }
                var elements: [Expression] = []
                cursor.skipWhitespace()
                if symbol("]") { return .array([], Span(start, cursor.pos)) }
                while true {
                    elements.append(try parseExpression())
                    cursor.skipWhitespace()
                    if symbol("]") { break }
                    guard symbol(",") else {
                        throw DSLError("expected ',' or ']' in an array, found \(cursor.describeHere())", at: cursor.pos, length: tokenLength())
                    }
                    cursor.skipWhitespace()
                }
                return .array(elements, Span(start, cursor.pos))
            case UInt8(ascii: "{"):
                cursor.pos += 1
                try enter(start)
                defer { depth -= 1 }
                var members: [(key: String, value: Expression)] = []
                cursor.skipWhitespace()
                if symbol("}") { return .object([], Span(start, cursor.pos)) }
                while true {
                    cursor.skipWhitespace()
                    let key: String
                    if let q = cursor.peek(), q == 0x27 || q == 0x22 {
                        key = try cursor.readStringLiteral()
                    } else if let n = cursor.peek(), Cursor.isNameFirst(n) {
                        let s = cursor.pos
                        while let ch = cursor.peek(), Cursor.isNameChar(ch) { cursor.pos += 1 }
                        key = cursor.text(s..<cursor.pos)
                    } else {
                        throw DSLError("expected a member name in an object, found \(cursor.describeHere())", at: cursor.pos, length: tokenLength())
                    }
                    cursor.skipWhitespace()
                    guard symbol(":") else { throw DSLError("expected ':' after the member name '\(key)'", at: cursor.pos, length: tokenLength()) }
                    cursor.skipWhitespace()
                    members.append((key, try parseExpression()))
                    cursor.skipWhitespace()
                    if symbol("}") { break }
                    guard symbol(",") else {
                        throw DSLError("expected ',' or '}' in an object, found \(cursor.describeHere())", at: cursor.pos, length: tokenLength())
                    }
                }
                return .object(members, Span(start, cursor.pos))
            default:
                guard Cursor.isNameFirst(c) else {
                    throw DSLError("unexpected \(cursor.describeHere()), expected a value", at: start, length: tokenLength())
                }
                while let ch = cursor.peek(), Cursor.isNameChar(ch) { cursor.pos += 1 }
                let name = cursor.text(start..<cursor.pos)
                let nameSpan = Span(start, cursor.pos)
                switch name {
                case "true": return .literal(.bool(true), nameSpan)
                case "false": return .literal(.bool(false), nameSpan)
                case "null": return .literal(.null, nameSpan)
                case "and", "or", "not":
                    throw DSLError("unexpected '\(name)', expected a value", at: start, length: name.utf8.count)
                default: break
                }
                let afterName = cursor.pos
                cursor.skipWhitespace()
                guard cursor.peek() == UInt8(ascii: "(") else {
                    cursor.pos = afterName
                    return .variable(name, nameSpan)
                }
                let open = cursor.pos
                cursor.pos += 1
                try enter(start)
                defer { depth -= 1 }
                var args: [Expression] = []
                cursor.skipWhitespace()
                if cursor.atEnd { throw DSLError("unclosed '(' of the call to '\(name)'", at: open) }
                if !symbol(")") {
                    while true {
                        args.append(try parseExpression())
                        cursor.skipWhitespace()
                        if symbol(")") { break }
                        guard symbol(",") else {
                            if cursor.atEnd { throw DSLError("unclosed '(' of the call to '\(name)'", at: open) }
                            throw DSLError("expected ',' or ')' in the arguments of '\(name)', found \(cursor.describeHere())", at: cursor.pos, length: tokenLength())
                        }
                        cursor.skipWhitespace()
                    }
                }
                return .call(name: name, arguments: args, nameSpan: nameSpan, span: Span(start, cursor.pos))
            }
        }
    }
}
