import CarSimulators
import Testing

@testable import CarDefinition
@testable import CarEngine
@testable import MappingDSL

@Suite("CAR catalogue")
struct CatalogueTests {
    static let importSchemaPath = Repo.root + "/../shared/car-import-schema-v2.json"

    @Test(.enabled(if: DirectoryListing.exists(importSchemaPath), "the shared import schema is not beside the repository"))
    func matchesTheImportSchema() throws {
        let schema = try JSONParser.parse(try FileIO.read(Self.importSchemaPath))
        let properties = try #require(schema["properties"]?.objectValue)
        var names: Set<String> = []
        for (name, definition) in properties {
            guard definition["type"] == "array", let items = definition["items"] else { continue }
            names.insert(name)
            let info = try #require(CARCatalogue.core[name], "missing collection \(name)")
            #expect(info.required == (items["required"]?.arrayValue?.compactMap(\.stringValue) ?? []), "\(name)")
            let alternatives = items["oneOf"]?.arrayValue?.map { $0["required"]?.arrayValue?.compactMap(\.stringValue) ?? [] } ?? []
            #expect(info.oneOfRequired == alternatives, "\(name)")
            let fields = try #require(items["properties"]?.objectValue)
            #expect(info.fields.map(\.name) == fields.keys, "\(name)")
            for (field, d) in fields {
                let f = try #require(info.field(field))
                #expect(f.type.rawValue == d["type"]?.stringValue ?? "any", "\(name).\(field)")
                #expect(f.pattern == d["pattern"]?.stringValue, "\(name).\(field)")
                #expect(f.minimum == d["minimum"]?.doubleValue && f.maximum == d["maximum"]?.doubleValue, "\(name).\(field)")
            }
            switch info.kind {
            case .vertex(let key):
                #expect(key == (["ipaddress", "macaddress", "hostname"].contains(name) ? .key : .externalId), "\(name)")
            case .edge(let from, let to, let fromField, let toField):
                #expect(name == "\(from)_\(to)")
                #expect(fields[fromField] != nil && fields[toField] != nil, "\(name)")
                #expect(CARCatalogue.core[from]?.isEdge == false && CARCatalogue.core[to]?.isEdge == false, "\(name)")
            }
        }
        #expect(Set(CARCatalogue.core.order) == names)
    }

    @Test func keyKindsAndEdgeEnds() throws {
        #expect(CARCatalogue.core["asset"]?.keyKind == .externalId)
        #expect(CARCatalogue.core["ipaddress"]?.keyKind == .key)
        let edge = try #require(CARCatalogue.core["asset_ipaddress"])
        #expect(edge.kind == .edge(from: "asset", to: "ipaddress", fromField: "_from_external_id", toField: "_to"))
        #expect(CARCatalogue.core.vertexNames.count == 14)
        #expect(CARCatalogue.core.edgeNames.count == 29)
    }
}

@Suite("Documentation in step with the code")
struct DocumentationTests {
    @Test func theFunctionReferenceIsGenerated() {
        // Regenerate with: swift run car functions > docs/functions.md
        expectGolden(FunctionReference.markdown, path: Repo.root + "/docs/functions.md")
    }

    @Test func everyFunctionHasASummaryAndAnExample() {
        for f in HostFunctions.table(endpoints: []).sorted {
            #expect(!f.summary.isEmpty && !f.example.isEmpty && f.signature.hasPrefix(f.name + "("), "\(f.name)")
        }
        let required = "str int float bool lower upper trim concat join split replace regex_match regex_extract last_segment len coalesce map filter first unique keys values to_object pick omit now_ms iso_to_epoch_ms epoch_s_to_ms epoch_ms_to_iso normalize_mac is_ipv4 is_ipv6 base64_encode base64_decode sha256"
        for name in required.split(separator: " ") {
            #expect(FunctionTable.standard[String(name)] != nil, "\(name)")
        }
    }

    @Test func everyExampleEvaluatesToWhatItSays() throws {
        // Examples of the form `call → result` (results that are JSON) are checked.
        for f in FunctionTable.standard.sorted where f.example.contains(" → ") && f.name != "now_ms" && f.name != "days_ago_ms" {
            let parts = f.example.split(separator: " → ", maxSplits: 1).map(String.init)
            guard parts.count == 2, let expected = try? JSONParser.parse(parts[1]) else { continue }
            let compiled = try #require(ExpressionCompiler.compile(parts[0], scope: Scope()).expression, "\(f.example)")
            #expect(try compiled.evaluate(EvalContext()) == expected, "\(f.example)")
        }
    }
}

@Suite("The definition reference")
struct DefinitionReferenceTests {
    /// The ```yaml blocks of docs/definition-format.md.
    static let blocks: [String] = {
        guard let text = Repo.read(Repo.root + "/docs/definition-format.md") else { return [] }
        var out: [String] = []
        var current: [Substring]?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line == "```yaml" {
                current = []
            } else if line == "```", let c = current {
                out.append(c.joined(separator: "\n"))
                current = nil
            } else {
                current?.append(line)
            }
        }
        return out
    }()

    @Test func everyExampleIsValidYAML() {
        #expect(Self.blocks.count >= 30)
        for block in Self.blocks {
            do {
                _ = try YAMLLoader.load(text: block)
            } catch {
                Issue.record("\(error.message) at \(error.location.map { "\($0.line):\($0.column)" } ?? "?") in\n\(block)")
            }
        }
    }
}

@Suite("car catalogue and hints for unknown edges")
struct CatalogueReferenceTests {
    @Test func aVertexCollectionWithItsKeyFieldsAndEdges() throws {
        let text = try #require(CARCatalogue.core.describe("asset"))
        #expect(text.hasPrefix("asset: vertex collection, keyed by external_id\nrequired: external_id, name\n"))
        #expect(text.contains("  external_id     string, required"))
        #expect(text.contains("edges: ") && text.contains("asset_ipaddress"))
        #expect(CARCatalogue.core.describe("asset_ipaddress")?.hasPrefix("asset_ipaddress: edge collection from asset (_from_external_id) to ipaddress (_to)") == true)
        #expect(CARCatalogue.core.describe("assets") == nil)
    }

    @Test func theCommandLineCommand() throws {
        guard CarBinary.exists else { return }
        let one = try CarBinary.run(["catalogue", "asset"])
        #expect(one.status == 0)
        #expect(one.stdout.contains("asset_ipaddress") && one.stdout.contains("external_id"))
        let unknown = try CarBinary.run(["catalogue", "assets"])
        #expect(unknown.status == 2)
        #expect(unknown.stderr.contains("unknown collection 'assets' (did you mean 'asset'?)"), "\(unknown.stderr)")
    }

    @Test func unknownEdgesGetTheEdgesThatExist() {
        let catalogue = CARCatalogue.core
        #expect(catalogue.edgeHint(for: "ipaddress_asset").contains("edges between 'ipaddress' and 'asset': asset_ipaddress"))
        let userAsset = catalogue.edgeHint(for: "asset_user")
        #expect(userAsset.contains("edges touching 'asset'") && userAsset.contains("edges touching 'user': "), "\(userAsset)")
        #expect(userAsset.contains("user_account"), "\(userAsset)")
    }

    @Test func theDefinitionLoaderSaysWhichEdgesExist() {
        let yaml = """
            format: 1
            connector: {name: t, version: 1.0.0}
            datasource: {base_url: "http://127.0.0.1:1"}
            endpoints:
              hosts: {path: /hosts/}
            edges:
              ipaddress_asset:
                from: hosts
                fields: {_from: "concat('ipaddress/', $.ip)", _to_external_id: str($.id)}
            """
        let result = DefinitionLoader.load(bytes: Array(yaml.utf8), path: "t.yaml")
        let message = result.diagnostics.first { $0.severity == .error }?.message ?? ""
        #expect(message.contains("unknown edge collection 'ipaddress_asset'") && message.contains("edges between 'ipaddress' and 'asset': asset_ipaddress"), "\(message)")
        #expect(result.diagnostics.first?.location?.line == 7)
    }

    @Test func theCommittedCatalogueIsTheGeneratedOne() {
        // Regenerate with: swift run car catalogue --markdown > docs/catalogue.md
        expectGolden(CARCatalogue.core.markdown, path: Repo.root + "/docs/catalogue.md")
    }
}

@Suite("JSON Schema patterns without the regex engine")
struct SchemaPatternTests {
    /// The patterns of CAR's import schema (v2), and one the fast path does not take.
    static let patterns = [
        #"^[a-zA-Z0-9_:@=;!''%\-\.\(\)\+\,\$\*]+$"#, #"^[a-fA-F0-9:\.]+$"#, #"^[^&#^|?<>\[\]]+$"#,
        #"^(?:[0-9A-Fa-f]{2}(:))(?:[0-9A-Fa-f]{2}\1){4,6}(?:[0-9A-Fa-f]{2,4}){0,1}|(?:[0-9A-Fa-f]{4}(:)){3}(?:[0-9A-Fa-f]{4})$"#,
    ]

    @Test(arguments: patterns)
    func theFastPathAgreesWithTheRegexEngine(pattern: String) throws {
        let schema = try JSONSchema(["type": "string", "pattern": .string(pattern)])
        let regex = try Regex(pattern)
        let alphabet = Array("aZ09_:@=;!'%-.()+,$*&#^|?<>[]/ é\u{1F600}fF".unicodeScalars)
        var rng = SplitMix64(seed: 42)
        var samples = ["", "a", "10.0.0.1", "fe80::1", "web-1.example.com", "a&b", "00:11:22:33:44:55", "ZZ"]
        for _ in 0..<3000 {
            let n = Int(rng.next() % 12)
            samples.append(String(String.UnicodeScalarView((0..<n).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] })))
        }
        for s in samples {
            let expected = (try? regex.firstMatch(in: s)) != nil
            #expect(schema.validate(.string(s)).isEmpty == expected, "pattern \(pattern), string '\(s)'")
        }
    }
}
