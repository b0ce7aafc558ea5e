import CarDefinition
/// How a run chooses between a full and an incremental import.
public enum RunMode: String, Sendable, CaseIterable {
    /// As the framework does: incremental when possible, else full.
    case auto
    case full
    case incremental
}

/// The kind of import a run made.
public enum ImportKind: String, Sendable, Codable {
    case full, incremental
}

/// What `car run` was given, before anything is resolved: the values of its flags (nil when a
/// flag was not given), the process environment, and where secret files are. One
/// `RunConfiguration` is resolved from it (command line, then environment, then secret files,
/// then defaults).
public struct RunOptions: Sendable {
    public var definitionPath: String
    public var connectionTest = false
    public var dryRun = false
    public var mode = RunMode.auto
    /// The saved model state to start an incremental dry run from.
    public var since: String?
    public var reportTime: Int64?
    public var outputPath: String?
    /// Where the run's summary is written as JSON (`--summary FILE`).
    public var summaryPath: String?
    public var pretty: Bool?
    public var strict = false
    public var debug = false
    public var logFormat: LogFormat?
    public var carServiceURL: String?
    public var carServiceKey: String?
    public var carServicePassword: String?
    public var carServiceTokenURL: String?
    public var carServiceToken: String?
    public var carServiceCABundle: String?
    /// The GraphQL operators read-back uses (`--car-query-operators`, `CAR_QUERY_OPERATORS`).
    public var carQueryOperators: String?
    public var source: String?
    public var connectorName: String?
    public var connectorVersion: String?
    public var exportDataDirectory: String?
    /// Where state kept between runs lives (`--state-dir`, `CAR_STATE_DIR`; default
    /// `<export-data-dir>/car-state`).
    public var stateDirectory: String?
    /// `on` or `off` (`--dependency-index`, `CAR_DEPENDENCY_INDEX`; default on).
    public var dependencyIndex: String?
    public var keepExportDataDirectory = false
    public var pageSize: Int?
    /// Where secret files are (default /etc/secrets when it exists).
    public var secretsDirectory: String?
    /// `--param NAME=VALUE` and flags named after the definition's parameters.
    public var parameters: [String: String] = [:]
    /// The process environment.
    public var environment: [String: String] = [:]
    /// Edges held in memory before they are spilled (for tests).
    public var edgeMemoryLimit = 50_000
    /// CAR polling and retry delays (for tests: the framework's are 1 s).
    public var carDelayMs: Int64 = 1000
    /// The longest wait for CAR jobs to complete (default 1 hour; for tests).
    public var carJobWaitMs: Int64?
    /// Signals that stop the run (SIGTERM, SIGINT).
    public var interruption: RunInterruption?
    /// How often a progress line is logged off a terminal (on one, a live line is redrawn).
    public var progressIntervalMs: Int64 = 10_000

    public init(definitionPath: String) {
        self.definitionPath = definitionPath
    }
}
