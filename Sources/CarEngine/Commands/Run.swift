import MappingDSL
import Synchronization

/// Options of `car run`, from flags and the environment (the framework's names).
public struct RunOptions: Sendable {
    public enum Mode: String, Sendable {
        case auto, full, incremental
    }

    public var definitionPath: String
    public var connectionTest = false
    public var dryRun = false
    public var mode = Mode.auto
    /// The saved model state to start an incremental dry run from.
    public var since: String?
    public var reportTime: Int64?
    public var outputPath: String?
    public var pretty: Bool?
    public var strict = false
    public var debug = false
    public var logFormat: Logger.Format?
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
    /// Signals that stop the run (SIGTERM, SIGINT).
    public var interruption: RunInterruption?

    public init(definitionPath: String) {
        self.definitionPath = definitionPath
    }

    static func truthy(_ value: String?) -> Bool {
        guard let v = value?.lowercased() else { return false }
        return ["1", "true", "yes", "on"].contains(v)
    }

    func value(_ flag: String?, _ env: String) -> String? {
        if let flag, !flag.isEmpty { return flag }
        if let e = environment[env], !e.isEmpty { return e }
        return nil
    }
}

/// `car run`: a connector run as the framework does it.
public enum RunCommand {
    /// Runs and returns the exit code. Log lines go to `sink`, dry-run output to `output`.
    public static func execute(_ options: RunOptions, transport: any HTTPTransport = CurlTransport(),
                               sink: @escaping Logger.Sink = { Console.err($0 + "\n") },
                               output: @escaping @Sendable (String) -> Void = { Console.out($0) }) async -> Int32
    {
        let redactor = Redactor()
        let debug = options.debug || RunOptions.truthy(options.environment["DEBUG"])
        let format = options.logFormat ?? (Console.isTerminal(2) ? .text : .json)
        let logger = Logger(format: format, minimum: debug ? .debug : .info, redactor: redactor, sink: sink)

        let loaded = DefinitionLoader.load(path: options.definitionPath)
        guard let definition = loaded.definition else {
            let sources = loaded.source.map { [options.definitionPath: $0] } ?? [:]
            for d in loaded.diagnostics where d.severity == .error {
                logger.error(DiagnosticRenderer.render(d, source: sources[d.file]), label: "definition")
            }
            return FailureClass.general.rawValue
        }
        let source = options.value(options.source, "CONNECTION_NAME")
        logger.set("connector", options.value(options.connectorName, "CONNECTOR_NAME") ?? definition.connector.name)
        logger.set("version", options.value(options.connectorVersion, "CONNECTOR_VERSION") ?? definition.connector.version)
        if let source { logger.set("source", source) }

        var secretFiles: [String: String] = [:]
        let secretsDirectory = options.secretsDirectory ?? options.environment["CAR_SECRETS_DIR"].flatMap { $0.isEmpty ? nil : $0 }
            ?? (DirectoryListing.exists("/etc/secrets") ? "/etc/secrets" : nil)
        if let dir = secretsDirectory {
            do {
                secretFiles = try SecretFiles.read(dir)
                for value in secretFiles.values { redactor.add(value) }
            } catch {
                logger.error(error.message)
                return error.exitCode
            }
        }
        var environment = options.environment
        for (k, v) in secretFiles where environment[k] == nil { environment[k] = v }

        let resolved: ResolvedParameters
        do {
            resolved = try ParameterResolver.resolve(definition, ParameterSources(explicit: options.parameters, environment: environment))
        } catch {
            logger.error(error.message)
            return error.exitCode
        }
        for s in resolved.secrets { redactor.add(s) }
        let now = options.reportTime ?? Clock.nowMs()
        var values = resolved.values
        values["run_start_ms"] = .int(now)
        values["run_start_iso"] = .string(ISO8601.format(now))
        values["source"] = .string(source ?? definition.connector.name)

        let connectionTest = options.connectionTest || RunOptions.truthy(environment["DATASOURCE_CONNECTION_TEST"])
        if connectionTest {
            return await runConnectionTest(definition, values: values, transport: transport, redactor: redactor, logger: logger)
        }
        var settings = RunSettings(source: source ?? "dry-run", reportTime: now)
        if let size = options.pageSize ?? environment["EXPORT_DATA_PAGE_SIZE"].flatMap(Int.init) { settings.pageSize = max(1, size) }
        settings.strict = options.strict
        settings.edgeMemoryLimit = options.edgeMemoryLimit
        settings.exportDirectory = options.exportDataDirectory ?? environment["EXPORT_DATA_DIR"] ?? "/tmp"
        settings.keepExportDirectory = options.keepExportDataDirectory
        settings.interruption = options.interruption

        if options.dryRun {
            return await dryRun(options, definition, values: values, settings: settings, transport: transport, redactor: redactor,
                                logger: logger, output: output)
        }

        // The CAR service.
        let url = options.value(options.carServiceURL, "CAR_SERVICE_URL")
        let key = options.value(options.carServiceKey, "CAR_SERVICE_KEY")
        let password = options.value(options.carServicePassword, "CAR_SERVICE_PASSWORD") ?? secretFiles["CAR_SERVICE_PASSWORD"]
        let tokenURL = options.value(options.carServiceTokenURL, "CAR_SERVICE_URL_FOR_AUTHTOKEN")
        let token = options.value(options.carServiceToken, "CAR_SERVICE_AUTHTOKEN")
        var connection: CARConnection
        if let tokenURL, let token {
            connection = CARConnection(baseURL: tokenURL, auth: .token(token))
        } else if let url, let key, let password {
            connection = CARConnection(baseURL: url, auth: .basic(key: key, password: password))
        } else {
            var missing: [String] = []
            if url == nil && tokenURL == nil { missing.append("the CAR service URL (-car-service-url or CAR_SERVICE_URL)") }
            if token == nil && (key == nil || password == nil) {
                if key == nil { missing.append("the CAR service key (-car-service-key or CAR_SERVICE_KEY)") }
                if password == nil { missing.append("the CAR service password (-car-service-password or CAR_SERVICE_PASSWORD)") }
            }
            if tokenURL != nil && token == nil { missing.append("the CAR service token (-car-service-token or CAR_SERVICE_AUTHTOKEN)") }
            logger.error("missing " + (missing.isEmpty ? "CAR service settings" : missing.joined(separator: ", ")))
            return FailureClass.invalidParameter.rawValue
        }
        guard source != nil else {
            logger.error("missing the source: -source or CONNECTION_NAME")
            return FailureClass.invalidParameter.rawValue
        }
        if let ca = options.value(options.carServiceCABundle, "CAR_SERVICE_CA_BUNDLE") { connection.tls.caBundle = ca }
        if let ops = options.value(options.carQueryOperators, "CAR_QUERY_OPERATORS") {
            guard let mode = CARQueryOperators(rawValue: ops.lowercased()) else {
                logger.error("CAR query operators '\(ops)' (--car-query-operators or CAR_QUERY_OPERATORS): use auto or confirmed")
                return FailureClass.invalidParameter.rawValue
            }
            connection.queryOperators = mode
        }
        connection.retryDelayMs = options.carDelayMs
        connection.pollDelayMs = options.carDelayMs
        connection.maxPollDelayMs = max(options.carDelayMs, options.carDelayMs * 60)
        let car = CARClient(connection: connection, transport: transport, logger: logger, redactor: redactor)
        let runner = ConnectorRunner(
            definition: definition, values: values, car: car, transport: transport, redactor: redactor, logger: logger, settings: settings)
        return await runner.run(mode: options.mode)
    }

    static func runConnectionTest(_ definition: ConnectorDefinition, values: [String: JSON], transport: any HTTPTransport,
                                  redactor: Redactor, logger: Logger) async -> Int32
    {
        do {
            let client = try DatasourceClient(definition: definition, values: values, transport: transport, redactor: redactor, logger: logger)
            try await client.connectionTest()
            logger.info("connection test passed: the datasource answered")
            return 0
        } catch let failure as RunFailure {
            logger.error("connection test failed: \(failure.message)")
            return failure.exitCode
        } catch {
            logger.error("connection test failed: \(error)")
            return FailureClass.general.rawValue
        }
    }

    static func dryRun(_ options: RunOptions, _ definition: ConnectorDefinition, values: [String: JSON], settings: RunSettings,
                       transport: any HTTPTransport, redactor: Redactor, logger: Logger, output: @escaping @Sendable (String) -> Void) async -> Int32
    {
        let pretty = options.pretty ?? (options.outputPath == nil && Console.isTerminal(1))
        let collected = LinesCollector()
        let sink = DryRunSink(pretty: pretty) { text in
            if options.outputPath != nil { collected.append(text) } else { output(text) }
        }
        do {
            let validator = try? ImportValidator(schema: definition.catalogue.importSchema)
            var runValues = values
            let incremental = options.mode == .incremental
            if incremental {
                guard let since = options.since else {
                    throw RunFailure(.invalidParameter, "an incremental dry run needs --since STATE (the saved model state)")
                }
                runValues["last_state"] = .string(since)
                if let ms = Int64(since) {
                    runValues["last_run_ms"] = .int(ms)
                    runValues["last_run_iso"] = .string(ISO8601.format(ms))
                }
            }
            let probe = try DatasourceClient(definition: definition, values: runValues, transport: transport, redactor: redactor, logger: logger)
            let newState = try await ConnectorRunner.currentState(definition, client: probe, settings: settings)
            if let newState { runValues["new_state"] = .string(newState) }
            let client = try DatasourceClient(
                definition: definition, values: runValues, transport: transport, redactor: redactor, logger: logger,
                incremental: incremental && definition.modelState?.updatedSince == true)
            let run = ImportRun(definition: definition, client: client, sink: sink, validator: validator, logger: logger, settings: settings)
            let summary: RunSummary
            if incremental, definition.modelState?.delta != nil, let since = options.since, let newState {
                summary = try await run.incremental(last: since, new: newState)
            } else {
                summary = try await run.full()
            }
            if let newState { try await sink.saveModelState(newState) }
            ConnectorRunner.logSummary(summary, logger: logger)
            if let path = options.outputPath {
                try FileIO.write(Array(collected.text.utf8), to: path)
            }
            return 0
        } catch _ where settings.interruption?.signalName != nil {
            if let line = settings.interruption.flatMap({ i in i.signalName.map { i.line($0) } }) { logger.error(line) }
            return FailureClass.recoverable.rawValue
        } catch let failure as RunFailure {
            logger.error(failure.message)
            return failure.exitCode
        } catch let error as FileError {
            logger.error(error.description)
            return FailureClass.general.rawValue
        } catch {
            logger.error("unexpected error: \(error)")
            return FailureClass.general.rawValue
        }
    }
}

/// Text collected in order.
final class LinesCollector: Sendable {
    private let parts = Mutex<[String]>([])
    func append(_ s: String) { parts.withLock { $0.append(s) } }
    var text: String { parts.withLock { $0.joined() } }
}

/// The framework's run: schema extension, import schema, the choice between incremental and
/// full, their sequences, model state, and failure classes.
public struct ConnectorRunner: Sendable {
    let definition: ConnectorDefinition
    let values: [String: JSON]
    let car: CARClient
    let transport: any HTTPTransport
    let redactor: Redactor
    let logger: Logger
    let settings: RunSettings

    public func run(mode: RunOptions.Mode) async -> Int32 {
        let started = Clock.nowMs()
        settings.interruption?.enter("preparing the run (schema extension, import schema, database, model state)")
        do {
            try await syncSchemaExtension()
            let validator = try await importValidator()
            let database = try await prepareDatabase()
            let saved = try await car.modelStateID(source: settings.source)
            let probe = try DatasourceClient(definition: definition, values: values, transport: transport, redactor: redactor, logger: logger)
            let newState = try await Self.currentState(definition, client: probe, settings: settings)
            var reason: String?
            if database.newlyCreated { reason = "the CAR database was just created" }
            else if saved == nil { reason = "CAR has no saved model state for source \(settings.source)" }
            else if newState == nil { reason = "the datasource gives no model state" }
            else if definition.modelState?.delta == nil && definition.modelState?.updatedSince != true {
                reason = "the definition declares no way to read changes (model_state.delta or updated_since)"
            }
            let incremental: Bool
            switch mode {
            case .full: incremental = false
            case .incremental:
                if let reason { throw RunFailure(.recoverable, "an incremental import is not possible: \(reason)") }
                incremental = true
            case .auto:
                incremental = reason == nil
                if let reason { logger.info("full import: \(reason)", label: "import") }
            }
            let summary: RunSummary
            if incremental, let saved, let newState {
                summary = try await runIncremental(saved: saved, new: newState, validator: validator)
            } else {
                summary = try await runFull(newState: newState, validator: validator)
            }
            try await applyRetention()
            var final = summary
            final.durationMs = Clock.nowMs() - started
            Self.logSummary(final, logger: logger)
            return 0
        } catch {
            return await finish(error)
        }
    }

    /// The exit code of a run that failed, after logging why; an unrecoverable failure resets
    /// the model state, an interrupted run leaves everything as it is.
    func finish(_ error: any Error) async -> Int32 {
        if let interruption = settings.interruption, let signal = interruption.signalName {
            logger.error(interruption.line(signal))
            return FailureClass.recoverable.rawValue
        }
        switch error {
        case let failure as RunFailure:
            logger.error(failure.message)
            if failure.failureClass == .unrecoverable {
                do {
                    try await car.saveModelState(source: settings.source, id: "")
                    logger.info("model state reset: the next run is a full import", label: "import")
                } catch {
                    logger.error("could not reset the model state: \(error)")
                }
            }
            return failure.exitCode
        case is CancellationError:
            logger.error("the run was cancelled")
            return FailureClass.recoverable.rawValue
        default:
            logger.error("unexpected error: \(error)")
            return FailureClass.general.rawValue
        }
    }

    func syncSchemaExtension() async throws {
        guard let ext = definition.schemaExtension else { return }
        let installed = try await car.schemaExtension(key: ext.key)
        let installedVersion = installed?["version"].flatMap { Int64(renderString($0)) } ?? 0
        if installed == nil || installedVersion < ext.version {
            try await car.postSchemaExtension(ext.payload)
            logger.info("schema extension \(ext.key) version \(ext.version) posted (installed: \(installed == nil ? "none" : String(installedVersion)))", label: "import")
        }
    }

    func importValidator() async throws -> ImportValidator {
        if let schema = try await car.importSchema() {
            do { return try ImportValidator(schema: schema) } catch {
                logger.warning("CAR's import schema could not be compiled (\(error)); validating against car's catalogue", label: "import")
            }
        } else {
            logger.info("the CAR service does not serve its import schema; validating against car's catalogue", label: "import")
        }
        return try ImportValidator(schema: definition.catalogue.importSchema)
    }

    struct DatabaseState {
        var newlyCreated: Bool
    }

    func prepareDatabase() async throws -> DatabaseState {
        var status = try await car.databaseStatus()
        var created = false
        if !status.exists {
            try await car.waitForJob(try await car.createDatabase(), what: "create database")
            created = true
            status = try await car.databaseStatus()
        }
        if status.graphName.isEmpty {
            try await car.waitForJob(try await car.patchDatabase(["graph_name": "assets"]), what: "create graph")
            created = true
        }
        if !status.collectionsWithoutIndexes.isEmpty {
            try await car.waitForJob(
                try await car.patchDatabase(["collections_without_indexes": .array(status.collectionsWithoutIndexes.map { .string($0) })]),
                what: "create indexes")
            created = true
        }
        if created { status = try await car.databaseStatus() }
        guard status.ready else { throw RunFailure(.recoverable, "the CAR database is not ready") }
        return DatabaseState(newlyCreated: created)
    }

    /// The datasource's current save point: from its request, or the run's start time.
    static func currentState(_ definition: ConnectorDefinition, client: DatasourceClient, settings: RunSettings) async throws -> String? {
        guard let spec = definition.modelState else { return nil }
        switch spec.current {
        case .runStart:
            return String(settings.reportTime)
        case .request(let request, let valueExpr):
            let body = try await client.send(request, what: "model state")
            var ctx = client.context()
            ctx.document = body
            guard let value = try? valueExpr.evaluate(ctx), !value.isNull else { return nil }
            let text = renderString(value)
            return text.isEmpty ? nil : text
        }
    }

    func sink() -> CARSink { CARSink(car: car, source: settings.source, logger: logger) }

    func runFull(newState: String?, validator: ImportValidator) async throws -> RunSummary {
        logger.info("full import of source \(settings.source)", label: "import")
        try await car.enterFullImport(source: settings.source)
        settings.interruption?.enteredFullImport()
        let sink = sink()
        let client = try DatasourceClient(definition: definition, values: values, transport: transport, redactor: redactor, logger: logger)
        let run = ImportRun(definition: definition, client: client, sink: sink, validator: validator, logger: logger, settings: settings)
        let summary = try await run.full()
        settings.interruption?.enter("ending CAR's full import")
        try await car.leaveFullImport(source: settings.source)
        if let newState { try await sink.saveModelState(newState) }
        return summary
    }

    func runIncremental(saved: String, new: String, validator: ImportValidator) async throws -> RunSummary {
        logger.info("incremental import of source \(settings.source) from model state \(saved) to \(new)", label: "import")
        var runValues = values
        runValues["last_state"] = .string(saved)
        runValues["new_state"] = .string(new)
        if let ms = Int64(saved) {
            runValues["last_run_ms"] = .int(ms)
            runValues["last_run_iso"] = .string(ISO8601.format(ms))
        }
        let sink = sink()
        let updatedSince = definition.modelState?.delta == nil
        let client = try DatasourceClient(definition: definition, values: runValues, transport: transport, redactor: redactor, logger: logger,
                                          incremental: updatedSince)
        let run = ImportRun(definition: definition, client: client, sink: sink, validator: validator, logger: logger, settings: settings, car: car)
        var summary = updatedSince ? try await run.full() : try await run.incremental(last: saved, new: new)
        summary.mode = "incremental"
        try await sink.saveModelState(new)
        return summary
    }

    /// Deletes vertices not seen for the retention period (read back from CAR).
    func applyRetention() async throws {
        guard let daysTemplate = definition.deletions.retentionDays else { return }
        let ctx = EvalContext(variables: definition.variables.values(values), nowMs: settings.reportTime)
        guard let days = Double((try? daysTemplate.render(ctx)) ?? ""), days > 0 else {
            logger.warning("deletions.retention.days is not a positive number; no retention deletions", label: "import")
            return
        }
        let cutoff = settings.reportTime - Int64(days * 86_400_000)
        for collection in definition.deletions.retentionCollections {
            guard let info = definition.catalogue[collection], let key = info.keyKind else { continue }
            let ids = try await car.verticesNotSeen(since: cutoff, collection: collection, source: settings.source, keyField: key.rawValue)
            if !ids.isEmpty {
                _ = try await car.deleteVertices(source: settings.source, collection: collection, ids: ids, byKey: key == .key)
                logger.info("retention: deleted \(ids.count) \(collection) not seen for \(days) days", label: "import")
            }
        }
    }

    static func logSummary(_ summary: RunSummary, logger: Logger) {
        for c in summary.collectionOrder {
            guard let n = summary.collections[c] else { continue }
            var text = "\(c): \(n.mapped) mapped, \(n.sent) sent"
            if n.duplicates > 0 { text += ", \(n.duplicates) duplicates" }
            if n.skipped > 0 { text += ", \(n.skipped) skipped" }
            if n.deleted > 0 { text += ", \(n.deleted) deleted" }
            logger.info(text, label: "import")
        }
        logger.info(summary.line, label: "import")
    }
}

