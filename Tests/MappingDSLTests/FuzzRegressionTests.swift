import Testing

@testable import MappingDSL

/// Inputs the fuzz targets (fuzz/, scripts/fuzz.sh) found, reduced; docs/reliability.md.
@Suite("Fuzzing regressions (MappingDSL)")
struct MappingDSLFuzzRegressionTests {
    /// FuzzJSON: `[66666661e308, 2.5e-942, 92233720368547758666]` parsed, and its first number
    /// (infinity) was written back as null.
    @Test func numbersBeyondADoublesRangeAreErrors() throws {
        for text in ["[66666661e308, 2.5e-942, 92233720368547758666]", "1e400", "-1e309", "{\"a\": 123456789012345678901234567890e300}"] {
            #expect(throws: JSONParseError.self, "\(text)") { try JSONParser.parse(text) }
        }
        let error = try #require(throws: JSONParseError.self) { try JSONParser.parse("[1, 1e400]") }
        #expect(error.offset == 4)
        // Still numbers: the largest double, underflow to zero. (An integer beyond 64 bits is an
        // error too: rounded to a double, two ids could become one.)
        #expect(try JSONParser.parse("[1.7976931348623157e308, 2.5e-942]") == [.double(.greatestFiniteMagnitude), .double(0)])
        #expect(throws: JSONParseError.self) { try JSONParser.parse("[92233720368547758666]") }
    }

    /// FuzzJSONPath: `$['\u{1CE5}.']` printed as `$['.']`: the name's combining mark and the
    /// quote before it are one Character, and dropping the quote dropped both.
    @Test func namesStartingOrEndingWithCombiningMarksPrintAsThemselves() throws {
        for text in ["$['\u{1CE5}.']", "$['\u{301}']", "$['a\u{301}'][\"'\u{301}\"]", "$['\\'\u{301}\\\\\u{301}\"\u{301}']"] {
            let path = try JSONPath.parse(text)
            #expect(try JSONPath.parse(path.description) == path, "\(text) printed as \(path.description)")
        }
        #expect(try JSONPath.parse("$['\u{1CE5}.']").description == "$['\u{1CE5}.']")
    }

    /// FuzzJSONPath: `$..book[?(@.price > 6 && @.category <= 'fion')&& @.category ]` printed
    /// without its parentheses, which parsed to a flat `and` of three, not an `and` of an `and`.
    @Test func parenthesizedAndsAndOrsParseFlatAsTheyPrint() throws {
        let path = try JSONPath.parse("$..book[?(@.price > 6 && @.category <= 'fion')&& @.category ]")
        #expect(path == (try JSONPath.parse("$..book[?@.price > 6 && @.category <= 'fion' && @.category]")))
        #expect(try JSONPath.parse(path.description) == path)
        for text in ["$[?(@.a || @.b) || @.c]", "$[?@.a || (@.b || @.c)]", "$[?(@.a || @.b) && @.c]", "$[?!(@.a && @.b) && @.c]"] {
            let p = try JSONPath.parse(text)
            #expect(try JSONPath.parse(p.description) == p, "\(text) printed as \(p.description)")
        }
        #expect(try JSONPath.parse("$[?(@.a || @.b) || @.c]") == (try JSONPath.parse("$[?@.a || @.b || @.c]")))
    }
}
