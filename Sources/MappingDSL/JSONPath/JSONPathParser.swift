extension JSONPath {
    /// Parses a whole JSONPath query (RFC 9535). Errors carry the byte offset in `text`.
    public static func parse(_ text: String) throws(DSLError) -> JSONPath {
        var cursor = Cursor(text)
        let path = try PathParser.parseQuery(&cursor)
        if !cursor.atEnd {
            throw DSLError("unexpected \(cursor.describeHere()) in JSONPath", at: cursor.pos)
        }
        return path
    }
}

enum PathParser {
    /// Parses `$...` or `@...` at the cursor; segments must follow each other without spaces.
    static func parseQuery(_ c: inout Cursor) throws(DSLError) -> JSONPath {
        guard let first = c.peek(), first == UInt8(ascii: "$") || first == UInt8(ascii: "@") else {
            throw DSLError("a JSONPath starts with '$' or '@'", at: c.pos)
        }
        c.pos += 1
        let root: JSONPath.Root = first == UInt8(ascii: "$") ? .document : .current
        var segments: [JSONPath.Segment] = []
        while let ch = c.peek() {
            if ch == UInt8(ascii: "[") {
                segments.append(.child(try parseBracketed(&c)))
            } else if ch == UInt8(ascii: ".") {
                if c.peek(1) == UInt8(ascii: ".") {
                    c.pos += 2
                    if c.peek() == UInt8(ascii: "[") {
                        segments.append(.descendant(try parseBracketed(&c)))
                    } else if c.peek() == UInt8(ascii: "*") {
                        c.pos += 1
                        segments.append(.descendant([.wildcard]))
                    } else if let n = c.peek(), Cursor.isNameFirst(n) {
                        segments.append(.descendant([.name(readShorthand(&c))]))
                    } else {
                        throw DSLError("expected a name, '*' or '[' after '..'", at: c.pos)
                    }
                } else if c.peek(1) == UInt8(ascii: "*") {
                    c.pos += 2
                    segments.append(.child([.wildcard]))
                } else if let n = c.peek(1), Cursor.isNameFirst(n) {
                    c.pos += 1
                    segments.append(.child([.name(readShorthand(&c))]))
                } else {
                    throw DSLError("expected a member name or '*' after '.'", at: c.pos + 1)
                }
            } else {
                break
            }
        }
        return JSONPath(root: root, segments: segments)
    }

    static func readShorthand(_ c: inout Cursor) -> String {
        let start = c.pos
        while let n = c.peek(), Cursor.isNameChar(n) { c.pos += 1 }
        return c.text(start..<c.pos)
    }

    static func parseBracketed(_ c: inout Cursor) throws(DSLError) -> [JSONPath.Selector] {
        let open = c.pos
        c.pos += 1
        var selectors: [JSONPath.Selector] = []
        while true {
            c.skipWhitespace()
            selectors.append(try parseSelector(&c))
            c.skipWhitespace()
            guard let ch = c.peek() else { throw DSLError("unclosed '['", at: open) }
            c.pos += 1
            if ch == UInt8(ascii: "]") { return selectors }
            if ch != UInt8(ascii: ",") {
                c.pos -= 1
                throw DSLError("unexpected \(c.describeHere()) in a selector, expected ',' or ']'", at: c.pos)
            }
        }
    }

    static let maxIndex = 9_007_199_254_740_991

    static func readInt(_ c: inout Cursor) throws(DSLError) -> Int {
        let start = c.pos
        if c.peek() == UInt8(ascii: "-") { c.pos += 1 }
        guard let d = c.peek(), Cursor.isDigit(d) else { throw DSLError("expected an integer", at: start) }
        if d == 0x30 {
            c.pos += 1
            if let n = c.peek(), Cursor.isDigit(n) { throw DSLError("leading zeros are not allowed", at: start) }
            if c.bytes[start] == UInt8(ascii: "-") { throw DSLError("'-0' is not a valid index", at: start, length: 2) }
            return 0
        }
        var v = 0
        while let n = c.peek(), Cursor.isDigit(n) {
            if v > maxIndex { throw DSLError("integer out of range", at: start, length: c.pos - start) }
            v = v * 10 + Int(n - 0x30)
            c.pos += 1
        }
        if v > maxIndex { throw DSLError("integer out of range", at: start, length: c.pos - start) }
        return c.bytes[start] == UInt8(ascii: "-") ? -v : v
    }

    static func parseSelector(_ c: inout Cursor) throws(DSLError) -> JSONPath.Selector {
        guard let ch = c.peek() else { throw DSLError("expected a selector", at: c.pos) }
        switch ch {
        case 0x27, 0x22:
            return .name(try c.readStringLiteral())
        case UInt8(ascii: "*"):
            c.pos += 1
            return .wildcard
        case UInt8(ascii: "?"):
            c.pos += 1
            c.skipWhitespace()
            return .filter(try parseLogicalOr(&c))
        case UInt8(ascii: ":"), UInt8(ascii: "-"), 0x30...0x39:
            var start: Int?
            if ch != UInt8(ascii: ":") {
                start = try readInt(&c)
                c.skipWhitespace()
                guard c.peek() == UInt8(ascii: ":") else { return .index(start ?? 0) }
            }
            c.pos += 1  // ':'
            c.skipWhitespace()
            var end: Int?
            if let n = c.peek(), n == UInt8(ascii: "-") || Cursor.isDigit(n) {
                end = try readInt(&c)
                c.skipWhitespace()
            }
            var step: Int?
            if c.peek() == UInt8(ascii: ":") {
                c.pos += 1
                c.skipWhitespace()
                if let n = c.peek(), n == UInt8(ascii: "-") || Cursor.isDigit(n) {
                    step = try readInt(&c)
                }
            }
            return .slice(start: start, end: end, step: step)
        default:
            if Cursor.isNameFirst(ch) {
                let start = c.pos
                let name = readShorthand(&c)
                throw DSLError("a name inside brackets needs quotes: ['\(name)']", at: start, length: c.pos - start)
            }
            throw DSLError("unexpected \(c.describeHere()), expected a selector", at: c.pos)
        }
    }

    // MARK: Filters

    static func parseLogicalOr(_ c: inout Cursor) throws(DSLError) -> FilterExpression {
        // Flat: `(a || b) || c` is `a || b || c`, as it prints.
        var parts: [FilterExpression] = []
        func add(_ e: FilterExpression) { if case .or(let inner) = e { parts += inner } else { parts.append(e) } }
        add(try parseLogicalAnd(&c))
        while true {
            c.skipWhitespace()
            guard c.peekIs("||") else { break }
            c.pos += 2
            c.skipWhitespace()
            add(try parseLogicalAnd(&c))
        }
        return parts.count == 1 ? parts[0] : .or(parts)
    }

    static func parseLogicalAnd(_ c: inout Cursor) throws(DSLError) -> FilterExpression {
        // Flat: `(a && b) && c` is `a && b && c`, as it prints.
        var parts: [FilterExpression] = []
        func add(_ e: FilterExpression) { if case .and(let inner) = e { parts += inner } else { parts.append(e) } }
        add(try parseBasic(&c))
        while true {
            c.skipWhitespace()
            guard c.peekIs("&&") else { break }
            c.pos += 2
            c.skipWhitespace()
            add(try parseBasic(&c))
        }
        return parts.count == 1 ? parts[0] : .and(parts)
    }

    static func parseBasic(_ c: inout Cursor) throws(DSLError) -> FilterExpression {
        if c.peek() == UInt8(ascii: "!") && c.peek(1) != UInt8(ascii: "=") {
            c.pos += 1
            c.skipWhitespace()
            if c.peek() == UInt8(ascii: "(") {
                return .not(try parseParen(&c))
            }
            let start = c.pos
            let operand = try parseComparable(&c)
            return .not(try testExpression(operand, at: start, cursor: c))
        }
        if c.peek() == UInt8(ascii: "(") { return try parseParen(&c) }
        let start = c.pos
        let left = try parseComparable(&c)
        c.skipWhitespace()
        if let op = readComparisonOperator(&c) {
            c.skipWhitespace()
            let rightStart = c.pos
            let right = try parseComparable(&c)
            try checkComparable(left, at: start)
            try checkComparable(right, at: rightStart)
            return .compare(left, op, right)
        }
        return try testExpression(left, at: start, cursor: c)
    }

    static func parseParen(_ c: inout Cursor) throws(DSLError) -> FilterExpression {
        let open = c.pos
        c.pos += 1
        c.skipWhitespace()
        let inner = try parseLogicalOr(&c)
        c.skipWhitespace()
        guard c.peek() == UInt8(ascii: ")") else { throw DSLError("unclosed '(' in filter", at: open) }
        c.pos += 1
        return inner
    }

    static func testExpression(_ operand: FilterOperand, at start: Int, cursor c: Cursor) throws(DSLError)
        -> FilterExpression
    {
        switch operand {
        case .query(let q): return .exists(q)
        case .function(let f):
            guard f.name == "match" || f.name == "search" else {
                throw DSLError("function '\(f.name)' gives a value, not a test; compare it", at: start, length: c.pos - start)
            }
            return .testFunction(f)
        case .literal:
            throw DSLError("a literal cannot be a test; compare it with something", at: start, length: c.pos - start)
        }
    }

    static func checkComparable(_ operand: FilterOperand, at offset: Int) throws(DSLError) {
        switch operand {
        case .query(let q) where !q.isSingular:
            throw DSLError("only singular queries (names and indices) can be compared", at: offset)
        case .function(let f) where f.name == "match" || f.name == "search":
            throw DSLError("function '\(f.name)' is a test and cannot be compared", at: offset)
        default: return
        }
    }

    static func readComparisonOperator(_ c: inout Cursor) -> ComparisonOperator? {
        for op in [ComparisonOperator.eq, .ne, .le, .ge, .lt, .gt] {
            let raw = Array(op.rawValue.utf8)
            if c.pos + raw.count <= c.bytes.count && Array(c.bytes[c.pos..<(c.pos + raw.count)]) == raw {
                c.pos += raw.count
                return op
            }
        }
        return nil
    }

    static let functionArity: [String: Int] = ["length": 1, "count": 1, "match": 2, "search": 2, "value": 1]

    static func parseComparable(_ c: inout Cursor) throws(DSLError) -> FilterOperand {
        guard let ch = c.peek() else { throw DSLError("unexpected end of filter", at: c.pos) }
        switch ch {
        case UInt8(ascii: "$"), UInt8(ascii: "@"):
            return .query(try parseQuery(&c))
        case 0x27, 0x22:
            return .literal(.string(try c.readStringLiteral()))
        case UInt8(ascii: "-"), 0x30...0x39:
            return .literal(try c.readNumber())
        default:
            guard Cursor.isNameFirst(ch) else {
                throw DSLError("unexpected \(c.describeHere()) in filter", at: c.pos)
            }
            let start = c.pos
            while let n = c.peek(), Cursor.isNameChar(n) { c.pos += 1 }
            let word = c.text(start..<c.pos)
            switch word {
            case "true": return .literal(.bool(true))
            case "false": return .literal(.bool(false))
            case "null": return .literal(.null)
            default: break
            }
            guard c.peek() == UInt8(ascii: "(") else {
                throw DSLError("unknown name '\(word)' in filter (a member of the current node is @.\(word))", at: start, length: word.utf8.count)
            }
            guard let arity = functionArity[word] else {
                throw DSLError("unknown JSONPath function '\(word)' (known: count, length, match, search, value)", at: start, length: word.utf8.count)
            }
            c.pos += 1
            var args: [FilterOperand] = []
            c.skipWhitespace()
            if c.peek() != UInt8(ascii: ")") {
                while true {
                    c.skipWhitespace()
                    args.append(try parseComparable(&c))
                    c.skipWhitespace()
                    if c.peek() == UInt8(ascii: ",") {
                        c.pos += 1
                        continue
                    }
                    break
                }
            }
            guard c.peek() == UInt8(ascii: ")") else { throw DSLError("expected ')' after arguments of '\(word)'", at: c.pos) }
            c.pos += 1
            guard args.count == arity else {
                throw DSLError("'\(word)' takes \(arity) argument\(arity == 1 ? "" : "s"), found \(args.count)", at: start, length: c.pos - start)
            }
            return .function(FilterFunction(name: word, arguments: args))
        }
    }
}
