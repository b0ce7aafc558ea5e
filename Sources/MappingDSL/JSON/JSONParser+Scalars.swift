#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Strings (escapes, surrogates, UTF-8 checks) and numbers (Int64 exact, doubles round-trip).
extension JSONByteParser {
    mutating func parseString() throws(JSONParseError) -> String {
        let quote = pos
        pos += 1
        let start = pos
        var ascii = true
        // Fast path: no escapes. Eight bytes at a time while they are plain ASCII (no quote,
        // backslash or control character).
        let raw = UnsafeRawPointer(buffer.baseAddress)
        while pos < buffer.count {
            if pos + 8 <= buffer.count, let raw {
                let w = raw.loadUnaligned(fromByteOffset: pos, as: UInt64.self)
                if !JSONWriter.mayNeedEscape(w) && w & 0x8080_8080_8080_8080 == 0 {
                    pos += 8
                    continue
                }
            }
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
            if let simple = StringEscapes.byte(for: e) {
                scratch.append(simple)
                continue
            }
            switch e {
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
        // An integer car cannot keep exactly (an id, say) is refused, not rounded: two ids would
        // become one.
        if isInteger { throw error("an integer beyond 64 bits: \(numberText(start))", at: start) }
        // Exact fast path (Clinger): a mantissa below 2^53 scaled by an exactly representable power of ten.
        let scale = exponent - fractionDigits
        if !overflow && mantissa < (1 << 53) && scale >= -22 && scale <= 22 {
            var d = Double(mantissa)
            d = scale < 0 ? d / exactPowersOfTen[-scale] : d * exactPowersOfTen[scale]
            return .double(negative ? -d : d)
        }
        let d = slowDouble(start: start, end: pos)
        guard d.isFinite else { throw error("a number out of range: \(numberText(start))", at: start) }
        return .double(d)
    }

    /// The text of the number that starts at `start` (its first 40 characters).
    func numberText(_ start: Int) -> String {
        let text = String(decoding: UnsafeBufferPointer(rebasing: buffer[start..<min(pos, start + 40)]), as: UTF8.self)
        return pos - start > 40 ? text + "…" : text
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

}
