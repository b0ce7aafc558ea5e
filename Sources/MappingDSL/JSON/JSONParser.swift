#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A JSON syntax error, located by byte offset, line and column (both 1-based; the column counts
/// bytes).
public struct JSONParseError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What is wrong.
    public var message: String
    /// The byte offset of the problem in the input.
    public var offset: Int
    /// 1-based line of the problem.
    public var line: Int
    /// 1-based column of the problem.
    public var column: Int

    public var description: String { "\(line):\(column): \(message)" }
}

/// An RFC 8259 parser working directly on UTF-8 bytes.
///
/// Strict: no trailing commas, no comments, no leading zeros, no lone surrogates, no invalid
/// UTF-8, no control characters in strings, nothing but white space after the value. Nesting
/// deeper than `maxDepth` is an error, not a stack overflow.
public struct JSONParser {
    /// The default limit of nested arrays and objects.
    public static let defaultMaxDepth = 512

    /// Parses one JSON document from `bytes`.
    public static func parse<Bytes: Sequence>(_ bytes: Bytes, maxDepth: Int = defaultMaxDepth) throws(JSONParseError)
        -> JSON where Bytes.Element == UInt8
    {
        let result: Result<JSON, JSONParseError>? = bytes.withContiguousStorageIfAvailable { buffer in
            Result { () throws(JSONParseError) -> JSON in try parse(buffer: buffer, maxDepth: maxDepth) }
        }
        if let result { return try result.get() }
        let array = Array(bytes)
        let fallback = array.withUnsafeBufferPointer { buffer in
            Result { () throws(JSONParseError) -> JSON in try parse(buffer: buffer, maxDepth: maxDepth) }
        }
        return try fallback.get()
    }

    /// Parses one JSON document from a string.
    public static func parse(_ text: String, maxDepth: Int = defaultMaxDepth) throws(JSONParseError) -> JSON {
        var text = text
        let result = text.withUTF8 { buffer in
            Result { () throws(JSONParseError) -> JSON in try parse(buffer: buffer, maxDepth: maxDepth) }
        }
        return try result.get()
    }

    /// Parses one JSON document from a buffer of UTF-8 bytes.
    public static func parse(buffer: UnsafeBufferPointer<UInt8>, maxDepth: Int = defaultMaxDepth) throws(JSONParseError)
        -> JSON
    {
        var parser = Impl(buffer: buffer, maxDepth: maxDepth)
        parser.skipWhitespace()
        let value = try parser.parseValue(depth: 0)
        parser.skipWhitespace()
        if parser.pos < buffer.count {
            throw parser.error("unexpected data after the JSON value")
        }
        return value
    }
}

private let pow10: [Double] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
]

private struct Impl {
    let buffer: UnsafeBufferPointer<UInt8>
    let maxDepth: Int
    var pos = 0
    var scratch: [UInt8] = []

    init(buffer: UnsafeBufferPointer<UInt8>, maxDepth: Int) {
        self.buffer = buffer
        self.maxDepth = maxDepth
    }

    func error(_ message: String, at offset: Int? = nil) -> JSONParseError {
        let at = min(offset ?? pos, buffer.count)
        var line = 1
        var lineStart = 0
        var i = 0
        while i < at {
            if buffer[i] == 0x0A {
                line += 1
                lineStart = i + 1
            }
            i += 1
        }
        return JSONParseError(message: message, offset: at, line: line, column: at - lineStart + 1)
    }

    @inline(__always)
    mutating func skipWhitespace() {
        while pos < buffer.count {
            let c = buffer[pos]
            if c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 {
                pos += 1
            } else {
                return
            }
        }
    }

    func describeByte(at offset: Int) -> String {
        guard offset < buffer.count else { return "end of input" }
        let c = buffer[offset]
        if c >= 0x21 && c < 0x7F { return "'\(Character(Unicode.Scalar(c)))'" }
        return "byte 0x" + String(c, radix: 16, uppercase: true)
    }

    mutating func parseValue(depth: Int) throws(JSONParseError) -> JSON {
        guard pos < buffer.count else { throw error("unexpected end of input, expected a value") }
        switch buffer[pos] {
        case UInt8(ascii: "{"): return try parseObject(depth: depth + 1)
        case UInt8(ascii: "["): return try parseArray(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"):
            try expectLiteral("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try expectLiteral("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try expectLiteral("null")
            return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return try parseNumber()
        default:
            throw error("unexpected \(describeByte(at: pos)), expected a value")
        }
    }

    mutating func expectLiteral(_ literal: StaticString) throws(JSONParseError) {
        let count = literal.utf8CodeUnitCount
        let start = literal.utf8Start
        for i in 0..<count {
            guard pos + i < buffer.count, buffer[pos + i] == start[i] else {
                throw error("invalid literal, expected '\(literal)'", at: pos + i)
            }
        }
        pos += count
    }

    mutating func parseObject(depth: Int) throws(JSONParseError) -> JSON {
        if depth > maxDepth { throw error("nesting deeper than \(maxDepth) levels") }
        pos += 1
        var object = JSONObject()
        skipWhitespace()
        if pos < buffer.count, buffer[pos] == UInt8(ascii: "}") {
            pos += 1
            return .object(object)
        }
        while true {
            guard pos < buffer.count else { throw error("unexpected end of input in an object") }
            guard buffer[pos] == UInt8(ascii: "\"") else {
                throw error("unexpected \(describeByte(at: pos)), expected a member name in quotes")
            }
            let key = try parseString()
            skipWhitespace()
            guard pos < buffer.count, buffer[pos] == UInt8(ascii: ":") else {
                throw error("unexpected \(describeByte(at: pos)), expected ':' after a member name")
            }
            pos += 1
            skipWhitespace()
            let value = try parseValue(depth: depth)
            // A repeated name keeps the last value, in the first one's place.
            object[key] = value
            skipWhitespace()
            guard pos < buffer.count else { throw error("unexpected end of input in an object") }
            let c = buffer[pos]
            pos += 1
            if c == UInt8(ascii: ",") {
                skipWhitespace()
                continue
            }
            if c == UInt8(ascii: "}") { return .object(object) }
            throw error("unexpected \(describeByte(at: pos - 1)), expected ',' or '}'", at: pos - 1)
        }
    }

    mutating func parseArray(depth: Int) throws(JSONParseError) -> JSON {
        if depth > maxDepth { throw error("nesting deeper than \(maxDepth) levels") }
        pos += 1
        var array: [JSON] = []
        skipWhitespace()
        if pos < buffer.count, buffer[pos] == UInt8(ascii: "]") {
            pos += 1
            return .array(array)
        }
        while true {
            array.append(try parseValue(depth: depth))
            skipWhitespace()
            guard pos < buffer.count else { throw error("unexpected end of input in an array") }
            let c = buffer[pos]
            pos += 1
            if c == UInt8(ascii: ",") {
                skipWhitespace()
                continue
            }
            if c == UInt8(ascii: "]") { return .array(array) }
            throw error("unexpected \(describeByte(at: pos - 1)), expected ',' or ']'", at: pos - 1)
        }
    }

    mutating func parseString() throws(JSONParseError) -> String {
        let quote = pos
        pos += 1
        let start = pos
        var ascii = true
        // Fast path: no escapes.
        while pos < buffer.count {
            let c = buffer[pos]
            if c == UInt8(ascii: "\"") {
                let slice = UnsafeBufferPointer(rebasing: buffer[start..<pos])
                pos += 1
                if ascii { return String(decoding: slice, as: UTF8.self) }
                guard let s = String(validating: slice, as: UTF8.self) else {
                    throw error("invalid UTF-8 in a string", at: firstInvalidUTF8(from: start, to: pos - 1))
                }
                return s
            }
            if c == UInt8(ascii: "\\") { break }
            if c < 0x20 { throw error("unescaped control character in a string") }
            if c >= 0x80 { ascii = false }
            pos += 1
        }
        guard pos < buffer.count else { throw error("unterminated string", at: quote) }
        // Slow path: escapes.
        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[start..<pos]))
        while pos < buffer.count {
            let c = buffer[pos]
            if c == UInt8(ascii: "\"") {
                pos += 1
                guard let s = String(validating: scratch, as: UTF8.self) else {
                    throw error("invalid UTF-8 in a string", at: firstInvalidUTF8(from: start, to: pos - 1))
                }
                return s
            }
            if c < 0x20 { throw error("unescaped control character in a string") }
            if c != UInt8(ascii: "\\") {
                scratch.append(c)
                pos += 1
                continue
            }
            pos += 1
            guard pos < buffer.count else { break }
            let e = buffer[pos]
            pos += 1
            switch e {
            case UInt8(ascii: "\""): scratch.append(0x22)
            case UInt8(ascii: "\\"): scratch.append(0x5C)
            case UInt8(ascii: "/"): scratch.append(0x2F)
            case UInt8(ascii: "b"): scratch.append(0x08)
            case UInt8(ascii: "f"): scratch.append(0x0C)
            case UInt8(ascii: "n"): scratch.append(0x0A)
            case UInt8(ascii: "r"): scratch.append(0x0D)
            case UInt8(ascii: "t"): scratch.append(0x09)
            case UInt8(ascii: "u"):
                let escapeStart = pos - 2
                var scalar = try parseHex4()
                if scalar >= 0xD800 && scalar <= 0xDBFF {
                    guard pos + 1 < buffer.count, buffer[pos] == UInt8(ascii: "\\"), buffer[pos + 1] == UInt8(ascii: "u")
                    else { throw error("lone high surrogate in a \\u escape", at: escapeStart) }
                    pos += 2
                    let low = try parseHex4()
                    guard low >= 0xDC00 && low <= 0xDFFF else {
                        throw error("high surrogate not followed by a low surrogate", at: escapeStart)
                    }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if scalar >= 0xDC00 && scalar <= 0xDFFF {
                    throw error("lone low surrogate in a \\u escape", at: escapeStart)
                }
                guard let u = Unicode.Scalar(scalar) else { throw error("invalid \\u escape", at: escapeStart) }
                if let encoded = UTF8.encode(u) { scratch.append(contentsOf: encoded) }
            default:
                throw error("invalid escape '\\\(Character(Unicode.Scalar(e)))'", at: pos - 2)
            }
        }
        throw error("unterminated string", at: quote)
    }

    func firstInvalidUTF8(from start: Int, to end: Int) -> Int {
        UTF8Check.firstInvalid(in: UnsafeBufferPointer(rebasing: buffer[start..<end])).map { start + $0 } ?? start
    }

    mutating func parseHex4() throws(JSONParseError) -> UInt32 {
        guard pos + 4 <= buffer.count else { throw error("truncated \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let c = buffer[pos]
            let digit: UInt32
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(c - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(c - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(c - UInt8(ascii: "A") + 10)
            default: throw error("invalid hex digit in a \\u escape")
            }
            value = value << 4 | digit
            pos += 1
        }
        return value
    }

    mutating func parseNumber() throws(JSONParseError) -> JSON {
        let start = pos
        var negative = false
        if buffer[pos] == UInt8(ascii: "-") {
            negative = true
            pos += 1
        }
        guard pos < buffer.count, isDigit(buffer[pos]) else { throw error("a number needs a digit after '-'") }
        var mantissa: UInt64 = 0
        var digits = 0
        var overflow = false
        if buffer[pos] == UInt8(ascii: "0") {
            pos += 1
            if pos < buffer.count, isDigit(buffer[pos]) { throw error("leading zeros are not allowed in numbers", at: start) }
        } else {
            while pos < buffer.count, isDigit(buffer[pos]) {
                let d = UInt64(buffer[pos] - UInt8(ascii: "0"))
                if digits < 19 {
                    mantissa = mantissa * 10 + d
                } else {
                    overflow = true
                }
                digits += 1
                pos += 1
            }
        }
        var isInteger = true
        var fractionDigits = 0
        if pos < buffer.count, buffer[pos] == UInt8(ascii: ".") {
            isInteger = false
            pos += 1
            guard pos < buffer.count, isDigit(buffer[pos]) else { throw error("a number needs a digit after '.'") }
            while pos < buffer.count, isDigit(buffer[pos]) {
                if digits < 19 {
                    mantissa = mantissa * 10 + UInt64(buffer[pos] - UInt8(ascii: "0"))
                    fractionDigits += 1
                    if mantissa != 0 { digits += 1 }
                } else {
                    overflow = true
                }
                pos += 1
            }
        }
        var exponent = 0
        if pos < buffer.count, buffer[pos] == UInt8(ascii: "e") || buffer[pos] == UInt8(ascii: "E") {
            isInteger = false
            pos += 1
            var expNegative = false
            if pos < buffer.count, buffer[pos] == UInt8(ascii: "+") || buffer[pos] == UInt8(ascii: "-") {
                expNegative = buffer[pos] == UInt8(ascii: "-")
                pos += 1
            }
            guard pos < buffer.count, isDigit(buffer[pos]) else { throw error("a number needs a digit in its exponent") }
            while pos < buffer.count, isDigit(buffer[pos]) {
                if exponent < 100_000 { exponent = exponent * 10 + Int(buffer[pos] - UInt8(ascii: "0")) }
                pos += 1
            }
            if expNegative { exponent = -exponent }
        }
        if isInteger && !overflow {
            if negative {
                if mantissa <= UInt64(Int64.max) + 1 { return .int(mantissa == UInt64(Int64.max) + 1 ? Int64.min : -Int64(mantissa)) }
            } else if mantissa <= UInt64(Int64.max) {
                return .int(Int64(mantissa))
            }
        }
        // Exact fast path (Clinger): a mantissa below 2^53 scaled by an exactly representable power of ten.
        let scale = exponent - fractionDigits
        if !overflow && mantissa < (1 << 53) && scale >= -22 && scale <= 22 {
            var d = Double(mantissa)
            d = scale < 0 ? d / pow10[-scale] : d * pow10[scale]
            return .double(negative ? -d : d)
        }
        return .double(slowDouble(start: start, end: pos))
    }

    func slowDouble(start: Int, end: Int) -> Double {
        let length = end - start
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: length + 1) { tmp in
            for i in 0..<length { tmp[i] = CChar(bitPattern: buffer[start + i]) }
            tmp[length] = 0
            guard let base = tmp.baseAddress else { return .nan }
            return strtod(base, nil)
        }
    }

    @inline(__always)
    func isDigit(_ c: UInt8) -> Bool { c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") }
}

/// Finding where UTF-8 goes wrong, for error messages.
public enum UTF8Check {
    /// The offset of the first byte that does not start a valid UTF-8 sequence, or `nil`.
    public static func firstInvalid<C: Collection>(in bytes: C) -> Int? where C.Element == UInt8, C.Index == Int {
        var i = bytes.startIndex
        while i < bytes.endIndex {
            let c = bytes[i]
            let length: Int
            if c < 0x80 {
                length = 1
            } else if c >= 0xC2 && c <= 0xDF {
                length = 2
            } else if c >= 0xE0 && c <= 0xEF {
                length = 3
            } else if c >= 0xF0 && c <= 0xF4 {
                length = 4
            } else {
                return i - bytes.startIndex
            }
            if i + length > bytes.endIndex || String(validating: bytes[i..<(i + length)], as: UTF8.self) == nil {
                return i - bytes.startIndex
            }
            i += length
        }
        return nil
    }
}
