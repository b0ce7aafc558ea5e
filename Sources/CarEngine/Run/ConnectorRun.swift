import CarDefinition
import Logging
import MappingDSL
import Locking

/// A connector run: a configuration in, a summary out. `car run`, `car run --dry-run` and
/// `car run -connection-test` are its three actions.
public enum ConnectorRun {
    /// What `car run` does with its options: loads the definition, resolves the configuration,
    /// runs, and logs the outcome. Log lines go to `sink`, dry-run output to `output`. The
    /// command line maps a failure to its exit code (`RunFailure.exitCode`).
    public static func execute(_ options: RunOptions, transport: any HTTPTransport = CurlTransport(),
                               sink: @escaping FrameworkLogHandler.Sink = { Console.err($0 + "\n") },
                               output: @escaping @Sendable (String) -> Void = { Console.out($0) },
                               redactor: Redactor = Redactor()) async -> Result<RunSummary, RunFailure>
    {
        let early = Logger.framework(format: options.logFormat ?? (Console.isTerminal(2) ? .text : .json),
                                     level: options.debug || Truthy.parse(options.environment["DEBUG"]) ? .debug : .info, redactor: redactor, sink: sink)
        let loaded = DefinitionLoader.load(path: options.definitionPath)
        guard let definition = loaded.definition else {
            let sources = loaded.source.map { [options.definitionPath: $0] } ?? [:]
            for d in loaded.diagnostics where d.severity == .error {
                early.error(DiagnosticRenderer.render(d, source: sources[d.file]), label: "definition")
            }
            return .failure(RunFailure(.general, "the definition \(options.definitionPath) does not load"))
        }
        let configuration: RunConfiguration
        do {
            configuration = try RunConfiguration.resolve(options, definition: definition)
        } catch {
            early.error(error.message, label: "car")
            return .failure(error)
        }
        for s in configuration.secrets { redactor.add(s) }
        var logger = Logger.framework(format: configuration.logFormat ?? (Console.isTerminal(2) ? .text : .json),
                                      level: configuration.debug ? .debug : .info, redactor: redactor, sink: sink)
        logger[metadataKey: "connector"] = .string(configuration.connectorName)
        logger[metadataKey: "version"] = .string(configuration.connectorVersion)
        if let source = configuration.source { logger[metadataKey: "source"] = .string(source.value) }
        for w in configuration.warnings { logger.warning(w, label: "car") }
        let ticker = progressTicker(configuration, logger: logger)
        defer { ticker?.cancel() }
        do {
            let summary = try await run(configuration, transport: transport, logger: logger, redactor: redactor, output: output)
            ticker?.cancel()
            if ticker != nil && liveProgress(configuration) { Console.err("\r\u{1B}[K") }
            if summary.mode != nil {
                for line in summary.collectionLines { logger.info(line, label: "import") }
                logger.info(summary.line, label: "import")
            }
            if let path = configuration.summaryPath {
                do { try FileIO.write(JSONWriter().bytes(summary.json), to: path) } catch {
                    logger.error(error.description, label: "car")
                    return .failure(RunFailure(.general, error.description))
                }
            }
            return .success(summary)
        } catch {
            logger.error(error.message, label: "car")
            return .failure(error)
        }
    }

    /// A live line redrawn on a terminal (text logs), else a log line at the configured interval.
    static func liveProgress(_ configuration: RunConfiguration) -> Bool {
        Console.isTerminal(2) && (configuration.logFormat ?? .text) == .text
    }

    static func progressTicker(_ configuration: RunConfiguration, logger: Logger) -> Task<Void, Never>? {
        guard let progress = configuration.settings.progress, configuration.action != .connectionTest else { return nil }
        if liveProgress(configuration) {
            return progress.ticker(intervalMs: 500) { Console.err("\r\u{1B}[K" + $0) }
        }
        return progress.ticker(intervalMs: configuration.progressIntervalMs) { logger.info("progress: " + $0, label: "progress") }
    }

    /// Runs a configuration: a connection test, a dry run or an import.
    public static func run(_ configuration: RunConfiguration, transport: any HTTPTransport, logger: Logger, redactor: Redactor,
                           output: @escaping @Sendable (String) -> Void) async throws(RunFailure) -> RunSummary
    {
        let interruption = configuration.settings.interruption
        var car: CARClient?
        do {
            switch configuration.action {
            case .connectionTest:
                let client = try DatasourceClient(
                    definition: configuration.definition, values: configuration.values, transport: transport, redactor: redactor, logger: logger,
                    environmentCA: configuration.settings.environmentCA)
                do { try await client.connectionTest() } catch let failure as RunFailure {
                    throw RunFailure(failure.failureClass, "connection test failed: \(failure.message)")
                }
                logger.info("connection test passed: the datasource answered", label: "car")
                var summary = RunSummary(mode: nil)
                summary.datasourceRequests = await client.stats.requests
                return summary
            case .dryRun(let mode, let since):
                return try await DryRun(configuration: configuration, transport: transport, redactor: redactor, logger: logger, output: output)
                    .run(mode: mode, since: since)
            case .importData(let mode):
                guard let connection = configuration.car else { throw RunFailure(.invalidParameter, "no CAR service is configured") }
                let client = CARClient(connection: connection, transport: transport, logger: logger, redactor: redactor)
                car = client
                return try await ImportSequence(configuration: configuration, car: client, transport: transport, redactor: redactor, logger: logger)
                    .run(mode: mode)
            }
        } catch {
            if let interruption, let signal = interruption.signalName {
                throw RunFailure(.recoverable, interruption.line(signal))
            }
            let failure = RunFailure.from(error)
            if failure.failureClass == .unrecoverable, let car {
                // The next run is a full import.
                do {
                    try await car.saveModelState(source: configuration.settings.source, id: "")
                    logger.info("model state reset: the next run is a full import", label: "import")
                } catch {
                    logger.error("could not reset the model state: \(RunFailure.from(error).message)", label: "car")
                }
            }
            throw failure
        }
    }
}

extension Result where Success == RunSummary, Failure == RunFailure {
    /// The exit code deployments expect of a run's outcome: 0, or the failure's class.
    public var exitCode: Int32 {
        switch self {
        case .success: return 0
        case .failure(let f): return f.exitCode
        }
    }
}

extension RunFailure {
    /// Any error of a run as a failure: cancellation is recoverable, anything unexpected is a
    /// general failure (1).
    static func from(_ error: any Error) -> RunFailure {
        switch error {
        case let failure as RunFailure: return failure
        case is CancellationError: return RunFailure(.recoverable, "the run was cancelled")
        case let error as FileError: return RunFailure(.general, error.description)
        default: return RunFailure(.general, "unexpected error: \(error)")
        }
    }
}

/// Reads the datasource and prints what a run would send: envelopes, deletions, the model-state
/// save. Contacts no CAR service.
struct DryRun: Sendable {
    let configuration: RunConfiguration
    let transport: any HTTPTransport
    let redactor: Redactor
    let logger: Logger
    let output: @Sendable (String) -> Void

    func run(mode: RunMode, since: String?) async throws -> RunSummary {
        let definition = configuration.definition
        let pretty = configuration.pretty ?? (configuration.outputPath == nil && Console.isTerminal(1))
        let collected = LinesCollector()
        let toFile = configuration.outputPath != nil
        let write = output
        let sink = DryRunSink(pretty: pretty) { text in if toFile { collected.append(text) } else { write(text) } }
        let validator: ImportValidator
        do { validator = try ImportValidator(schema: definition.catalogue.importSchema) } catch {
            throw RunFailure(.general, "car's import schema does not compile: \(error)")
        }
        var values = configuration.values
        let incremental = mode == .incremental
        if incremental {
            guard let since else { throw RunFailure(.invalidParameter, "an incremental dry run needs --since STATE (the saved model state)") }
            values = ImportSequence.incrementalValues(values, last: since, new: nil)
        }
        let environmentCA = configuration.settings.environmentCA
        let probe = try DatasourceClient(definition: definition, values: values, transport: transport, redactor: redactor, logger: logger,
                                         environmentCA: environmentCA)
        let newState = try await ImportSequence.currentState(definition, client: probe, settings: configuration.settings)
        if let newState { values[RunVariable.newState.rawValue] = .string(newState) }
        var filtered = false
        var deltaOrEvents = false
        switch definition.modelState?.changes {
        case .updatedSince?: filtered = true
        case .events?: (filtered, deltaOrEvents) = (true, true)
        case .changeLog?: deltaOrEvents = true
        default: break
        }
        let client = try DatasourceClient(definition: definition, values: values, transport: transport, redactor: redactor, logger: logger,
                                          incremental: incremental && filtered, environmentCA: environmentCA)
        var settings = configuration.settings
        settings.printsOnly = true
        let run = ImportRun(definition: definition, records: client, sink: sink, validator: validator, logger: logger, settings: settings)
        var summary: RunSummary
        if incremental, deltaOrEvents, let since, let newState {
            summary = try await run.incremental(last: since, new: newState)
        } else {
            summary = try await run.full()
        }
        if incremental { summary.mode = .incremental }
        summary.dryRun = true
        if let newState {
            try await sink.saveModelState(newState)
            summary.savedModelState = newState
        }
        summary.datasourceRequests = await probe.stats.requests + client.stats.requests
        if let path = configuration.outputPath { try FileIO.write(Array(collected.text.utf8), to: path) }
        return summary
    }
}

/// Text collected in order.
final class LinesCollector: Sendable {
    private let parts = Locked<[String]>([])
    func append(_ s: String) { parts.withLock { $0.append(s) } }
    var text: String { parts.withLock { $0.joined() } }
    /// The parts, without their trailing line ends.
    var lines: [String] { parts.withLock { $0.map { $0.hasSuffix("\n") ? String($0.dropLast()) : $0 } } }
}
