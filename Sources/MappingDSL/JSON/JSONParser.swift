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
        var parser = JSONByteParser(buffer: buffer, maxDepth: maxDepth)
        parser.skipWhitespace()
        let value = try parser.parseValue(depth: 0)
        parser.skipWhitespace()
        if parser.pos < buffer.count {
            throw parser.error("unexpected data after the JSON value")
        }
        return value
    }
}

let exactPowersOfTen: [Double] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
]

/// The parser's state over one buffer.
struct JSONByteParser {
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
