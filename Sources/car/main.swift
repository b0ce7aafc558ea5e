import ArgumentParser
import CarEngine
import MappingDSL

@main
struct Car: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "car",
        abstract: "Runs declarative connectors for the CAR asset graph of IBM Cloud Pak for Security.",
        version: CarEngineVersion.current,
        subcommands: [Demo.self, Validate.self, Run.self, Map.self, Schema.self, Functions.self, Bench.self])

    /// Exit code 2 for usage errors, as the framework's deployments expect.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var async = command as? AsyncParsableCommand {
                try await async.run()
            } else {
                try command.run()
            }
        } catch {
            let code = exitCode(for: error)
            if code == .validationFailure {
                Console.err(fullMessage(for: error) + "\n")
                Console.exitProcess(2)
            }
            exit(withError: error)
        }
    }
}

struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check connector definitions; every problem is reported as file:line:col.",
        discussion: "Exit status: 0 when every file is valid (warnings allowed), 1 when any has an error, 2 on usage errors.")

    @Option(name: .long, help: "Output format: text or json.")
    var format: String = "text"

    @Argument(help: "Definition files.")
    var files: [String]

    func validate() throws {
        guard ValidateCommand.Format(rawValue: format) != nil else {
            throw ValidationError("--format must be text or json")
        }
        if files.isEmpty { throw ValidationError("name at least one definition file") }
    }

    func run() throws {
        let (output, code) = ValidateCommand.run(paths: files, format: ValidateCommand.Format(rawValue: format) ?? .text)
        FileHandleOutput.standardOutput(output, terminator: "")
        if code != 0 { throw ExitCode(code) }
    }
}

struct Schema: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the JSON Schema of the definition format.")

    func run() {
        FileHandleOutput.standardOutput(DefinitionSchema.text, terminator: "")
    }
}

struct Functions: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the reference of the expression language's functions (Markdown).")

    func run() {
        FileHandleOutput.standardOutput(FunctionReference.markdown, terminator: "")
    }
}

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmarks.", subcommands: [BenchJSON.self])
}

struct BenchJSON: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "json", abstract: "JSON parse and serialize throughput beside Foundation's JSONSerialization.")

    @Option(help: "Size of the generated input in MB.")
    var size: Int = 50

    @Option(name: .customLong("repeat"), help: "Repetitions; the best run counts.")
    var repetitions: Int = 3

    func run() throws {
        FileHandleOutput.standardOutput(try JSONBenchmark.run(megabytes: size, repetitions: max(1, repetitions)))
    }
}

enum FileHandleOutput {
    static func standardOutput(_ text: String, terminator: String = "\n") {
        Console.out(text + terminator)
    }
}

struct Map: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Map records from a JSON file with a definition and print the CAR import envelopes a full import would send.",
        discussion: """
            The records file is a JSON object of endpoint names to lists of records, as the datasource \
            would answer them. Lookups are served from these records. Envelopes go to standard output, \
            one per line (pretty on a terminal); the summary and skipped records go to standard error.
            """)

    @Argument(help: "The definition file.")
    var definition: String

    @Option(help: "The records file.")
    var records: String

    @Option(help: "The source (connection) name.")
    var source: String = "local"

    @Option(name: .customLong("report-time"), help: "The report time in epoch milliseconds (default: now).")
    var reportTime: Int64?

    @Option(name: .customLong("page-size"), help: "Objects per envelope.")
    var pageSize: Int = 2000

    @Option(name: .customLong("param"), help: "A parameter value, NAME=VALUE (repeatable).")
    var params: [String] = []

    @Flag(help: "Pretty-print envelopes (the default on a terminal).")
    var pretty = false

    func run() async throws {
        var options = MapCommand.Options(definitionPath: definition, recordsPath: records, reportTime: reportTime ?? Clock.nowMs())
        options.source = source
        options.pageSize = pageSize
        options.pretty = pretty || Console.isTerminal(1)
        for p in params {
            guard let eq = p.firstIndex(of: "=") else { throw ValidationError("--param takes NAME=VALUE, found '\(p)'") }
            options.parameters[String(p[..<eq])] = String(p[p.index(after: eq)...])
        }
        let output = await MapCommand.run(options)
        for e in output.envelopes { Console.out(e + "\n") }
        for m in output.messages { Console.err(m + "\n") }
        if output.exitCode != 0 { throw ExitCode(output.exitCode) }
    }
}

struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show what car does, with nothing to configure (run from the repository's top folder).")

    func run() async throws {
        let (output, code) = await DemoCommand.run()
        Console.out(output)
        if code != 0 { throw ExitCode(code) }
    }
}

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a connector. Takes the flags and environment variables of car-connector-framework deployments.",
        discussion: """
            Parameters come from --param NAME=VALUE and from CONFIGURATION_AUTH_<NAME> / \
            CONFIGURATION_PARAMETER_<NAME>. -connection-test (or DATASOURCE_CONNECTION_TEST=true) \
            only tests the datasource connection and exits 0 or with the failure's code (50-55).
            """)

    @Argument(help: "The definition file.")
    var definition: String

    @Flag(name: [.customLong("connection-test"), .customLong("connection-test", withSingleDash: true)],
          help: "Only test the datasource connection.")
    var connectionTest = false

    @Flag(name: [.customShort("d"), .customLong("debug")], help: "Debug logging (also DEBUG=true).")
    var debug = false

    @Option(name: .customLong("log-format"), help: "json or text (default: text on a terminal, json otherwise).")
    var logFormat: String?

    @Option(name: .customLong("param"), help: "A parameter value, NAME=VALUE (repeatable).")
    var params: [String] = []

    func run() async throws {
        var options = RunOptions(definitionPath: definition)
        options.connectionTest = connectionTest
        options.debug = debug
        if let logFormat {
            guard let f = Logger.Format(rawValue: logFormat) else { throw ValidationError("--log-format must be json or text") }
            options.logFormat = f
        }
        for p in params {
            guard let eq = p.firstIndex(of: "=") else { throw ValidationError("--param takes NAME=VALUE, found '\(p)'") }
            options.parameters[String(p[..<eq])] = String(p[p.index(after: eq)...])
        }
        options.environment = ProcessEnvironment.all()
        let code = await RunCommand.execute(options)
        if code != 0 { throw ExitCode(code) }
    }
}
