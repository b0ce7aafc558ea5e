import Testing

@testable import CarDefinition
@testable import CarEngine
@testable import MappingDSL

/// Key paths of the definition format: `datasource.auth<basic>.username`, `endpoints.*.query`.
enum KeyPaths {
    static func all(_ shape: Shape, _ prefix: String, into out: inout Set<String>) {
        switch shape {
        case .object(let o): fields(o, prefix, into: &out)
        case .map(_, _, let value, _): all(value, prefix + ".*", into: &out)
        case .list(let item, _): all(item, prefix + "[]", into: &out)
        case .either(let options, _): for o in options { all(o, prefix, into: &out) }
        case .tagged(_, let variants, _):
            for v in variants {
                out.insert("type: " + v.name + " — " + v.shape.summary)
                fields(v.shape, prefix + "<\(v.name)>", into: &out)
            }
        default: break
        }
    }

    /// A key is identified by its name and its meaning: a key shared by several places (the keys
    /// of a request, say) counts once.
    static func identity(_ f: ObjectShape.Field) -> String { f.name + " — " + f.shape.summary }

    static func fields(_ o: ObjectShape, _ prefix: String, into out: inout Set<String>) {
        for f in o.fields {
            let p = prefix.isEmpty ? f.name : prefix + "." + f.name
            out.insert(identity(f))
            all(f.shape, p, into: &out)
        }
    }

    static func used(_ node: YAMLNode, _ shape: Shape, _ prefix: String, into out: inout Set<String>) {
        switch shape {
        case .object(let o): usedFields(node, o, prefix, into: &out)
        case .map(_, _, let value, _):
            for (_, v) in node.pairs ?? [] { used(v, value, prefix + ".*", into: &out) }
        case .list(let item, _):
            for v in node.items ?? [] { used(v, item, prefix + "[]", into: &out) }
        case .either(let options, _):
            if let o = options.first(where: { ShapeChecker.kindMatches(node, $0) }) { used(node, o, prefix, into: &out) }
        case .tagged(let d, let variants, _):
            guard let type = node[d]?.string, let v = variants.first(where: { $0.name == type }) else { return }
            out.insert("type: " + v.name + " — " + v.shape.summary)
            usedFields(node, v.shape, prefix + "<\(type)>", into: &out)
        default: break
        }
    }

    static func usedFields(_ node: YAMLNode, _ o: ObjectShape, _ prefix: String, into out: inout Set<String>) {
        for (k, v) in node.pairs ?? [] {
            guard let key = k.string, let f = o.field(key) else { continue }
            let p = prefix.isEmpty ? key : prefix + "." + key
            out.insert(identity(f))
            used(v, f.shape, p, into: &out)
        }
    }
}

@Suite("JSON Schema of the definition format")
struct DefinitionSchemaTests {
    static let schemaPath = Repo.root + "/schemas/connector.schema.json"

    func schema() throws -> JSONSchema {
        try JSONSchema(try JSONParser.parse(try FileIO.read(Self.schemaPath)))
    }

    func yaml(_ path: String) throws -> YAMLNode {
        let (node, _) = try YAMLLoader.load(bytes: try FileIO.read(path))
        return try #require(node)
    }

    @Test func theCommittedSchemaIsTheGeneratedOne() {
        // Regenerate with: swift run car schema > schemas/connector.schema.json
        expectGolden(DefinitionSchema.text, path: Self.schemaPath)
    }

    @Test(arguments: ValidDefinitionTests.paths)
    func validDefinitionsPassTheSchema(path: String) throws {
        let failures = try schema().validate(try yaml(path).json)
        #expect(failures.isEmpty, "\(failures)")
    }

    @Test(arguments: Repo.files(in: Repo.fixtures + "/invalid", suffix: ".yaml").filter { $0.hasPrefix("key-typo-") })
    func theSchemaRejectsWhatTheLoaderRejectsForUnknownKeys(name: String) throws {
        let failures = try schema().validate(try yaml(Repo.fixtures + "/invalid/" + name).json)
        #expect(failures.contains { $0.message == "is not allowed here" || $0.message.hasPrefix("matches none") }, "\(failures)")
    }

    @Test func theValidFixturesUseEveryKeyOfTheFormat() throws {
        var all: Set<String> = []
        KeyPaths.fields(DefinitionFormat.definition, "", into: &all)
        var used: Set<String> = []
        for path in ValidDefinitionTests.paths {
            KeyPaths.usedFields(try yaml(path), DefinitionFormat.definition, "", into: &used)
        }
        #expect(all.subtracting(used).sorted() == [], "keys no valid fixture uses")
        // Every key the loader accepts is in the schema, with its description.
        let text = DefinitionSchema.text
        for key in all {
            let parts = key.split(separator: " — ", maxSplits: 1).map(String.init)
            let name = parts[0].hasPrefix("type: ") ? String(parts[0].dropFirst(6)) : parts[0]
            #expect(text.contains("\"\(name)\""), "\(key)")
        }
    }
}

@Suite("JSON Schema validator")
struct JSONSchemaValidatorTests {
    @Test func keywords() throws {
        let schema = try JSONSchema(try JSONParser.parse("""
            {"type": "object", "required": ["a"], "additionalProperties": false,
             "properties": {
               "a": {"type": "string", "pattern": "^x", "minLength": 2, "maxLength": 3},
               "n": {"type": "integer", "minimum": 0, "maximum": 10},
               "e": {"enum": ["p", "q"]},
               "l": {"type": "array", "items": {"type": "number"}},
               "o": {"oneOf": [{"required": ["x"]}, {"required": ["y"]}]},
               "r": {"$ref": "#/$defs/flag"}
             },
             "$defs": {"flag": {"type": "boolean"}}}
            """))
        #expect(schema.validate(["a": "xy", "n": 3, "e": "p", "l": [1, 2.5], "o": ["x": 1], "r": true]).isEmpty)
        let failures = schema.validate(["a": "yyyy", "n": 11, "e": "z", "l": ["s"], "o": ["x": 1, "y": 2], "r": 1, "extra": 1])
        #expect(Set(failures.map(\.description)) == [
            "/a: is longer than 3 characters", "/a: does not match the pattern ^x", "/n: is above the maximum 10.0",
            "/e: must be one of \"p\", \"q\", found \"z\"", "/l/0: must be number, found string",
            "/o: matches more than one exclusive form", "/r: must be boolean, found integer", "/extra: is not allowed here",
        ])
        #expect(schema.validate([:]).map(\.description) == ["'a' is required"])
    }
}

@Suite("Import-schema patterns matched without the regex engine")
struct KnownPatternTests {
    /// The quick test may only say yes where the regex says yes.
    @Test func theMACAddressTestAgreesWithTheRegex() throws {
        let source = try #require(CARCatalogue.core["macaddress"]?.fields.first { $0.name == "name" }?.pattern)
        let quick = try #require(KnownPatterns.quickAccept[source])
        let regex = try Regex(source)
        let inputs = [
            "00:50:56:a6:e2:1e", "00:50:56:A6:E2:1E", "00:50:56:a6:e2", "00:50:56:a6:e2:", "00:50:56:a6:e2:1e:00:11",
            "00:50:56:a6", "0050:56a6:e21e:0011", "x0050:56a6:e21e:0011", "00-50-56-a6-e2-1e", "g0:50:56:a6:e2:1e",
            "00:50:56:a6:e2:1e junk", "", ":::::::::::::::", "00:50:56:a6:e2:1é", "0:50:56:a6:e2:1e:",
        ]
        for s in inputs {
            let byRegex = (try regex.firstMatch(in: s)) != nil
            if quick(s) { #expect(byRegex, "\(s)") }
            let schema = try JSONSchema(["type": "string", "pattern": .string(source)])
            #expect(schema.validate(.string(s)).isEmpty == byRegex, "\(s)")
        }
        #expect(quick("00:50:56:a6:e2:1e"))
        #expect(!quick("0050:56a6:e21e:0011"))
    }

    /// A `^[...]+$` pattern is decided by its character class and never compiled: the class
    /// must agree with the regex engine, and a pattern it cannot read is still compiled (and an
    /// invalid one still rejected when the schema is loaded).
    @Test func characterClassesAgreeWithTheRegexAndBadPatternsStillFail() throws {
        let patterns = [#"^[a-z0-9_.\-]+$"#, "^[^&#]+$", "^[A-Fa-f0-9:.]+$", #"^[\]x]+$"#]
        let inputs = ["abc", "a-b.c_9", "A", "", "a b", "x]", "&", "é", "00:50:56:a6", "a#b", "-", "]"]
        for source in patterns {
            let regex = try Regex(source)
            let schema = try JSONSchema(["type": "string", "pattern": .string(source)])
            for s in inputs {
                let byRegex = (try regex.firstMatch(in: s)) != nil
                #expect(schema.validate(.string(s)).isEmpty == byRegex, "\(source) on '\(s)'")
            }
        }
        #expect(JSONSchema.ASCIIClass(pattern: "^[a-z]+$") != nil)
        #expect(JSONSchema.ASCIIClass(pattern: "^[^]+$") == nil)
        for bad in ["^[a-z+$", "^[z-a]+$", "(unclosed"] {
            #expect(throws: (any Error).self, "\(bad)") { try JSONSchema(["type": "string", "pattern": .string(bad)]) }
        }
    }

    /// One plan for many objects remembers each member's last valid value: an equal value
    /// passes unchecked, any other is checked (and a long multi-byte string is measured in
    /// characters, not bytes).
    @Test func aPlanChecksEveryValueItHasNotSeenValid() throws {
        let schema = try JSONSchema([
            "type": "object", "required": ["a"],
            "properties": ["a": ["type": "string", "pattern": "^[a-z]+$", "maxLength": 3], "n": ["type": "integer", "maximum": 5]],
        ])
        var plan = JSONSchema.MemberPlan()
        let objects: [(JSON, Bool)] = [
            (["a": "abc", "n": 1], true), (["a": "abc", "n": 1], true), (["a": "abcd", "n": 1], false),
            (["a": "ab9", "n": 1], false), (["a": "abc", "n": 6], false), (["a": "abc", "n": 1.5], false),
            (["a": "abc", "n": 5], true), (["a": "éé", "n": 5], false), (["n": 5], false), (["a": "x", "n": 2], true),
        ]
        for (o, valid) in objects {
            let object = try #require(o.objectValue)
            #expect(schema.validate(object, plan: &plan).isEmpty == valid, "\(o)")
        }
        let long = try JSONSchema(["type": "string", "minLength": 2, "maxLength": 3])
        #expect(long.validate("ééé").isEmpty)
        #expect(!long.validate("éééé").isEmpty)
        #expect(!long.validate("é").isEmpty)
    }

    @Test func largePropertySetsAreLookedUpByName() throws {
        var properties = JSONObject()
        for i in 0..<10 { properties["p\(i)"] = ["type": "integer"] }
        let schema = try JSONSchema(["type": "object", "additionalProperties": false, "properties": .object(properties)])
        #expect(schema.validate(["p0": 1, "p9": 2]).isEmpty)
        #expect(schema.validate(["p9": "x", "q": 1]).map(\.description) == ["/p9: must be integer, found string", "/q: is not allowed here"])
    }
}
