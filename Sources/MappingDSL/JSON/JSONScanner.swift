/// Finds values in JSON bytes without building them: the elements of an array, the member of an
/// object. Lets a large response be parsed a few records at a time.
public enum JSONScanner {
    /// A scan that met something that is not JSON.
    public struct Failure: Error, Sendable {
        public var offset: Int
    }

    static func skipWhitespace(_ b: UnsafeBufferPointer<UInt8>, _ i: inout Int) {
        while i < b.count, b[i] == 0x20 || b[i] == 0x0A || b[i] == 0x0D || b[i] == 0x09 { i += 1 }
    }

    /// The end (exclusive) of the value that starts at `start`.
    static func skipValue(_ b: UnsafeBufferPointer<UInt8>, _ start: Int) throws(Failure) -> Int {
        var i = start
        guard i < b.count else { throw Failure(offset: i) }
        switch b[i] {
        case UInt8(ascii: "\""):
            i += 1
            while i < b.count {
                let c = b[i]
                if c == UInt8(ascii: "\\") {
                    i += 2
                    continue
                }
                i += 1
                if c == UInt8(ascii: "\"") { return i }
            }
            throw Failure(offset: start)
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            var depth = 0
            while i < b.count {
                let c = b[i]
                if c == UInt8(ascii: "\"") {
                    i = try skipValue(b, i)
                    continue
                }
                if c == UInt8(ascii: "{") || c == UInt8(ascii: "[") { depth += 1 }
                if c == UInt8(ascii: "}") || c == UInt8(ascii: "]") {
                    depth -= 1
                    if depth == 0 { return i + 1 }
                }
                i += 1
            }
            throw Failure(offset: start)
        default:
            while i < b.count {
                let c = b[i]
                if c == UInt8(ascii: ",") || c == UInt8(ascii: "]") || c == UInt8(ascii: "}") || c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 { break }
                i += 1
            }
            if i == start { throw Failure(offset: start) }
            return i
        }
    }

    /// The byte ranges of the elements of the array at `range` (nil when the value there is not
    /// an array).
    public static func arrayElements(_ bytes: [UInt8], in range: Range<Int>? = nil) throws(Failure) -> [Range<Int>]? {
        let result = bytes.withUnsafeBufferPointer { b in
            Result { () throws(Failure) -> [Range<Int>]? in
                var i = range?.lowerBound ?? 0
                let end = range?.upperBound ?? b.count
                skipWhitespace(b, &i)
                guard i < end, b[i] == UInt8(ascii: "[") else { return nil }
                i += 1
                var out: [Range<Int>] = []
                skipWhitespace(b, &i)
                if i < end, b[i] == UInt8(ascii: "]") { return out }
                while i < end {
                    skipWhitespace(b, &i)
                    let valueEnd = try skipValue(b, i)
                    out.append(i..<valueEnd)
                    i = valueEnd
                    skipWhitespace(b, &i)
                    guard i < end else { throw Failure(offset: i) }
                    if b[i] == UInt8(ascii: "]") { return out }
                    guard b[i] == UInt8(ascii: ",") else { throw Failure(offset: i) }
                    i += 1
                }
                throw Failure(offset: i)
            }
        }
        return try result.get()
    }

    /// The byte range of the value at a path of member names (nil when a member is missing or a
    /// value on the way is not an object).
    public static func value(_ bytes: [UInt8], at path: [String]) throws(Failure) -> Range<Int>? {
        let result = bytes.withUnsafeBufferPointer { b in
            Result { () throws(Failure) -> Range<Int>? in
                var i = 0
                skipWhitespace(b, &i)
                var current = i..<(try skipValue(b, i))
                for name in path {
                    guard b[current.lowerBound] == UInt8(ascii: "{") else { return nil }
                    var j = current.lowerBound + 1
                    var found: Range<Int>?
                    while j < current.upperBound {
                        skipWhitespace(b, &j)
                        if b[j] == UInt8(ascii: "}") { break }
                        let keyEnd = try skipValue(b, j)
                        let key = try? JSONParser.parse(UnsafeBufferPointer(rebasing: b[j..<keyEnd]))
                        j = keyEnd
                        skipWhitespace(b, &j)
                        guard j < b.count, b[j] == UInt8(ascii: ":") else { throw Failure(offset: j) }
                        j += 1
                        skipWhitespace(b, &j)
                        let valueEnd = try skipValue(b, j)
                        if key == .string(name) { found = j..<valueEnd }
                        j = valueEnd
                        skipWhitespace(b, &j)
                        if j < b.count, b[j] == UInt8(ascii: ",") { j += 1 }
                    }
                    guard let f = found else { return nil }
                    current = f
                }
                return current
            }
        }
        return try result.get()
    }
}
