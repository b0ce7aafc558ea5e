import ArgumentParser
import CarEngine
import CarSimulators
import MappingDSL

@main
struct Car: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "car",
        abstract: "Runs declarative connectors for the CAR asset graph of IBM Cloud Pak for Security.",
        version: CarEngineVersion.current,
        subcommands: [Demo.self, Validate.self, Package.self, Run.self, Map.self, Sim.self, Schema.self, Functions.self, Bench.self])

    /// Exit code 2 for usage errors, as the framework's deployments expect.
    static func main() async {
        ProcessTuning.limitMallocArenas()
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
        abstract: "Benchmarks.", subcommands: [BenchRun.self, BenchJSON.self])
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
        abstract: "The reference connector between the two simulators: a full import, changes, an incremental import, a check.",
        discussion: "Needs nothing but this repository (run it from the top folder); leaves nothing running.")

    @Option(help: "The size of the generated reference model.")
    var assets = 200

    @Option(help: "The generator's seed.")
    var seed: UInt64 = 7

    func run() async throws {
        let result = await DemoRun.run(assets: assets, seed: seed)
        Console.out(result.output)
        if result.exitCode != 0 { throw ExitCode(result.exitCode) }
    }
}

/// A long option that also answers to a single dash, as the framework's deployments spell it.
func both(_ name: String) -> NameSpecification {
    [.customLong(name), .customLong(name, withSingleDash: true)]
}

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a connector: a full or incremental import into CAR, a dry run, or a connection test.",
        discussion: """
            Takes the flags and environment variables of car-connector-framework deployments, with one \
            dash or two. Parameters of the definition come from --param NAME=VALUE, from flags named \
            after them (--url ..., -url ...), and from CONFIGURATION_AUTH_<NAME> / \
            CONFIGURATION_PARAMETER_<NAME>. Exit codes: 0 success, 1 unexpected error, 2 invalid \
            parameter, 10 recoverable, 20 unrecoverable (model state reset), 50-55 datasource failures.
            """)

    @Argument(help: "The definition file.")
    var definition: String

    @Flag(name: both("connection-test"), help: "Only test the datasource connection (also DATASOURCE_CONNECTION_TEST).")
    var connectionTest = false

    @Flag(name: .customLong("dry-run"), help: "Read the datasource and print what would be sent to CAR; contact no CAR service.")
    var dryRun = false

    @Flag(name: .customLong("full"), help: "Force a full import.")
    var full = false

    @Flag(name: .customLong("incremental"), help: "Force an incremental import (exit 10 when it is not possible).")
    var incremental = false

    @Option(name: .customLong("since"), help: "With --dry-run --incremental: the saved model state to start from.")
    var since: String?

    @Option(name: .customLong("report-time"), help: "The report's time in epoch ms (makes dry runs reproducible).")
    var reportTime: Int64?

    @Option(name: .customLong("output"), help: "With --dry-run: write the output to this file.")
    var output: String?

    @Flag(name: .customLong("strict"), help: "Fail instead of skipping an invalid object.")
    var strict = false

    @Option(name: both("car-service-url"), help: "The CAR service URL (CAR_SERVICE_URL).")
    var carServiceURL: String?

    @Option(name: both("car-service-key"), help: "The CAR service key (CAR_SERVICE_KEY).")
    var carServiceKey: String?

    @Option(name: both("car-service-password"), help: "The CAR service password (CAR_SERVICE_PASSWORD).")
    var carServicePassword: String?

    @Option(name: both("car-service-url-for-token"), help: "The CAR service URL for token auth (CAR_SERVICE_URL_FOR_AUTHTOKEN).")
    var carServiceTokenURL: String?

    @Option(name: both("car-service-token"), help: "The CAR service token (CAR_SERVICE_AUTHTOKEN).")
    var carServiceToken: String?

    @Option(name: both("car-service-ca-bundle"), help: "A PEM file of CAs for the CAR service (CAR_SERVICE_CA_BUNDLE).")
    var carServiceCABundle: String?

    @Option(name: both("car-query-operators"),
            help: "GraphQL operators for reading back from CAR: auto (_in batches, falling back when CAR rejects them) or confirmed (_and, _eq, _lte only) (CAR_QUERY_OPERATORS).")
    var carQueryOperators: String?

    @Option(name: both("source"), help: "The source (connection) name (CONNECTION_NAME).")
    var source: String?

    @Option(name: both("name"), help: "The connector name for logs (CONNECTOR_NAME).")
    var name: String?

    @Option(name: both("version"), help: "The connector version for logs (CONNECTOR_VERSION).")
    var connectorVersion: String?

    @Option(name: both("export-data-dir"), help: "Where edges are spilled past the memory limit (default /tmp).")
    var exportDataDir: String?

    @Flag(name: both("keep-export-data-dir"), help: "Keep the spilled files.")
    var keepExportDataDir = false

    @Option(name: both("export-data-page-size"), help: "Objects per import envelope (default 2000).")
    var exportDataPageSize: Int?

    @Option(name: .customLong("secrets-dir"), help: "A directory of secret files, one per variable, JWE with a key in .jwk/key.jwk (CAR_SECRETS_DIR; default /etc/secrets when it exists).")
    var secretsDir: String?

    @Flag(name: [.customShort("d"), .customLong("debug")], help: "Debug logging (also DEBUG=true).")
    var debug = false

    @Option(name: .customLong("log-format"), help: "json or text (default: text on a terminal, json otherwise).")
    var logFormat: String?

    @Option(name: .customLong("param"), help: "A parameter value, NAME=VALUE (repeatable).")
    var params: [String] = []

    @Argument(parsing: .allUnrecognized, help: .hidden)
    var rest: [String] = []

    func run() async throws {
        var options = RunOptions(definitionPath: definition)
        options.connectionTest = connectionTest
        options.dryRun = dryRun
        if full && incremental { throw ValidationError("--full and --incremental cannot be used together") }
        options.mode = full ? .full : incremental ? .incremental : .auto
        options.since = since
        options.reportTime = reportTime
        options.outputPath = output
        options.strict = strict
        options.debug = debug
        options.carServiceURL = carServiceURL
        options.carServiceKey = carServiceKey
        options.carServicePassword = carServicePassword
        options.carServiceTokenURL = carServiceTokenURL
        options.carServiceToken = carServiceToken
        options.carServiceCABundle = carServiceCABundle
        options.carQueryOperators = carQueryOperators
        options.source = source
        options.connectorName = name
        options.connectorVersion = connectorVersion
        options.exportDataDirectory = exportDataDir
        options.keepExportDataDirectory = keepExportDataDir
        options.pageSize = exportDataPageSize
        options.secretsDirectory = secretsDir
        if let logFormat {
            guard let f = Logger.Format(rawValue: logFormat) else { throw ValidationError("--log-format must be json or text") }
            options.logFormat = f
        }
        for p in params {
            guard let eq = p.firstIndex(of: "=") else { throw ValidationError("--param takes NAME=VALUE, found '\(p)'") }
            options.parameters[String(p[..<eq])] = String(p[p.index(after: eq)...])
        }
        // Flags named after the definition's parameters.
        let names = ParameterFlags.names(definitionPath: definition)
        do {
            for (k, v) in try ParameterFlags.parse(rest, parameters: names) { options.parameters[k] = v }
        } catch {
            throw ValidationError(error.description)
        }
        options.environment = ProcessEnvironment.all()
        let interruption = RunInterruption()
        options.interruption = interruption
        let run = options
        let deadlineLog = Logger(format: options.logFormat ?? (Console.isTerminal(2) ? .text : .json), redactor: Redactor()) { Console.err($0 + "\n") }
        let code = await interruption.run({ await RunCommand.execute(run) }, onDeadline: { deadlineLog.error($0) })
        if code != 0 { throw ExitCode(code) }
    }
}

struct Sim: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Start a simulator on 127.0.0.1: the CAR service, or the reference datasource.",
        subcommands: [SimCAR.self, SimReference.self, SimEdit.self])
}

struct SimCAR: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "car",
        abstract: "A CAR service on 127.0.0.1: the calls of the CAR API, a graph per source, faults on demand.",
        discussion: """
            Give car -car-service-url http://127.0.0.1:PORT/api/car/v2 with -car-service-key and \
            -car-service-password (or -car-service-token). Admin routes, without auth: GET /admin/graph \
            (the whole graph), GET /admin/calls, POST /admin/faults, POST /admin/reset. Faults, as JSON \
            for --faults or POST /admin/faults: {"fail": [{"method": "POST", "path": "imports", \
            "status": 500, "count": 1}], "delay_ms": 0, "drop": 1, "incomplete_polls": 2, \
            "fail_import_jobs": {"status_code": 500, "count": 1}, "no_database": true, "clear": true}.
            """)

    @Option(help: "The port (0: any free port).")
    var port: UInt16 = 8088

    @Option(help: "Keep the graph in this directory, across restarts.")
    var data: String?

    @Option(help: "The service key for Basic auth.")
    var key = "car-key"

    @Option(help: "The service password for Basic auth.")
    var password = "car-password"

    @Option(help: "The token for car-token auth.")
    var token = "car-token-value"

    @Option(name: .customLong("import-schema"), help: "A JSON file with the import schema to validate against (default: car's catalogue).")
    var importSchema: String?

    @Flag(name: .customLong("database-ready"), help: "Start with a ready database (default: none, as a fresh instance).")
    var databaseReady = false

    @Option(help: "Faults to start with, as JSON.")
    var faults: String?

    @Option(name: .customLong("graphql-ops"),
            help: "The GraphQL operators read-back may use, comma-separated (default: all it implements); others get 400 with a GraphQL error. CAR's confirmed ones: _and,_eq,_lte.")
    var graphqlOps: String?

    func run() async throws {
        var options = CARSimulatorOptions()
        if let graphqlOps {
            let ops = Set(graphqlOps.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
            let unknown = ops.subtracting(CARSimulatorOptions.implementedOperators)
            if !unknown.isEmpty {
                throw ValidationError("--graphql-ops: unknown operator \(unknown.sorted().joined(separator: ", ")); known: \(CARSimulatorOptions.implementedOperators.sorted().joined(separator: ","))")
            }
            options.graphqlOperators = ops
        }
        options.port = port
        options.dataDirectory = data
        options.key = key
        options.password = password
        options.token = token
        options.databaseReady = databaseReady
        if let importSchema {
            let doc = try JSONParser.parse(try FileIO.read(importSchema))
            options.importSchema = doc["schema"] ?? doc
        }
        let simulator = try CARSimulator(options: options)
        if let faults { simulator.setFaults(try JSONParser.parse(faults)) }
        Console.out("CAR simulator on \(simulator.baseURL) (admin: \(simulator.adminURL)/graph); stop with Ctrl-C\n")
        while true { try await Task.sleep(for: .seconds(3600)) }
    }
}

struct SimReference: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reference",
        abstract: "The reference datasource on 127.0.0.1, with a generated model.",
        discussion: """
            Routes as the original server: /assets/, /sites/, ... with Basic auth, /model_state_id/, \
            /delta/?from=&to=. Change records with 'car sim edit' or the admin API under /_admin/.
            """)

    @Option(help: "The port (0: any free port).")
    var port: UInt16 = 8000

    @Option(help: "Assets in the generated model.")
    var assets = 100

    @Option(help: "The generator's seed.")
    var seed: UInt64 = 1

    @Option(help: "The user name.")
    var username = "admin"

    @Option(help: "The password.")
    var password = "admin"

    func run() async throws {
        let simulator = try ReferenceSimulator(port: port, assets: assets, seed: seed, username: username, password: password)
        Console.out("reference datasource on \(simulator.baseURL) (\(assets) assets, model state \(simulator.modelStateID)); stop with Ctrl-C\n")
        while true { try await Task.sleep(for: .seconds(3600)) }
    }
}

struct SimEdit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "edit",
        abstract: "Change records of a running reference datasource simulator (logged in its change log).",
        discussion: """
            car sim edit URL create assets '{"name": "web-9", "site": 2, "vulnerabilities": [1, 3]}'
            car sim edit URL update assets 9 '{"name": "web-09"}'
            car sim edit URL delete assets 9
            car sim edit URL link assets 9 vulnerabilities '{"add": [4], "remove": [1]}'
            """)

    @Argument(help: "The simulator's base URL.")
    var url: String

    @Argument(help: "create, update, delete or link.")
    var action: String

    @Argument(help: "The route (assets, sites, ...), then a pk, a field and JSON as the action needs.")
    var arguments: [String]

    func run() async throws {
        let request: HTTPRequest
        let base = url.hasSuffix("/") ? String(url.dropLast()) : url
        switch (action, arguments.count) {
        case ("create", 2):
            request = HTTPRequest(method: "POST", url: "\(base)/_admin/\(arguments[0])/", body: Array(arguments[1].utf8))
        case ("update", 3):
            request = HTTPRequest(method: "PATCH", url: "\(base)/_admin/\(arguments[0])/\(arguments[1])/", body: Array(arguments[2].utf8))
        case ("delete", 2):
            request = HTTPRequest(method: "DELETE", url: "\(base)/_admin/\(arguments[0])/\(arguments[1])/")
        case ("link", 4):
            request = HTTPRequest(method: "POST", url: "\(base)/_admin/\(arguments[0])/\(arguments[1])/\(arguments[2])/", body: Array(arguments[3].utf8))
        default:
            throw ValidationError("usage: create ROUTE JSON | update ROUTE PK JSON | delete ROUTE PK | link ROUTE PK FIELD JSON")
        }
        let response: HTTPResponse
        do {
            response = try await CurlTransport().send(request)
        } catch {
            throw ValidationError("\(url): \(error.message)")
        }
        Console.out(String(decoding: response.body, as: UTF8.self) + "\n")
        if !(200..<300).contains(response.status) { throw ExitCode(1) }
    }
}

struct BenchRun: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Full and incremental imports against the simulators at 1k, 10k and 100k assets; figures per run.",
        discussion: "Build with -c release first. --quick runs 200 assets only (the CI smoke test).")

    @Flag(help: "A quick run at 200 assets.")
    var quick = false

    @Option(help: "Comma-separated model sizes (assets).")
    var sizes = "1000,10000,100000"

    @Option(help: "The definition.")
    var definition = "connectors/reference.yaml"

    func run() async throws {
        let list = quick ? [200] : sizes.split(separator: ",").compactMap { Int($0) }
        let report = try await Benchmark.run(sizes: list, definition: definition)
        Console.out(report.text)
        if !report.failures.isEmpty { throw ExitCode(1) }
    }
}
