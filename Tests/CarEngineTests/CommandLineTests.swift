import CarDefinition
import CarEngine
import Foundation
import LoopbackHTTP
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

    /// IBM's deployments: one dash, IBM's flag names (`-auth_token`), capitals (`-selfSignedCert`),
    /// `-password` (which argument-parser alone reads as -p -a -s ...), and IBM's variables.
    @Test func parametersTakeIBMsFlagsAndVariables() throws {
        let server = try HTTPServer { (request: HTTPServerRequest) -> HTTPServerResponse in
            let authorized = request.header("Authorization") == "SSWS tok-1234"
            let flags = request.header("X-Self-Signed") == "true" && request.header("X-Pass") == "-pw-5678"
            return authorized && flags ? HTTPServerResponse.json("[]") : HTTPServerResponse.json("{}", status: 401)
        }
        defer { server.stop() }
        let path = Repo.temporaryPath("ibm-flags.yaml")
        try FileIO.write(Array("""
            format: 1
            connector: {name: flags, version: 1.0.0}
            parameters:
              host: {type: text, section: connection}
              token: {type: password, section: auth, flag: auth_token, env: CONFIGURATION_AUTH_TOKEN}
              selfSignedCert: {type: boolean, section: connection, form: text, default: false}
              password: {type: password, section: auth}
            datasource:
              base_url: http://${host}
              headers: {Authorization: "SSWS ${token}", X-Self-Signed: "${selfSignedCert}", X-Pass: "${password}"}
              connection_test: hosts
            endpoints:
              hosts: {path: /hosts}
            """.utf8), to: path)
        let host = "127.0.0.1:\(server.port)"
        let flags = try CarBinary.run(["run", path, "-connection-test", "-host", host, "-auth_token", "tok-1234", "-selfSignedCert", "true", "-password", "-pw-5678"])
        #expect(flags.status == 0, "\(flags.stderr)")
        let variables = try CarBinary.run(["run", path, "-connection-test"], environment: [
            "CONNECTION_HOST": host, "CONFIGURATION_AUTH_TOKEN": "tok-1234", "CONNECTION_SELFSIGNEDCERT": "true", "CONFIGURATION_AUTH_PASSWORD": "-pw-5678",
        ])
        #expect(variables.status == 0, "\(variables.stderr)")
        let missing = try CarBinary.run(["run", path, "-connection-test", "-host", host, "-password", "x"])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("missing parameter: 'token' (-auth_token VALUE or CONFIGURATION_AUTH_TOKEN)"), "\(missing.stderr)")
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
