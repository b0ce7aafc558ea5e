import Testing

@testable import MappingDSL

@Suite("JSON parser (RFC 8259)")
struct JSONParserTests {
    @Test(arguments: [
        ("null", JSON.null),
        ("true", .bool(true)),
        ("false", .bool(false)),
        ("0", .int(0)),
        ("-0", .int(0)),
        ("42", .int(42)),
        ("-17", .int(-17)),
        ("9223372036854775807", .int(Int64.max)),
        ("-9223372036854775808", .int(Int64.min)),
        ("9223372036854775808.0", .double(9223372036854775808.0)),
        ("1e308", .double(1e308)),
        ("1.5", .double(1.5)),
        ("-0.0", .double(-0.0)),
        ("1e3", .double(1000)),
        ("1E-2", .double(0.01)),
        ("2.5e+2", .double(250)),
        ("0.1", .double(0.1)),
        ("123456789012345678901234567890.0", .double(1.2345678901234568e29)),
        ("1.7976931348623157e308", .double(1.7976931348623157e308)),
        ("5e-324", .double(Double.leastNonzeroMagnitude)),
        ("\"\"", .string("")),
        ("\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\"", .string("a\"b\\c/d\u{8}\u{c}\n\r\t")),
        ("\"\\u0041\\u00e9\\u4e2d\"", .string("Aé中")),
        ("\"\\ud83d\\ude00\"", .string("😀")),
        ("\"é😀\"", .string("é😀")),
        ("[]", .array([])),
        ("{}", .object(JSONObject())),
        (" [1, \"a\", null] ", .array([.int(1), .string("a"), .null])),
        ("{\"a\":{\"b\":[true]}}", ["a": ["b": [true]]]),
        ("\t\r\n {\"x\" : 1 }\n", ["x": 1]),
    ] as [(String, JSON)])
    func valid(text: String, expected: JSON) throws {
        let value = try JSONParser.parse(text)
        #expect(value == expected)
        if case .double(let d) = expected, d == 0 {
            #expect(value.doubleValue?.sign == d.sign)
        }
    }

    @Test(arguments: [
        ("", "1:1: unexpected end of input, expected a value"),
        ("[1,]", "1:4: unexpected ']', expected a value"),
        ("{\"a\":1,}", "1:8: unexpected '}', expected a member name in quotes"),
        ("{a:1}", "1:2: unexpected 'a', expected a member name in quotes"),
        ("01", "1:1: leading zeros are not allowed in numbers"),
        ("[9223372036854775808]", "1:2: an integer beyond 64 bits: 9223372036854775808"),
        ("-9223372036854775809", "1:1: an integer beyond 64 bits: -9223372036854775809"),
        ("[1e400]", "1:2: a number out of range: 1e400"),
        ("-1e400", "1:1: a number out of range: -1e400"),
        ("-", "1:2: a number needs a digit after '-'"),
        ("1.", "1:3: a number needs a digit after '.'"),
        ("1e", "1:3: a number needs a digit in its exponent"),
        (".5", "1:1: unexpected '.', expected a value"),
        ("+1", "1:1: unexpected '+', expected a value"),
        ("NaN", "1:1: unexpected 'N', expected a value"),
        ("tru", "1:4: invalid literal, expected 'true'"),
        ("nul", "1:4: invalid literal, expected 'null'"),
        ("\"abc", "1:1: unterminated string"),
        ("\"a\nb\"", "1:3: unescaped control character in a string"),
        ("\"\\x\"", "1:2: invalid escape '\\x'"),
        ("\"\\u12\"", "1:4: truncated \\u escape"),
        ("\"\\u12x4\"", "1:6: invalid hex digit in a \\u escape"),
        ("\"\\ud800\"", "1:2: lone high surrogate in a \\u escape"),
        ("\"\\udc00\"", "1:2: lone low surrogate in a \\u escape"),
        ("\"\\ud800\\u0041\"", "1:2: high surrogate not followed by a low surrogate"),
        ("[1 2]", "1:4: unexpected '2', expected ',' or ']'"),
        ("{\"a\" 1}", "1:6: unexpected '1', expected ':' after a member name"),
        ("[1]x", "1:4: unexpected data after the JSON value"),
        ("// c\n1", "1:1: unexpected '/', expected a value"),
        ("[\n1,\n2,\n]", "4:1: unexpected ']', expected a value"),
        ("'a'", "1:1: unexpected ''', expected a value"),
    ])
    func invalid(text: String, message: String) {
        #expect(throws: JSONParseError.self) { try JSONParser.parse(text) }
        do {
            _ = try JSONParser.parse(text)
        } catch {
            #expect(error.description == message)
        }
    }

    @Test func invalidUTF8IsRejected() {
        let cases: [[UInt8]] = [
            [0x22, 0xFF, 0x22],
            [0x22, 0xC3, 0x22],  // truncated 2-byte sequence
            [0x22, 0xE0, 0x80, 0x80, 0x22],  // overlong
            [0x22, 0xED, 0xA0, 0x80, 0x22],  // encoded surrogate
            [0x22, 0x5C, 0x6E, 0xF8, 0x22],  // invalid byte after an escape
        ]
        for bytes in cases {
            #expect(throws: JSONParseError.self) { try JSONParser.parse(bytes) }
        }
        do {
            _ = try JSONParser.parse([0x22, 0x61, 0xFF, 0x22] as [UInt8])
        } catch {
            #expect(error.message == "invalid UTF-8 in a string")
            #expect(error.column == 3)
        }
    }

    @Test func nestingLimitGivesAnErrorNotACrash() throws {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: JSONParseError.self) { try JSONParser.parse(deep) }
        do {
            _ = try JSONParser.parse(deep)
        } catch {
            #expect(error.message == "nesting deeper than 512 levels")
        }
        let ok = String(repeating: "[", count: 512) + String(repeating: "]", count: 512)
        _ = try JSONParser.parse(ok)
        let objects = String(repeating: "{\"a\":", count: 600) + "1" + String(repeating: "}", count: 600)
        #expect(throws: JSONParseError.self) { try JSONParser.parse(objects) }
    }

    @Test func duplicateNamesKeepTheLastValueInTheFirstPlace() throws {
        let value = try JSONParser.parse(#"{"a":1,"b":2,"a":3}"#)
        #expect(value.objectValue?.keys == ["a", "b"])
        #expect(value["a"] == .int(3))
    }

    /// Past 12 members the parser finds repeats with an index; before, by a scan.
    @Test func duplicateNamesInALargeObject() throws {
        let members = (0..<20).map { "\"k\($0)\":\($0)" } + ["\"k3\":\"three\"", "\"k15\":\"fifteen\"", "\"z\":null"]
        let value = try JSONParser.parse("{" + members.joined(separator: ",") + "}")
        #expect(value.objectValue?.keys == (0..<20).map { "k\($0)" } + ["z"])
        #expect(value["k3"] == "three")
        #expect(value["k15"] == "fifteen")
        #expect(value["k19"] == .int(19))
    }

    /// Many documents parsed with the same scratch: each one whole and its own, nested
    /// objects and arrays included.
    @Test func documentsParsedWithReusedBuffers() throws {
        var scratch = JSONParseScratch()
        let texts = [#"{"a":[1,{"b":2,"c":[3,4]}],"d":"x"}"#, #"[{"a":1},{"a":2,"a":3}]"#, #"{"e":{}}"#, #"{"a":[1,{"b":2,"c":[3,4]}],"d":"y"}"#]
        let parsed = try texts.map { try JSONParser.parse(Array($0.utf8), reusing: &scratch) }
        #expect(parsed == (try texts.map { try JSONParser.parse($0) }))
        #expect(parsed.map { JSONWriter().string($0) } == [texts[0], #"[{"a":1},{"a":3}]"#, texts[2], texts[3]])
    }

    @Test func largeObjectsKeepOrderAndLookups() throws {
        let members = (0..<100).map { "\"k\($0)\":\($0)" }.joined(separator: ",")
        let value = try JSONParser.parse("{" + members + "}")
        #expect(value.objectValue?.keys.first == "k0")
        #expect(value.objectValue?.keys.last == "k99")
        #expect(value["k57"] == .int(57))
        #expect(JSONWriter().string(value) == "{" + members + "}")
    }
}

@Suite("JSON writer")
struct JSONWriterTests {
    @Test func compactOutputKeepsInsertionOrder() {
        let value: JSON = ["b": 1, "a": [true, .null, 2.5, "x\"y\n\u{1}"], "c": ["d": -3]]
        #expect(JSONWriter().string(value) == #"{"b":1,"a":[true,null,2.5,"x\"y\n\u0001"],"c":{"d":-3}}"#)
    }

    @Test func prettyOutput() {
        let value: JSON = ["a": [1, 2], "b": [:], "c": []]
        #expect(JSONWriter(pretty: true).string(value) == "{\n  \"a\": [\n    1,\n    2\n  ],\n  \"b\": {},\n  \"c\": []\n}")
    }

    @Test func sortedKeys() {
        let value: JSON = ["b": 1, "a": 2]
        #expect(JSONWriter(sortedKeys: true).string(value) == #"{"a":2,"b":1}"#)
    }

    @Test(arguments: [0.1, 1.0, -2.5, 1e-7, 1e21, 123456.789, Double.leastNonzeroMagnitude, 1.7976931348623157e308, Double.pi])
    func doublesRoundTrip(value: Double) throws {
        let text = JSONWriter().string(.double(value))
        #expect(try JSONParser.parse(text) == .double(value))
    }

    @Test func nonFiniteDoublesBecomeNull() {
        #expect(JSONWriter().string([.double(.nan), .double(.infinity)]) == "[null,null]")
    }

    @Test func integersAreExact() {
        #expect(JSONWriter().string([.int(Int64.min), .int(Int64.max), .int(0)]) == "[-9223372036854775808,9223372036854775807,0]")
    }
}

/// A small deterministic generator (SplitMix64) for seeded random tests.
struct SeededRandom: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

func randomJSON(_ rng: inout SeededRandom, depth: Int = 0) -> JSON {
    let choice = Int.random(in: 0..<(depth > 4 ? 6 : 8), using: &rng)
    switch choice {
    case 0: return .null
    case 1: return .bool(Bool.random(using: &rng))
    case 2: return .int(Int64.random(in: Int64.min...Int64.max, using: &rng))
    case 3:
        let bits = UInt64.random(in: 0...UInt64.max, using: &rng)
        let d = Double(bitPattern: bits)
        return .double(d.isFinite ? d : Double.random(in: -1e6...1e6, using: &rng))
    case 4, 5:
        let pool: [Unicode.Scalar] = ["a", "Z", "0", " ", "\"", "\\", "/", "\n", "\t", "\u{0}", "\u{1F}", "é", "中", "😀", "\u{FFFF}", "\u{10FFFF}"]
        var s = String.UnicodeScalarView()
        for _ in 0..<Int.random(in: 0..<12, using: &rng) {
            if let scalar = pool.randomElement(using: &rng) { s.append(scalar) }
        }
        return .string(String(s))
    case 6:
        return .array((0..<Int.random(in: 0..<5, using: &rng)).map { _ in randomJSON(&rng, depth: depth + 1) })
    default:
        var o = JSONObject()
        for i in 0..<Int.random(in: 0..<20, using: &rng) { o["k\(i)_\(Int.random(in: 0..<3, using: &rng))"] = randomJSON(&rng, depth: depth + 1) }
        return .object(o)
    }
}

@Suite("JSON round trip")
struct JSONRoundTripTests {
    @Test(arguments: 0..<50)
    func seededRandomValuesRoundTrip(seed: Int) throws {
        var rng = SeededRandom(seed: UInt64(seed) &* 7919 &+ 17)
        for _ in 0..<20 {
            let value = randomJSON(&rng)
            let compact = JSONWriter().bytes(value)
            let parsed = try JSONParser.parse(compact)
            #expect(parsed == value)
            // Serialization is deterministic: the same bytes again.
            #expect(JSONWriter().bytes(parsed) == compact)
            let pretty = JSONWriter(pretty: true).bytes(value)
            #expect(try JSONParser.parse(pretty) == value)
        }
    }
}

@Suite("JSON writer: strings")
struct JSONWriterStringTests {
    /// The escapes RFC 8259 requires, one byte at a time: the reference the writer's
    /// eight-bytes-at-a-time scan must agree with.
    static func escapedOneByOne(_ s: String) -> String {
        var out = "\""
        for b in s.utf8 {
            switch b {
            case 0x22: out += "\\\""
            case 0x5C: out += "\\\\"
            case 0x0A: out += "\\n"
            case 0x0D: out += "\\r"
            case 0x09: out += "\\t"
            case 0x08: out += "\\b"
            case 0x0C: out += "\\f"
            case 0..<0x20:
                let hex = Array("0123456789abcdef")
                out += "\\u00" + String(hex[Int(b >> 4)]) + String(hex[Int(b & 0xF)])
            default: out += String(decoding: [b], as: UTF8.self)
            }
        }
        return out + "\""
    }

    @Test func everyByteThatNeedsEscapingIsEscapedAtEveryPositionOfAWord() {
        let specials: [UInt8] = Array(0..<0x20) + [0x22, 0x5C]
        // Neighbours that sit next to the specials' values: a borrow in the scan must not hide them.
        let fillers: [UInt8] = [0x20, 0x21, 0x23, 0x5B, 0x5D, 0x61, 0x7F]
        for special in specials {
            for filler in fillers {
                for length in [1, 7, 8, 9, 15, 16, 17, 24] {
                    for position in 0..<length {
                        var bytes = [UInt8](repeating: filler, count: length)
                        bytes[position] = special
                        let s = String(decoding: bytes, as: UTF8.self)
                        let written = JSONWriter().string(.string(s))
                        #expect(written == Self.escapedOneByOne(s), "byte \(special) at \(position) of \(length)")
                        #expect((try? JSONParser.parse(written)) == .string(s))
                    }
                }
            }
        }
    }

    @Test func textWithoutEscapesAndMultiByteCharactersIsCopiedAsIs() {
        for s in ["", "a", "abcdefgh", "abcdefghi", "http://127.0.0.1:8000/assets/123/", "Grüße aus Zürich — ✓ 日本語 🎉", String(repeating: "é", count: 40)] {
            #expect(JSONWriter().string(.string(s)) == "\"" + s + "\"")
        }
    }
}
