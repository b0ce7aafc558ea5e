import Testing

@testable import CarDefinition
@testable import CarEngine
@testable import MappingDSL

/// Inputs the fuzz targets (fuzz/, scripts/fuzz.sh) found, reduced; docs/reliability.md.
@Suite("Fuzzing regressions (definitions, streaming, XML)")
struct FuzzRegressionTests {
    /// What the streaming reader of a body makes of it: its records, or nil when it fails.
    func streamed(_ text: String, chunk: Int) -> [JSON]? {
        var splitter = ArrayElementSplitter()
        var records: [JSON] = []
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            for element in splitter.feed(Array(bytes.prefix(chunk))) {
                guard let record = try? JSONParser.parse(element) else { return nil }
                records.append(record)
            }
            bytes = bytes.dropFirst(chunk)
        }
        return splitter.complete && !splitter.notAnArray ? records : nil
    }

    /// FuzzJSON: `[{"pk": 3}111]` gave two records (the splitter took no comma for an element
    /// boundary) where the parser rejects the body.
    @Test func theStreamingSplitterNeedsOneCommaBetweenElements() {
        for text in [#"[{"pk": 3}111]"#, "[1,,2]", "[,1]", "[1,]", #"["a" "b"]"#, "[{}{}]", "[[] []]", "[1 2]", "[,]"] {
            #expect((try? JSONParser.parse(text)) == nil)
            for chunk in [1, 2, 3, 100] { #expect(streamed(text, chunk: chunk) == nil, "\(text) in chunks of \(chunk)") }
        }
        for text in [" [ ] ", #"[ {"a": [1, "]"]} , "x" ,3 , [ ] ]"#, "[1]", "[true,false,null]"] {
            guard case .array(let expected)? = try? JSONParser.parse(text) else {
                Issue.record("\(text) does not parse")
                continue
            }
            for chunk in [1, 2, 3, 100] { #expect(streamed(text, chunk: chunk) == expected, "\(text) in chunks of \(chunk)") }
        }
    }

    func locations(_ text: String) -> [CarDefinition.SourceLocation?] {
        DefinitionLoader.load(bytes: Array(text.utf8), path: "t.yaml").diagnostics.map(\.location)
    }

    /// FuzzDefinition: `- format: 1\n[` (no final line break) had its YAML error on line 3 of a
    /// file of two lines: libyaml's mark at the end of the text is on the line after the last.
    @Test func yamlErrorsAtTheEndOfTheTextAreOnItsLastLine() {
        #expect(locations("- format: 1\n[") == [CarDefinition.SourceLocation(line: 2, column: 2)])
        #expect(locations("format: 1\nconnector: {name: x") == [CarDefinition.SourceLocation(line: 2, column: 20)])
    }

    /// Found with the same invariant: libyaml counts a lone \r, U+0085, U+2028 and U+2029 as line
    /// breaks, lines (and so snippets) do not; such files are rejected where the character is.
    @Test func lineBreaksLibyamlCountsAndLinesDoNotAreErrors() {
        typealias At = CarDefinition.SourceLocation
        let cases = [("format: 1\rconnector: x", At(line: 1, column: 10)), ("format: 1\n# a\u{2028}b\n", At(line: 2, column: 4)),
                     ("a: \"\u{85}\"", At(line: 1, column: 5)), ("a: b\r", At(line: 1, column: 5))]
        for (text, location) in cases {
            let diagnostics = DefinitionLoader.load(bytes: Array(text.utf8), path: "t.yaml").diagnostics
            #expect(diagnostics.map(\.location) == [location], "\(diagnostics.map(\.headline))")
            #expect(diagnostics.first?.message.hasPrefix("line breaks other than") == true)
        }
        // \r\n is a line break like \n.
        let crlf = DefinitionLoader.load(bytes: Array("a: b\r\nc: d\r\n".utf8), path: "t.yaml")
        #expect(!crlf.diagnostics.contains { $0.message.hasPrefix("line breaks") })
    }

    /// FuzzDefinition: `\r\nformat:\0\n$1\n` had its error on line 2, column 8 (the NUL), where
    /// the source's lines had "$1" as line 2: split by `Character`, `\r\n` is one grapheme that is
    /// not `\n`, so the lines of a file with CRLF line breaks did not split there.
    @Test func sourceLinesEndAtCRLFAsTheLoaderCountsThem() throws {
        let result = DefinitionLoader.load(bytes: Array("\r\nformat:\u{0}\n$1\n".utf8), path: "t.yaml")
        let d = try #require(result.diagnostics.first)
        #expect(d.location == CarDefinition.SourceLocation(line: 2, column: 8))
        #expect(result.source?.lines.map(String.init) == ["", "format:\u{0}", "$1", ""])
        let text = SourceText(path: "t.yaml", text: "a: 1\r\nb: 2\nc: 3")
        #expect(text.lines == ["a: 1", "b: 2", "c: 3"])
    }

    /// FuzzXML: Foundation's XMLParser stops the process on an element name that is not UTF-8
    /// (`<nam\u{FF}...>`) and on a processing instruction without data (`<?m5ata?>`); such bodies
    /// are unparseable, not a crash.
    @Test func xmlThatWouldCrashFoundationsParserIsUnparseable() {
        var invalidName = Array(#"<list><host id="1"><nam"#.utf8) + [UInt8](repeating: 0xFF, count: 8)
        invalidName += Array("e>a</name></host></list>".utf8)
        #expect(XMLToJSON.convert(invalidName) == nil)
        #expect(XMLToJSON.convert(Array("<r><a/><a>3</a><?m5ata?></r>".utf8)) == nil)
        // A declaration libxml2 does not read is no other encoding.
        var mangled = Array(#"<?xml version="1.0" encoding=xUTF-8"?><r xmlns"#.utf8) + [0xFF]
        mangled += Array("A/>".utf8)
        #expect(XMLToJSON.convert(mangled) == nil)
        // Still read: processing instructions with data, Latin-1 declared as such.
        #expect(XMLToJSON.convert(Array(#"<r><?pi data?><a>3</a></r>"#.utf8)) == ["r": ["a": "3"]])
        let latin1 = Array(#"<?xml version="1.0" encoding="ISO-8859-1"?><r>caf"#.utf8) + [0xE9] + Array("</r>".utf8)
        #expect(XMLToJSON.convert(latin1) == ["r": "café"])
    }
}
