import Testing

@testable import CarDefinition
@testable import CarEngine
@testable import MappingDSL

@Suite("Definition loader: invalid definitions and their diagnostics")
struct InvalidDefinitionTests {
    static let names = Repo.files(in: Repo.fixtures + "/invalid", suffix: ".yaml")

    @Test func thereAreEnoughInvalidFixtures() {
        #expect(Self.names.count >= 40)
    }

    @Test(arguments: names)
    func diagnosticsMatchTheGoldenFile(name: String) throws {
        let path = "invalid/" + name
        let bytes = try FileIO.read(Repo.fixtures + "/" + path)
        let result = DefinitionLoader.load(bytes: bytes, path: path)
        #expect(result.hasErrors, "an invalid fixture must give at least one error")
        #expect(result.definition == nil)
        let rendered = DiagnosticRenderer.render(result.diagnostics, sources: result.source.map { [path: $0] } ?? [:]) + "\n"
        expectGolden(rendered, path: Repo.fixtures + "/invalid/" + name.replacing(".yaml", with: ".golden"))
    }
}

@Suite("Definition loader: valid definitions")
struct ValidDefinitionTests {
    static let paths: [String] =
        Repo.files(in: Repo.root + "/connectors", suffix: ".yaml").map { Repo.root + "/connectors/" + $0 }
        + Repo.files(in: Repo.fixtures + "/valid", suffix: ".yaml").map { Repo.fixtures + "/valid/" + $0 }

    @Test(arguments: paths)
    func loadsWithoutErrorsOrWarnings(path: String) {
        let result = DefinitionLoader.load(path: path)
        let rendered = DiagnosticRenderer.render(result.diagnostics, sources: result.source.map { [path: $0] } ?? [:])
        #expect(result.diagnostics.isEmpty, "\(rendered)")
        #expect(result.definition != nil)
    }

    @Test func theReferenceConnectorHasEveryMappingOfTheReferenceDatasource() throws {
        let definition = try #require(DefinitionLoader.load(path: Repo.root + "/connectors/reference.yaml").definition)
        #expect(Set(definition.vertices.map(\.collection)) == ["vulnerability", "site", "asset", "ipaddress", "macaddress", "hostname", "application", "port"])
        #expect(Set(definition.edges.map(\.collection)) == [
            "asset_vulnerability", "site_asset", "asset_ipaddress", "asset_macaddress", "asset_hostname",
            "application_vulnerability", "application_port", "ipaddress_port",
        ])
        #expect(definition.endpointOrder == ["xrefproperties", "vulnerabilities", "sites", "assets", "ip_addresses", "mac_addresses", "hosts", "apps", "ports"])
        #expect(definition.parameters.map(\.name) == ["url", "username", "password"])
        #expect(definition.parameters.first { $0.name == "password" }?.secret == true)
        let ext = try #require(definition.schemaExtension)
        #expect(ext.payload["schema"]?["edges"] == [["end1": "site", "end2": "asset"]])
        #expect(ext.payload["version"] == "1")
    }

    @Test func warningsDoNotMakeADefinitionInvalid() throws {
        let text = """
            format: 1
            connector: {name: w, version: 0.1.0}
            parameters:
              unused: {type: text, default: x}
            datasource: {base_url: "http://127.0.0.1:1"}
            endpoints:
              a: {path: /a/}
              spare: {path: /b/}
            vertices:
              asset: {from: a, fields: {external_id: str($.id), name: $.n}}
            """
        let result = DefinitionLoader.load(bytes: Array(text.utf8), path: "w.yaml")
        #expect(!result.hasErrors)
        #expect(result.definition != nil)
        #expect(result.diagnostics.map(\.headline) == [
            "w.yaml:4:3: warning: parameter 'unused' is not used by any template or expression (a flag IBM's deployments pass that car ignores says unused: true)",
            "w.yaml:8:3: warning: endpoint 'spare' is not used by any mapping, lookup or connection test",
        ])
    }
}

@Suite("car validate")
struct ValidateCommandTests {
    @Test func exitCodes() {
        let valid = Repo.root + "/connectors/reference.yaml"
        let invalid = Repo.fixtures + "/invalid/unknown-function.yaml"
        #expect(ValidateCommand.run(paths: [valid], format: .text).exitCode == 0)
        #expect(ValidateCommand.run(paths: [invalid], format: .text).exitCode == 1)
        #expect(ValidateCommand.run(paths: [valid, invalid], format: .text).exitCode == 1)
        #expect(ValidateCommand.run(paths: [Repo.fixtures + "/does-not-exist.yaml"], format: .text).exitCode == 1)
    }

    @Test func textOutputEndsWithASummary() {
        let valid = Repo.root + "/connectors/reference.yaml"
        let invalid = Repo.fixtures + "/invalid/wrong-arity.yaml"
        let (output, _) = ValidateCommand.run(paths: [valid, invalid], format: .text)
        #expect(output.hasSuffix("\(invalid): 1 error\n1 of 2 definitions valid\n"))
        #expect(output.contains("\(valid): valid\n"))
    }

    @Test func jsonOutput() throws {
        let path = Repo.fixtures + "/invalid/wrong-arity.yaml"
        let (output, code) = ValidateCommand.run(paths: [path], format: .json)
        #expect(code == 1)
        let doc = try JSONParser.parse(output)
        #expect(doc["valid"] == false)
        let d = try #require(doc["files"]?[0]?["diagnostics"]?[0])
        #expect(d == [
            "file": .string(path), "line": 22, "column": 13, "length": 12, "severity": "error",
            "message": "'join' takes 2 arguments, found 1: join(list, separator) -> string",
        ])
    }

    @Test func aMissingFileIsReportedNotCrashedOn() {
        let (output, code) = ValidateCommand.run(paths: ["/nonexistent/x.yaml"], format: .text)
        #expect(code == 1)
        #expect(output.hasPrefix("/nonexistent/x.yaml: error: cannot open '/nonexistent/x.yaml': No such file or directory\n"))
    }
}

@Suite("Loader robustness: no crash, no hang")
struct RobustnessTests {
    func load(_ bytes: [UInt8]) -> LoadResult { DefinitionLoader.load(bytes: bytes, path: "x.yaml") }

    @Test func emptyAndBlankFiles() {
        for text in ["", "\n\n", "# only a comment\n", "---\n"] {
            let r = load(Array(text.utf8))
            #expect(r.diagnostics.map(\.message) == ["the file is empty; a definition starts with 'format: 1' and 'connector:'"])
        }
    }

    @Test func scalarsAndLists() {
        #expect(load(Array("42".utf8)).diagnostics.first?.message.hasSuffix("found an integer") == true)
        #expect(load(Array("[1, 2]".utf8)).diagnostics.first?.message.hasSuffix("found a list") == true)
    }

    @Test(arguments: [UInt64(1), 2, 3, 4, 5, 6, 7, 8])
    func binaryGarbage(seed: UInt64) {
        var state = seed &* 0x9E37_79B9_7F4A_7C15
        var bytes: [UInt8] = []
        for _ in 0..<4096 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            bytes.append(UInt8(truncatingIfNeeded: state >> 33))
        }
        let r = load(bytes)
        #expect(r.hasErrors)
    }

    @Test func asciiGarbage() {
        var state: UInt64 = 7
        let alphabet = Array("abc:-[]{}\"' \n\t#&*!|>%@`,?".utf8)
        for _ in 0..<200 {
            var bytes: [UInt8] = []
            for _ in 0..<200 {
                state = state &* 6364136223846793005 &+ 1442695040888963407
                bytes.append(alphabet[Int(state >> 33) % alphabet.count])
            }
            _ = load(bytes)
        }
    }

    @Test func aTenMegabyteFile() {
        var text = "format: 1\nconnector: {name: big, version: 1.0.0}\ndatasource: {base_url: \"http://127.0.0.1:1\"}\nendpoints:\n"
        var i = 0
        while text.utf8.count < 10 << 20 {
            text += "  e\(i): {path: /e\(i)/, headers: {X-Pad: \"\(String(repeating: "p", count: 200))\"}}\n"
            i += 1
        }
        let r = load(Array(text.utf8))
        #expect(!r.hasErrors)
        // One 'not used' warning per endpoint, and one for mapping nothing.
        #expect(r.diagnostics.count == i + 1)
    }

    @Test func twentyThousandLevelsOfFlowNesting() {
        let text = "format: " + String(repeating: "[", count: 20_000) + String(repeating: "]", count: 20_000)
        let r = load(Array(text.utf8))
        #expect(r.diagnostics.map(\.headline) == ["x.yaml:1:208: error: nesting deeper than 200 levels"])
    }

    @Test func aThousandLevelsOfBlockNesting() {
        // Block nesting needs one more column per level: 20,000 levels would be a 200 MB file.
        var text = ""
        for level in 0..<1_000 { text += String(repeating: " ", count: level) + "k:\n" }
        let r = load(Array(text.utf8))
        #expect(r.diagnostics.map(\.headline) == ["x.yaml:201:201: error: nesting deeper than 200 levels"])
    }

    @Test func twentyThousandLevelsOfSequenceNesting() {
        let text = String(repeating: "- ", count: 20_000) + "x\n"
        let r = load(Array(text.utf8))
        #expect(r.diagnostics.first?.message == "nesting deeper than 200 levels")
    }

    @Test func aliasBombsAreStopped() {
        var text = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
        for i in 1..<9 {
            text += "a\(i): &a\(i) [" + Array(repeating: "*a\(i - 1)", count: 10).joined(separator: ", ") + "]\n"
        }
        let r = load(Array(text.utf8))
        #expect(r.diagnostics.first?.message == "the document expands to more than 1000000 nodes (through aliases?)")
    }

    @Test func deeplyNestedExpressionsAreAnError() {
        let expr = String(repeating: "(", count: 5000) + "1" + String(repeating: ")", count: 5000)
        let result = ExpressionCompiler.compile(expr, scope: Scope())
        #expect(result.errors.first?.message == "expression nested deeper than 64 levels")
    }
}
