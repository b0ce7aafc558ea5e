import CarDefinition
import MappingDSL

/// What a run does.
public enum RunAction: Sendable, Equatable {
    /// An import into CAR.
    case importData(RunMode)
    /// Read the datasource and print what would be sent (`since`: the saved model state of an
    /// incremental dry run).
    case dryRun(RunMode, since: String?)
    /// Only test the datasource connection.
    case connectionTest
}

/// Everything a run needs, resolved once from the ordered sources (command line, environment,
/// secret files, defaults): each value knows where it came from and whether it is secret.
public struct RunConfiguration: Sendable {
    public var definition: ConnectorDefinition
    public var action: RunAction
    public var source: Setting<String>?
    public var connectorName: String
    public var connectorVersion: String
    /// The CAR service (nil for a dry run and a connection test).
    public var car: CARConnection?
    /// Parameter values, typed, with their origins.
    public var parameters: [String: Setting<JSON>]
    /// Every secret value, for the redactor.
    public var secrets: [String]
    /// Things worth saying that do not stop the run.
    public var warnings: [String]
    public var settings: RunSettings
    public var debug: Bool
    public var logFormat: LogFormat?
    /// Dry runs: pretty-printed output, and the file it goes to.
    public var pretty: Bool?
    public var outputPath: String?
    public var summaryPath: String?
    public var progressIntervalMs: Int64 = 10_000

    /// Parameter values and the run's own values (`source`, `run_start_ms`, ...), as templates
    /// and expressions see them.
    public var values: [String: JSON] {
        var out = parameters.mapValues(\.value)
        out[RunVariable.runStartMs.rawValue] = .int(settings.reportTime)
        out[RunVariable.runStartISO.rawValue] = .string(ISO8601.format(settings.reportTime))
        out[RunVariable.source.rawValue] = .string(source?.value ?? definition.connector.name)
        return out
    }
}

/// The run's own variables, beside the parameters.
public enum RunVariable: String, Sendable, CaseIterable {
    case source
    case runStartMs = "run_start_ms"
    case runStartISO = "run_start_iso"
    case lastState = "last_state"
    case newState = "new_state"
    case lastRunMs = "last_run_ms"
    case lastRunISO = "last_run_iso"
}

/// The configuration keys of `car run`, with the framework's flag for each.
enum RunKey: String, CaseIterable {
    case carServiceURL = "car.service.url"
    case carServiceKey = "car.service.key"
    case carServicePassword = "car.service.password"
    case carServiceTokenURL = "car.service.url.for.authtoken"
    case carServiceToken = "car.service.authtoken"
    case carServiceCABundle = "car.service.ca.bundle"
    case carQueryOperators = "car.query.operators"
    case source = "connection.name"
    case connectorName = "connector.name"
    case connectorVersion = "connector.version"
    case debug = "debug"
    case connectionTest = "datasource.connection.test"
    case exportDataDirectory = "export.data.dir"
    case exportDataPageSize = "export.data.page.size"
    case stateDirectory = "car.state.dir"
    case dependencyIndex = "car.dependency.index"

    var flag: String {
        switch self {
        case .carServiceURL: return "-car-service-url"
        case .carServiceKey: return "-car-service-key"
        case .carServicePassword: return "-car-service-password"
        case .carServiceTokenURL: return "-car-service-url-for-token"
        case .carServiceToken: return "-car-service-token"
        case .carServiceCABundle: return "-car-service-ca-bundle"
        case .carQueryOperators: return "--car-query-operators"
        case .source: return "-source"
        case .connectorName: return "-name"
        case .connectorVersion: return "-version"
        case .debug: return "-d"
        case .connectionTest: return "-connection-test"
        case .exportDataDirectory: return "-export-data-dir"
        case .exportDataPageSize: return "-export-data-page-size"
        case .stateDirectory: return "--state-dir"
        case .dependencyIndex: return "--dependency-index"
        }
    }

    var isSecret: Bool { self == .carServicePassword || self == .carServiceToken }

    /// "-car-service-url or CAR_SERVICE_URL".
    var names: String { "\(flag) or \(ConfigurationSources.environmentName(rawValue))" }
}

extension RunConfiguration {
    /// Resolves a run's configuration. Fails (exit 2) on a missing or invalid setting; unknown
    /// `--param` names fail with a did-you-mean, unknown `CONFIGURATION_*` variables warn.
    public static func resolve(_ options: RunOptions, definition: ConnectorDefinition) throws(RunFailure) -> RunConfiguration {
        let directory = options.secretsDirectory ?? options.environment["CAR_SECRETS_DIR"].flatMap { $0.isEmpty ? nil : $0 }
            ?? (DirectoryListing.exists("/etc/secrets") ? "/etc/secrets" : nil)
        let files = try directory.map { d throws(RunFailure) in try SecretFiles.read(d) } ?? [:]
        var given: [String: (value: String, flag: String)] = [:]
        func put(_ key: RunKey, _ value: String?) { if let value, !value.isEmpty { given[key.rawValue] = (value, key.flag) } }
        put(.carServiceURL, options.carServiceURL)
        put(.carServiceKey, options.carServiceKey)
        put(.carServicePassword, options.carServicePassword)
        put(.carServiceTokenURL, options.carServiceTokenURL)
        put(.carServiceToken, options.carServiceToken)
        put(.carServiceCABundle, options.carServiceCABundle)
        put(.carQueryOperators, options.carQueryOperators)
        put(.source, options.source)
        put(.connectorName, options.connectorName)
        put(.connectorVersion, options.connectorVersion)
        put(.exportDataDirectory, options.exportDataDirectory)
        put(.exportDataPageSize, options.pageSize.map(String.init))
        put(.stateDirectory, options.stateDirectory)
        put(.dependencyIndex, options.dependencyIndex)
        let names = Set(definition.parameters.map(\.name))
        for (name, value) in options.parameters {
            guard names.contains(name) else {
                throw RunFailure(.invalidParameter, "unknown parameter '\(name)' (--param \(name)=...)\(Suggest.hint(for: name, in: names))")
            }
            for key in ParameterKeys.keys(definition.parameters.first { $0.name == name }) { given[key] = (value, "--param \(name)") }
        }
        var secretKeys = Set(RunKey.allCases.filter(\.isSecret).map(\.rawValue))
        for p in definition.parameters where p.secret { secretKeys.formUnion(ParameterKeys.keys(p)) }
        let sources = ConfigurationSources(
            commandLine: given, environment: options.environment, secretFiles: files, secretsDirectory: directory,
            knownKeys: RunKey.allCases.map(\.rawValue) + definition.parameters.flatMap(ParameterKeys.keys), secretKeys: secretKeys)
        var configuration = try resolve(options, definition: definition, sources: sources)
        configuration.secrets += files.values
        configuration.warnings += ParameterKeys.unknownVariables(options.environment, definition: definition)
        return configuration
    }

    static func resolve(_ options: RunOptions, definition: ConnectorDefinition, sources: ConfigurationSources) throws(RunFailure) -> RunConfiguration {
        let parameters = try ParameterKeys.resolve(definition, sources)
        let source = sources.string(RunKey.source.rawValue)
        let now = options.reportTime ?? WallClock.nowMs()
        var settings = RunSettings(source: source?.value ?? "dry-run", reportTime: now)
        if let size = sources.string(RunKey.exportDataPageSize.rawValue) {
            guard let n = Int(size.value), n > 0 else {
                throw RunFailure(.invalidParameter, "the export page size '\(size.value)' from \(size.origin) is not a positive whole number")
            }
            settings.pageSize = n
        }
        settings.strict = options.strict
        settings.edgeMemoryLimit = options.edgeMemoryLimit
        settings.exportDirectory = sources.string(RunKey.exportDataDirectory.rawValue)?.value ?? "/tmp"
        settings.keepExportDirectory = options.keepExportDataDirectory
        // The state kept between runs (the dependency index), per source.
        let stateRoot = sources.string(RunKey.stateDirectory.rawValue)?.value ?? settings.exportDirectory + "/car-state"
        settings.stateDirectory = stateRoot + "/" + StateDirectory.component(source?.value ?? "dry-run")
        if let index = sources.string(RunKey.dependencyIndex.rawValue) {
            switch index.value.lowercased() {
            case "on", "true", "1": settings.dependencyIndex = true
            case "off", "false", "0": settings.dependencyIndex = false
            default: throw RunFailure(.invalidParameter, "the dependency index setting '\(index.value)' from \(index.origin) is on or off")
            }
        }
        settings.interruption = options.interruption
        settings.progress = RunProgress()
        settings.environmentCA = EnvironmentCA.from(options.environment)
        let connectionTest = options.connectionTest || Truthy.parse(sources.string(RunKey.connectionTest.rawValue)?.value)
        let action: RunAction = connectionTest ? .connectionTest : options.dryRun ? .dryRun(options.mode, since: options.since) : .importData(options.mode)
        var configuration = RunConfiguration(
            definition: definition, action: action, source: source,
            connectorName: sources.string(RunKey.connectorName.rawValue)?.value ?? definition.connector.name,
            connectorVersion: sources.string(RunKey.connectorVersion.rawValue)?.value ?? definition.connector.version,
            car: nil, parameters: parameters, secrets: parameters.values.filter(\.isSecret).compactMap { $0.value.stringValue }, warnings: [],
            settings: settings, debug: options.debug || Truthy.parse(sources.string(RunKey.debug.rawValue)?.value), logFormat: options.logFormat,
            pretty: options.pretty, outputPath: options.outputPath, summaryPath: options.summaryPath, progressIntervalMs: options.progressIntervalMs)
        if case .importData = action {
            configuration.car = try carConnection(sources, delayMs: options.carDelayMs)
            if let wait = options.carJobWaitMs { configuration.car?.maxJobWaitMs = wait }
            guard source != nil else { throw RunFailure(.invalidParameter, "missing the source: \(RunKey.source.names)") }
        }
        for key in [RunKey.carServicePassword, .carServiceToken] {
            if let s = sources.string(key.rawValue, secret: true) { configuration.secrets.append(s.value) }
        }
        return configuration
    }

    static func carConnection(_ sources: ConfigurationSources, delayMs: Int64) throws(RunFailure) -> CARConnection {
        func get(_ key: RunKey) -> String? { sources.string(key.rawValue, secret: key.isSecret)?.value }
        let url = get(.carServiceURL)
        let key = get(.carServiceKey)
        let password = get(.carServicePassword)
        let tokenURL = get(.carServiceTokenURL)
        let token = get(.carServiceToken)
        var connection: CARConnection
        if let tokenURL, let token {
            connection = CARConnection(baseURL: tokenURL, auth: .token(token))
        } else if let url, let key, let password {
            connection = CARConnection(baseURL: url, auth: .basic(key: key, password: password))
        } else {
            var missing: [String] = []
            if url == nil && tokenURL == nil { missing.append("the CAR service URL (\(RunKey.carServiceURL.names))") }
            if token == nil && (key == nil || password == nil) {
                if key == nil { missing.append("the CAR service key (\(RunKey.carServiceKey.names))") }
                if password == nil { missing.append("the CAR service password (\(RunKey.carServicePassword.names))") }
            }
            if tokenURL != nil && token == nil { missing.append("the CAR service token (\(RunKey.carServiceToken.names))") }
            throw RunFailure(.invalidParameter, "missing " + (missing.isEmpty ? "CAR service settings" : missing.joined(separator: ", ")))
        }
        if let ca = get(.carServiceCABundle) { connection.tls.caBundle = ca }
        if let ops = get(.carQueryOperators) {
            guard let mode = CARQueryOperators(rawValue: ops.lowercased()) else {
                throw RunFailure(.invalidParameter, "CAR query operators '\(ops)' (\(RunKey.carQueryOperators.names)): use auto or confirmed")
            }
            connection.queryOperators = mode
        }
        connection.retryDelayMs = delayMs
        connection.pollDelayMs = delayMs
        connection.maxPollDelayMs = max(delayMs, delayMs * 60)
        return connection
    }
}

/// Truthy strings, as the framework's deployments set flags through the environment.
enum Truthy {
    static func parse(_ value: String?) -> Bool {
        guard let v = value?.lowercased() else { return false }
        return ["1", "true", "yes", "on"].contains(v)
    }
}

/// Names in the state directory.
public enum StateDirectory {
    /// A source name as one path component (`/` and other unsafe characters percent-encoded).
    public static func component(_ name: String) -> String {
        var out = ""
        for b in name.utf8 {
            let c = Character(Unicode.Scalar(b))
            if c.isLetter && b < 0x80 || c.isNumber && b < 0x80 || c == "-" || c == "_" || c == "." && !out.isEmpty {
                out.append(c)
            } else {
                out += "%" + String(b, radix: 16, uppercase: true).leftPadded(2)
            }
        }
        return out.isEmpty ? "%00" : out
    }
}

extension String {
    func leftPadded(_ width: Int) -> String { count >= width ? self : String(repeating: "0", count: width - count) + self }
}
