/// An error in expression or JSONPath text, located by the UTF-8 byte range of the offending
/// token inside that text.
public struct DSLError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What is wrong.
    public var message: String
    /// Byte offset of the offending token in the expression text.
    public var offset: Int
    /// Byte length of the offending token (at least 1 where there is a token).
    public var length: Int

    /// An error at `offset`.
    public init(_ message: String, at offset: Int, length: Int = 1) {
        self.message = message
        self.offset = offset
        self.length = length
    }

    public var description: String { "\(offset): \(message)" }
}

/// A cursor over the UTF-8 bytes of an expression, shared by the JSONPath and expression parsers.
struct Cursor {
    let bytes: [UInt8]
    var pos: Int = 0

    init(_ text: String) { bytes = Array(text.utf8) }

    var atEnd: Bool { pos >= bytes.count }

    func peek(_ ahead: Int = 0) -> UInt8? {
        let i = pos + ahead
        return i < bytes.count ? bytes[i] : nil
    }

    func peekIs(_ s: StaticString) -> Bool {
        let n = s.utf8CodeUnitCount
        guard pos + n <= bytes.count else { return false }
        for i in 0..<n where bytes[pos + i] != s.utf8Start[i] { return false }
        return true
    }

    mutating func skipWhitespace() {
        while let c = peek(), c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D { pos += 1 }
    }

    func text(_ range: Range<Int>) -> String {
        String(decoding: bytes[range], as: UTF8.self)
    }

    /// A description of the token at the cursor, for messages.
    func describeHere() -> String {
        guard let c = peek() else { return "end of expression" }
        if c >= 0x21 && c < 0x7F { return "'\(Character(Unicode.Scalar(c)))'" }
        if c >= 0x80 {
            var end = pos + 1
            while end < bytes.count, bytes[end] & 0xC0 == 0x80 { end += 1 }
            return "'\(text(pos..<end))'"
        }
        return "character 0x" + String(c, radix: 16)
    }

    static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
    static func isNameFirst(_ c: UInt8) -> Bool {
        (c >= 0x61 && c <= 0x7A) || (c >= 0x41 && c <= 0x5A) || c == 0x5F || c >= 0x80
    }
    static func isNameChar(_ c: UInt8) -> Bool { isNameFirst(c) || isDigit(c) }

    /// Reads a string literal in single or double quotes (JSONPath's escapes plus `\'`).
    mutating func readStringLiteral() throws(DSLError) -> String {
        let start = pos
        guard let quote = peek(), quote == 0x27 || quote == 0x22 else {
            throw DSLError("expected a string in quotes", at: pos)
        }
        pos += 1
        var out: [UInt8] = []
        while true {
            guard let c = peek() else { throw DSLError("unterminated string", at: start, length: pos - start) }
            if c == quote {
                pos += 1
                return String(decoding: out, as: UTF8.self)
            }
            if c == 0x5C {
                guard let e = peek(1) else { throw DSLError("unterminated string", at: start, length: pos - start) }
                if let simple = e == 0x27 ? e : StringEscapes.byte(for: e) {
                    out.append(simple)
                    pos += 2
                    continue
                }
                switch e {
                case UInt8(ascii: "u"):
                    let escStart = pos
                    pos += 2
                    var scalar = try readHex4(escStart)
                    if scalar >= 0xD800 && scalar <= 0xDBFF {
                        guard peek() == 0x5C, peek(1) == UInt8(ascii: "u") else {
                            throw DSLError("lone surrogate in \\u escape", at: escStart, length: 6)
                        }
                        pos += 2
                        let low = try readHex4(escStart)
                        guard low >= 0xDC00 && low <= 0xDFFF else {
                            throw DSLError("invalid surrogate pair in \\u escape", at: escStart, length: 12)
                        }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if scalar >= 0xDC00 && scalar <= 0xDFFF {
                        throw DSLError("lone surrogate in \\u escape", at: escStart, length: 6)
                    }
                    if let u = Unicode.Scalar(scalar), let enc = UTF8.encode(u) { out.append(contentsOf: enc) }
                    continue
                default:
                    throw DSLError("invalid escape '\\\(Character(Unicode.Scalar(e)))' in a string", at: pos, length: 2)
                }
            }
            if c < 0x20 { throw DSLError("control character in a string", at: pos) }
            out.append(c)
            pos += 1
        }
    }

    private mutating func readHex4(_ escStart: Int) throws(DSLError) -> UInt32 {
        var v: UInt32 = 0
        for _ in 0..<4 {
            guard let c = peek() else { throw DSLError("truncated \\u escape", at: escStart) }
            let d: UInt32
            switch c {
            case 0x30...0x39: d = UInt32(c - 0x30)
            case 0x61...0x66: d = UInt32(c - 0x61 + 10)
            case 0x41...0x46: d = UInt32(c - 0x41 + 10)
            default: throw DSLError("invalid hex digit in \\u escape", at: pos)
            }
            v = v << 4 | d
            pos += 1
        }
        return v
    }

    /// Reads a JSON-style number (optional minus, no leading zeros, fraction, exponent).
    mutating func readNumber() throws(DSLError) -> JSON {
        let start = pos
        if peek() == UInt8(ascii: "-") { pos += 1 }
        guard let first = peek(), Cursor.isDigit(first) else { throw DSLError("expected a number", at: start) }
        if first == 0x30, let next = peek(1), Cursor.isDigit(next) {
            throw DSLError("leading zeros are not allowed in numbers", at: start)
        }
        while let c = peek(), Cursor.isDigit(c) { pos += 1 }
        if peek() == UInt8(ascii: "."), let next = peek(1), Cursor.isDigit(next) {
            pos += 1
            while let c = peek(), Cursor.isDigit(c) { pos += 1 }
        }
        if let e = peek(), e == UInt8(ascii: "e") || e == UInt8(ascii: "E") {
            var p = pos + 1
            if p < bytes.count, bytes[p] == UInt8(ascii: "+") || bytes[p] == UInt8(ascii: "-") { p += 1 }
            if p < bytes.count, Cursor.isDigit(bytes[p]) {
                pos = p
                while let c = peek(), Cursor.isDigit(c) { pos += 1 }
            }
        }
        do {
            return try JSONParser.parse(bytes[start..<pos])
        } catch {
            throw DSLError("invalid number", at: start, length: pos - start)
        }
    }
}
