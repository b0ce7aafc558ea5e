import CarDefinition
import ArgumentParser
import CarEngine
import Logging

extension LogFormat: ExpressibleByArgument {}
extension CARQueryOperators: ExpressibleByArgument {}

/// The CAR service settings, as the framework's deployments give them.
struct CARServiceOptions: ParsableArguments {
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
    var carQueryOperators: CARQueryOperators?

    func apply(to o: inout RunOptions) {
        o.carServiceURL = carServiceURL
        o.carServiceKey = carServiceKey
        o.carServicePassword = carServicePassword
        o.carServiceTokenURL = carServiceTokenURL
        o.carServiceToken = carServiceToken
        o.carServiceCABundle = carServiceCABundle
        o.carQueryOperators = carQueryOperators?.rawValue
    }
}

/// The framework's connection and export settings.
struct FrameworkOptions: ParsableArguments {
    @Option(name: both("source"), help: "The source (connection) name (CONNECTION_NAME).")
    var source: String?

    @Option(name: both("name"), help: "The connector name for logs (CONNECTOR_NAME).")
    var name: String?

    @Option(name: .customLong("version", withSingleDash: true), help: "The connector version for logs (CONNECTOR_VERSION).")
    var connectorVersion: String?

    @Option(name: both("export-data-dir"), help: "Where edges are spilled past the memory limit (EXPORT_DATA_DIR; default /tmp).")
    var exportDataDir: String?

    @Flag(name: both("keep-export-data-dir"), help: "Keep the spilled files.")
    var keepExportDataDir = false

    @Option(name: both("export-data-page-size"), help: "Objects per import envelope (EXPORT_DATA_PAGE_SIZE; default 2000).")
    var exportDataPageSize: Int?

    @Option(name: .customLong("state-dir"),
            help: "Where state kept between runs lives, per source: the dependency index (CAR_STATE_DIR; default <export-data-dir>/car-state). Put it on a persistent volume.")
    var stateDir: String?

    @Option(name: .customLong("dependency-index"),
            help: "on (default) or off: incremental imports derive again only the records that look up changed ones, found in an index kept in the state directory (CAR_DEPENDENCY_INDEX).")
    var dependencyIndex: String?

    @Option(name: .customLong("secrets-dir"),
            help: "A directory of secret files, one per variable, JWE with a key in .jwk/key.jwk (CAR_SECRETS_DIR; default /etc/secrets when it exists).")
    var secretsDir: String?

    @Flag(name: [.customShort("d"), .customLong("debug")], help: "Debug logging (also DEBUG=true).")
    var debug = false

    @Option(name: .customLong("log-format"), help: "json or text (default: text on a terminal, json otherwise).")
    var logFormat: LogFormat?

    func apply(to o: inout RunOptions) {
        o.source = source
        o.connectorName = name
        o.connectorVersion = connectorVersion
        o.exportDataDirectory = exportDataDir
        o.keepExportDataDirectory = keepExportDataDir
        o.pageSize = exportDataPageSize
        o.secretsDirectory = secretsDir
        o.stateDirectory = stateDir
        o.dependencyIndex = dependencyIndex
        o.debug = debug
        o.logFormat = logFormat
    }
}

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a connector: a full or incremental import into CAR, a dry run, or a connection test.",
        discussion: """
            Takes the flags and environment variables of car-connector-framework deployments, with one \
            dash or two (-version, the connector version, with one). Parameters of the definition come \
            from --param NAME=VALUE, from flags named after them (--url ..., -url ...), from \
            CONFIGURATION_AUTH_<NAME> / CONFIGURATION_PARAMETER_<NAME> / CONNECTION_<NAME> (by the parameter's \
            section), and from secret files (--secrets-dir, /etc/secrets). Exit codes: 0 success, 1 unexpected \
            error, 2 invalid parameter, 10 recoverable (also SIGTERM/SIGINT), 20 unrecoverable (model state \
            reset), 50-55 datasource failures.
            """)

    @Argument(help: "The definition file.")
    var definition: String

    @Flag(name: both("connection-test"), help: "Only test the datasource connection (also DATASOURCE_CONNECTION_TEST).")
    var connectionTest = false

    @Flag(name: .customLong("dry-run"), help: "Read the datasource and print what would be sent to CAR; contact no CAR service.")
    var dryRun = false

    @Flag(help: "Force a full import (--full), or an incremental one (--incremental, exit 10 when it is not possible).")
    var mode: ForcedMode?

    @Option(name: .customLong("since"), help: "With --dry-run --incremental: the saved model state to start from.")
    var since: String?

    @Option(name: .customLong("report-time"), help: "The report's time in epoch ms (makes dry runs reproducible).")
    var reportTime: Int64?

    @Option(name: .customLong("output"), help: "With --dry-run: write the output to this file.")
    var output: String?

    @Option(name: .customLong("summary"), help: "Write the run's summary (counts, requests, duration) to this file as JSON.")
    var summary: String?

    @Flag(name: .customLong("strict"), help: "Fail instead of skipping an invalid object.")
    var strict = false

    @OptionGroup(title: "CAR service")
    var car: CARServiceOptions

    @OptionGroup(title: "Framework")
    var framework: FrameworkOptions

    @Option(name: .customLong("param"), help: "A parameter value, NAME=VALUE (repeatable).")
    var params: [String] = []

    @Argument(parsing: .allUnrecognized, help: .hidden)
    var rest: [String] = []

    enum ForcedMode: String, EnumerableFlag {
        case full, incremental
    }

    /// Parameter values from --param and from flags named after the definition's parameters.
    var parameters: [String: String] = [:]

    enum CodingKeys: String, CodingKey {
        case definition, connectionTest, dryRun, mode, since, reportTime, output, summary, strict, car, framework, params, rest
    }

    /// Usage errors here are reported with this command's usage.
    mutating func validate() throws {
        parameters = try NameValue.parse(params, option: "--param")
        do {
            for (k, v) in try ParameterFlags.parse(rest, definitionPath: definition) { parameters[k] = v }
        } catch {
            throw ValidationError(error.description)
        }
    }

    func run() async throws {
        var options = RunOptions(definitionPath: definition)
        options.connectionTest = connectionTest
        options.dryRun = dryRun
        options.mode = mode.map { $0 == .full ? RunMode.full : .incremental } ?? .auto
        options.since = since
        options.reportTime = reportTime
        options.outputPath = output
        options.summaryPath = summary
        options.strict = strict
        car.apply(to: &options)
        framework.apply(to: &options)
        options.parameters = parameters
        options.environment = ProcessEnvironment.all()
        let interruption = RunInterruption()
        options.interruption = interruption
        let run = options
        let deadlineLog = Logger.framework(format: options.logFormat ?? (Console.isTerminal(2) ? .text : .json), redactor: Redactor())
        let outcome = await interruption.run({ await ConnectorRun.execute(run).exitCode }, onDeadline: { deadlineLog.error("\($0)", metadata: nil) })
        if outcome != 0 { throw ExitCode(outcome) }
    }
}

/// `NAME=VALUE` arguments.
enum NameValue {
    static func parse(_ list: [String], option: String) throws -> [String: String] {
        var out: [String: String] = [:]
        for p in list {
            guard let eq = p.firstIndex(of: "="), eq != p.startIndex else { throw ValidationError("\(option) takes NAME=VALUE, found '\(p)'") }
            out[String(p[..<eq])] = String(p[p.index(after: eq)...])
        }
        return out
    }
}
