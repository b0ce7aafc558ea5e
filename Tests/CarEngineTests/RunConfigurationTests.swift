import LoopbackHTTP
import Testing

@testable import CarDefinition
@testable import CarEngine
@testable import MappingDSL

@Suite("One run configuration, resolved once")
struct RunConfigurationTests {
    func definition() throws -> ConnectorDefinition {
        try #require(DefinitionLoader.load(path: Repo.root + "/connectors/reference.yaml").definition)
    }

    @Test func eachValueKnowsWhereItCameFromAndWhetherItIsSecret() throws {
        let secrets = Repo.temporaryPath("config-secrets")
        _ = try ChildProcess.run(["/bin/mkdir", "-p", secrets])
        try FileIO.write(Array("from-a-file\n".utf8), to: secrets + "/CONFIGURATION_AUTH_PASSWORD")
        var options = RunOptions(definitionPath: "reference.yaml")
        options.secretsDirectory = secrets
        options.source = "from-the-flag"
        options.parameters = ["username": "from-param"]
        options.environment = ["CONNECTION_NAME": "from-the-environment", "CONFIGURATION_AUTH_URL": "http://127.0.0.1:9",
                               "CAR_SERVICE_URL": "http://127.0.0.1:9/api/car/v2", "CAR_SERVICE_KEY": "k", "CAR_SERVICE_PASSWORD": "car-secret"]
        let c = try RunConfiguration.resolve(options, definition: try definition())
        #expect(c.source?.value == "from-the-flag" && c.source?.origin == .commandLine("-source"))
        #expect(c.parameters["username"]?.origin == .commandLine("--param username"))
        #expect(c.parameters["url"]?.origin == .environment("CONFIGURATION_AUTH_URL"))
        #expect(c.parameters["password"]?.value == "from-a-file")
        #expect(c.parameters["password"]?.origin == .secretFile(secrets + "/CONFIGURATION_AUTH_PASSWORD"))
        #expect(c.parameters["password"]?.isSecret == true && c.parameters["url"]?.isSecret == false)
        // Secrets for the redactor: the file's value and the CAR password.
        #expect(c.secrets.contains("from-a-file") && c.secrets.contains("car-secret"))
        // The command line wins over the environment, the environment over files.
        options.environment["CONFIGURATION_AUTH_PASSWORD"] = "from-the-environment"
        let again = try RunConfiguration.resolve(options, definition: try definition())
        #expect(again.parameters["password"]?.value == "from-the-environment")
        _ = try ChildProcess.run(["/bin/rm", "-rf", secrets])
    }

    @Test func defaultsAndMissingSettings() throws {
        var options = RunOptions(definitionPath: "reference.yaml")
        options.secretsDirectory = Repo.temporaryPath("no-secrets-here")
        _ = try ChildProcess.run(["/bin/mkdir", "-p", options.secretsDirectory ?? ""])
        options.environment = ["CONNECTION_NAME": "s", "CONFIGURATION_AUTH_PASSWORD": "p"]
        do {
            _ = try RunConfiguration.resolve(options, definition: try definition())
            Issue.record("a run without the CAR service must fail")
        } catch let error as RunFailure {
            #expect(error.exitCode == 2)
            #expect(error.message.contains("the CAR service URL (-car-service-url or CAR_SERVICE_URL)"), "\(error.message)")
        } catch {
            Issue.record("unexpected \(error)")
        }
        options.dryRun = true
        let dry = try RunConfiguration.resolve(options, definition: try definition())
        #expect(dry.parameters["url"]?.origin == .defaultValue && dry.parameters["url"]?.value == "http://127.0.0.1:8000")
        #expect(dry.car == nil)
    }
}
