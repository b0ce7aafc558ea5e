import LoopbackHTTP
import Testing

@testable import CarDefinition
@testable import CarEngine
@testable import MappingDSL

@Suite("car package: the CP4S configuration, the Containerfile and the manifests")
struct PackageTests {
    static let golden = Repo.fixtures + "/golden/package-reference"

    func definition(_ path: String) throws -> ConnectorDefinition {
        let result = DefinitionLoader.load(path: path)
        return try #require(result.definition, "\(result.diagnostics)")
    }

    func reference() throws -> ConnectorDefinition { try definition(Repo.root + "/connectors/reference.yaml") }

    /// Every key path of a JSON value: `connection.schedule.options`.
    func keyPaths(_ value: JSON, _ prefix: String = "") -> Set<String> {
        guard case .object(let o) = value else { return [] }
        var out: Set<String> = []
        for (k, v) in o {
            let p = prefix.isEmpty ? k : prefix + "." + k
            out.insert(p)
            out.formUnion(keyPaths(v, p))
        }
        return out
    }

    @Test(arguments: ["connector.yaml", "configurations/config.json", "configurations/lang_en.json", "Containerfile",
                      "manifests/connector.yaml", "manifests/cronjob.yaml", "manifests/secret.yaml"])
    func theReferenceBuildFolderMatchesTheGolden(file: String) throws {
        let d = try reference()
        let source = try FileIO.read(Repo.root + "/connectors/reference.yaml")
        var options = PackageOptions()
        options.image = "registry.example/isc-car-connector-reference:1.0.0"
        let files = PackageCommand.files(d, source: source, options: options)
        let bytes = try #require(files.first { $0.0 == file }?.1)
        if file == "connector.yaml" {
            #expect(bytes == source)
        } else {
            expectGolden(String(decoding: bytes, as: UTF8.self), path: Self.golden + "/" + file)
        }
    }

    /// IBM's reference connector configuration merged with the deployment defaults by the
    /// deployment's build script has these key paths (its `parameter` section holds
    /// placeholders only; the reference definition has no parameter of that section).
    static let ibmMergedReferenceKeys: Set<String> = [
        "connection", "connection.schedule", "connection.schedule.default", "connection.schedule.type",
        "connection.schedule.previous", "connection.schedule.options", "connection.help", "connection.help.default",
        "connection.help.type", "connection.image", "connection.image.type", "connection.image.hidden",
        "connection.image.default", "connection.type", "connection.type.type", "connection.type.displayName",
        "connection.type.group", "configuration", "configuration.auth", "configuration.auth.type",
        "configuration.auth.url", "configuration.auth.url.type", "configuration.auth.username",
        "configuration.auth.username.type", "configuration.auth.password", "configuration.auth.password.type",
    ]

    @Test func theReferenceConfigHasTheStructureOfIBMs() throws {
        let config = CP4SConfiguration.config(try reference())
        let ours = keyPaths(config)
        #expect(Self.ibmMergedReferenceKeys.subtracting(ours).isEmpty, "missing: \(Self.ibmMergedReferenceKeys.subtracting(ours).sorted())")
        // Beyond IBM's, only the fields a parameter may carry (the reference's defaults).
        let extra = ours.subtracting(Self.ibmMergedReferenceKeys)
        #expect(extra.allSatisfy { ["default", "optional", "regex", "min", "max"].contains($0.split(separator: ".").last ?? "") }, "\(extra.sorted())")
        #expect(config["connection"]?["help"]?["default"] == "data-sources-car-reference.html")
        #expect(config["connection"]?.objectValue?.keys == ["schedule", "help", "image", "type"])
    }

    @Test func theDefinitionsScheduleReplacesTheDefaultsInPlace() throws {
        let d = try definition(Repo.fixtures + "/valid/every-key.yaml")
        let config = CP4SConfiguration.config(d)
        #expect(config["connection"]?.objectValue?.keys == ["schedule", "help", "image", "type", "tenant"])
        #expect(config["connection"]?["schedule"]?["default"] == "0 */4 * * *")
        #expect(config["connection"]?["schedule"]?["options"] == ["0 */4 * * *", "0 */12 * * *", "mm HH * * *"])
        #expect(config["connection"]?["tenant"] == ["type": "text", "optional": true, "default": "main", "regex": "^[a-z][a-z0-9-]*$"])
        let parameter = try #require(config["configuration"]?["parameter"])
        #expect(parameter["type"] == "fields")
        #expect(parameter["page_size"] == ["type": "number", "optional": true, "default": 200, "min": 1, "max": 1000])
        #expect(parameter["verify"] == ["type": "text", "optional": true, "default": "true"])
        #expect(parameter["regions"] == ["type": "text", "optional": true, "default": "eu,us"])
        // Named after its variable (env: CONFIGURATION_AUTH_SECRET): CP4S sets that variable from this field.
        #expect(config["configuration"]?["auth"]?["secret"] == ["type": "password"])
        #expect(config["configuration"]?["auth"]?["client_secret"] == nil)
        #expect(Manifests.cronJob(d, PackageOptions()).contains("schedule: \"0 */4 * * *\""))
        let lang = CP4SConfiguration.languageEnglish(d)
        #expect(lang["connection"]?["tenant"] == ["label": "tenant"])
        #expect(lang["configuration"]?.objectValue?.keys == ["name", "description", "auth", "parameter"])
    }

    @Test func theMergeIsTheBuildScriptsJqMerge() {
        let defaults: JSON = ["connection": ["a": 1, "b": 2]]
        let connector: JSON = ["connection": ["b": 3, "c": 4], "configuration": ["auth": ["type": "fields"]]]
        let merged = CP4SConfiguration.merge(defaults, connector)
        #expect(merged == ["connection": ["a": 1, "b": 3, "c": 4], "configuration": ["auth": ["type": "fields"]]])
        #expect(merged["connection"]?.objectValue?.keys == ["a", "b", "c"])
        #expect(CP4SConfiguration.merge(["connection": [:]], ["connection": [:]])["configuration"] == .null)
    }

    @Test func packageWritesTheBuildFolder() throws {
        let out = Repo.temporaryPath("package")
        let (output, code) = PackageCommand.run(definitionPath: Repo.root + "/connectors/reference.yaml", out: out, options: PackageOptions())
        #expect(code == 0)
        #expect(output.split(separator: "\n").count == 7)
        let config = try JSONParser.parse(try FileIO.read(out + "/configurations/config.json"))
        #expect(config == CP4SConfiguration.config(try reference()))
        #expect(Repo.read(out + "/manifests/connector.yaml")?.contains("image: \"isc-car-connector-reference:1.0.0\"") == true)
    }

    @Test func packageRefusesAnInvalidDefinition() {
        let (output, code) = PackageCommand.run(
            definitionPath: Repo.fixtures + "/invalid/cp4s-configuration.yaml", out: Repo.temporaryPath("package-invalid"), options: PackageOptions())
        #expect(code == 1)
        #expect(output.contains("error: parameter 'tags' is list"))
        #expect(Repo.read(Repo.temporaryPath("package-invalid") + "/connector.yaml") == nil)
    }
}

@Suite("Parameters of the connection section, regex, min and max at run time")
struct CP4SParameterTests {
    func definition() throws -> ConnectorDefinition {
        let result = DefinitionLoader.load(path: Repo.fixtures + "/valid/every-key.yaml")
        return try #require(result.definition)
    }

    /// The parameter values a dry run of every-key.yaml resolves from these variables.
    func resolve(_ env: [String: String]) throws -> [String: JSON] {
        var env = env
        env["CONFIGURATION_AUTH_URL"] = env["CONFIGURATION_AUTH_URL"] ?? "https://inventory.example"
        env["CONFIGURATION_AUTH_CLIENT_ID"] = "id"
        env["CONFIGURATION_AUTH_CLIENT_SECRET"] = "secret"
        var options = RunOptions(definitionPath: "every-key.yaml")
        options.dryRun = true
        options.secretsDirectory = Repo.temporaryPath("no-secrets")
        _ = try? ChildProcess.run(["/bin/mkdir", "-p", Repo.temporaryPath("no-secrets")])
        options.environment = env
        return try RunConfiguration.resolve(options, definition: try definition()).parameters.mapValues(\.value)
    }

    @Test func connectionParametersComeFromCONNECTIONVariables() throws {
        #expect(try resolve([:])["tenant"] == "main")
        #expect(try resolve(["CONNECTION_TENANT": "emea"])["tenant"] == "emea")
        #expect(ParameterKeys.environmentNames(try #require(try definition().parameters.first { $0.name == "tenant" }))
            == ["CONNECTION_TENANT", "CONFIGURATION_AUTH_TENANT", "CONFIGURATION_PARAMETER_TENANT"])
    }

    @Test func aValueOutsideRegexOrBoundsIsAnInvalidParameter() throws {
        #expect(throws: RunFailure.self) { try resolve(["CONNECTION_TENANT": "EMEA"]) }
        #expect(throws: RunFailure.self) { try resolve(["CONFIGURATION_PARAMETER_PAGE_SIZE": "0"]) }
        #expect(throws: RunFailure.self) { try resolve(["CONFIGURATION_PARAMETER_PAGE_SIZE": "1001"]) }
        #expect(try resolve(["CONFIGURATION_PARAMETER_PAGE_SIZE": "1000"])["page_size"] == 1000)
        do {
            _ = try resolve(["CONNECTION_TENANT": "EMEA"])
        } catch let error as RunFailure {
            #expect(error.description.contains("parameter 'tenant' must match ^[a-z][a-z0-9-]*$; 'EMEA' from the environment variable CONNECTION_TENANT does not"))
        }
    }
}
