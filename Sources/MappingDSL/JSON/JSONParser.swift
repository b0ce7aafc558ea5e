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

    /// Parses one of many documents with buffers kept from the previous ones (the records of
    /// a list, parsed one by one): their objects are built without growing arrays.
    public static func parse<Bytes: Sequence>(_ bytes: Bytes, reusing scratch: inout JSONParseScratch, maxDepth: Int = defaultMaxDepth)
        throws(JSONParseError) -> JSON where Bytes.Element == UInt8
    {
        let result: Result<JSON, JSONParseError>? = bytes.withContiguousStorageIfAvailable { buffer in
            Result { () throws(JSONParseError) -> JSON in try parse(buffer: buffer, maxDepth: maxDepth, scratch: &scratch) }
        }
        if let result { return try result.get() }
        return try parse(Array(bytes), reusing: &scratch, maxDepth: maxDepth)
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
        var scratch = JSONParseScratch()
        return try parse(buffer: buffer, maxDepth: maxDepth, scratch: &scratch)
    }

    static func parse(buffer: UnsafeBufferPointer<UInt8>, maxDepth: Int, scratch: inout JSONParseScratch) throws(JSONParseError) -> JSON {
        var parser = JSONByteParser(buffer: buffer, maxDepth: maxDepth)
        swap(&parser.reuse, &scratch)
        defer { swap(&parser.reuse, &scratch) }
        parser.skipWhitespace()
        let value = try parser.parseValue(depth: 0)
        parser.skipWhitespace()
        if parser.pos < buffer.count {
            throw parser.error("unexpected data after the JSON value")
        }
        return value
    }
}

/// Buffers the parser gathers members and elements in, per nesting level: kept by a caller
/// that parses many documents (`JSONParser.parse(_:reusing:)`).
public struct JSONParseScratch: Sendable {
    var members: [[JSONObject.Member]] = []
    var values: [[JSON]] = []

    public init() {}
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
    /// Members and elements gathered per nesting level, then copied once into arrays of the
    /// exact size: no growth of each object's arrays as its members come.
    var reuse = JSONParseScratch()

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
        skipWhitespace()
        if pos < buffer.count, buffer[pos] == UInt8(ascii: "}") {
            pos += 1
            return .object(JSONObject())
        }
        while reuse.members.count <= depth { reuse.members.append([]) }
        reuse.members[depth].removeAll(keepingCapacity: true)
        var large: JSONObject?
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
            // A repeated name keeps the last value, in the first one's place. Past a few
            // members, an object with an index finds repeats (a linear search would be quadratic).
            if large != nil {
                large?[key] = value
            } else if let i = reuse.members[depth].firstIndex(where: { $0.key == key }) {
                reuse.members[depth][i].value = value
            } else if reuse.members[depth].count < 12 {
                reuse.members[depth].append(JSONObject.Member(key, value))
            } else {
                var object = JSONObject(distinctMembers: copy(reuse.members[depth]))
                object.append(key, value)
                large = object
            }
            skipWhitespace()
            guard pos < buffer.count else { throw error("unexpected end of input in an object") }
            let c = buffer[pos]
            pos += 1
            if c == UInt8(ascii: ",") {
                skipWhitespace()
                continue
            }
            if c == UInt8(ascii: "}") {
                return .object(large ?? JSONObject(distinctMembers: copy(reuse.members[depth])))
            }
            throw error("unexpected \(describeByte(at: pos - 1)), expected ',' or '}'", at: pos - 1)
        }
    }

    mutating func parseArray(depth: Int) throws(JSONParseError) -> JSON {
        if depth > maxDepth { throw error("nesting deeper than \(maxDepth) levels") }
        pos += 1
        skipWhitespace()
        if pos < buffer.count, buffer[pos] == UInt8(ascii: "]") {
            pos += 1
            return .array([])
        }
        while reuse.values.count <= depth { reuse.values.append([]) }
        reuse.values[depth].removeAll(keepingCapacity: true)
        while true {
            let element = try parseValue(depth: depth)
            reuse.values[depth].append(element)
            skipWhitespace()
            guard pos < buffer.count else { throw error("unexpected end of input in an array") }
            let c = buffer[pos]
            pos += 1
            if c == UInt8(ascii: ",") {
                skipWhitespace()
                continue
            }
            if c == UInt8(ascii: "]") { return .array(copy(reuse.values[depth])) }
            throw error("unexpected \(describeByte(at: pos - 1)), expected ',' or ']'", at: pos - 1)
        }
    }

    /// A copy in storage of its own, of the exact size (`Array(array)` would share the
    /// scratch's storage, and the scratch's next use would then allocate anew).
    func copy<Element>(_ array: [Element]) -> [Element] {
        array.withUnsafeBufferPointer { Array($0) }
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
