import CarDefinition
import CarEngine
import Foundation
import Testing

/// Runs the built `car` executable (built by `swift build --build-tests`, as CI does).
enum CarBinary {
    static let path = Repo.root + "/.build/debug/car"
    static var exists: Bool { FileManager.default.isExecutableFile(atPath: path) }

    static func run(_ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: Repo.root)
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
    }
}

@Suite("The car command line", .enabled(if: CarBinary.exists, "the car executable is not built"))
struct CommandLineTests {
    @Test func validateExitCodes() throws {
        #expect(try CarBinary.run(["validate", "connectors/reference.yaml"]).status == 0)
        let invalid = try CarBinary.run(["validate", "Tests/CarEngineTests/Fixtures/invalid/wrong-arity.yaml"])
        #expect(invalid.status == 1)
        #expect(invalid.stdout.hasPrefix("Tests/CarEngineTests/Fixtures/invalid/wrong-arity.yaml:22:13: error: 'join' takes 2 arguments"))
    }

    @Test(arguments: [["validate"], ["validate", "--format", "xml", "x.yaml"], ["validate", "--bogus", "x.yaml"], ["no-such-command"]])
    func usageErrorsExitWithTwo(arguments: [String]) throws {
        let result = try CarBinary.run(arguments)
        #expect(result.status == 2)
        #expect(result.stderr.hasPrefix("Error: "))
    }

    @Test func mapPrintsOneEnvelopePerLineWhenNotOnATerminal() throws {
        let result = try CarBinary.run([
            "map", "connectors/reference.yaml", "--records", "examples/reference/records.json", "--report-time", "1732838400000",
        ])
        #expect(result.status == 0)
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.count == 2)
        #expect(lines.allSatisfy { $0.hasPrefix("{\"source\":{\"_key\":\"local\"") })
        #expect(result.stderr.hasSuffix("2 envelopes\n"))
    }

    @Test func connectionTestWithTheFrameworksFlagAndEnvironment() throws {
        let server = try referenceAuthServer()
        defer { server.stop() }
        let ok = try CarBinary.run(["run", "connectors/reference.yaml", "-connection-test"],
                                   environment: ["CONFIGURATION_AUTH_URL": server.baseURL, "CONFIGURATION_AUTH_PASSWORD": "admin"])
        #expect(ok.status == 0)
        #expect(ok.stderr.contains("\"message\":\"connection test passed: the datasource answered\""))
        let wrong = try CarBinary.run(["run", "connectors/reference.yaml", "--connection-test", "--param", "password=hunter22"],
                                      environment: ["CONFIGURATION_AUTH_URL": server.baseURL])
        #expect(wrong.status == 53)
        #expect(!wrong.stderr.contains("hunter22"))
        let viaEnvironment = try CarBinary.run(["run", "connectors/reference.yaml"],
                                               environment: ["CONFIGURATION_AUTH_URL": server.baseURL, "CONFIGURATION_AUTH_PASSWORD": "admin",
                                                             "DATASOURCE_CONNECTION_TEST": "true"])
        #expect(viaEnvironment.status == 0)
    }

    @Test func theFrameworksVersionFlagNamesTheConnectorVersion() throws {
        let server = try referenceAuthServer()
        defer { server.stop() }
        let run = try CarBinary.run(["run", "connectors/reference.yaml", "-connection-test", "-version", "1.2.3"],
                                    environment: ["CONFIGURATION_AUTH_URL": server.baseURL, "CONFIGURATION_AUTH_PASSWORD": "admin"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("\"version\":\"1.2.3\""), "\(run.stderr)")
        // car's own version is still car --version.
        let own = try CarBinary.run(["--version"])
        #expect(own.status == 0 && own.stdout.hasPrefix(CarEngineVersion.current))
    }

    @Test func anUnknownParameterIsAUsageErrorWithADidYouMean() throws {
        let result = try CarBinary.run(["run", "connectors/reference.yaml", "--dry-run", "--param", "pasword=x"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("unknown parameter 'pasword' (--param pasword=...) (did you mean 'password'?)"), "\(result.stderr)")
        let flag = try CarBinary.run(["run", "connectors/reference.yaml", "--dry-run", "--pasword", "x"])
        #expect(flag.status == 2)
        #expect(flag.stderr.contains("unknown option '--pasword' (did you mean 'password'?)") && flag.stderr.contains("Usage: car run"), "\(flag.stderr)")
    }

    @Test func configurationVariablesThatNameNoParameterAreAWarning() throws {
        let server = try referenceAuthServer()
        defer { server.stop() }
        let run = try CarBinary.run(["run", "connectors/reference.yaml", "-connection-test"],
                                    environment: ["CONFIGURATION_AUTH_URL": server.baseURL, "CONFIGURATION_AUTH_PASSWORD": "admin",
                                                  "CONFIGURATION_AUTH_USERNAM": "admin"])
        #expect(run.status == 0)
        #expect(run.stderr.contains("CONFIGURATION_AUTH_USERNAM names no parameter of the reference connector (did you mean 'CONFIGURATION_AUTH_USERNAME'?)"),
                "\(run.stderr)")
    }
}
