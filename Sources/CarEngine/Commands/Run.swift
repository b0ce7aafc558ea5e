import MappingDSL

/// Options of `car run`, from flags and the environment (the framework's names).
public struct RunOptions: Sendable {
    public var definitionPath: String
    public var connectionTest = false
    public var debug = false
    public var logFormat: Logger.Format?
    /// `--param NAME=VALUE` values.
    public var parameters: [String: String] = [:]
    /// The process environment.
    public var environment: [String: String] = [:]

    public init(definitionPath: String) {
        self.definitionPath = definitionPath
    }

    /// Whether an environment variable holds a true value.
    static func truthy(_ value: String?) -> Bool {
        guard let v = value?.lowercased() else { return false }
        return ["1", "true", "yes", "on"].contains(v)
    }
}

/// `car run`: a connector run. Today: the datasource connection test.
public enum RunCommand {
    /// Runs and returns the exit code. Log lines go to `sink`.
    public static func execute(_ options: RunOptions, transport: any HTTPTransport = CurlTransport(),
                               sink: @escaping Logger.Sink = { Console.err($0 + "\n") }) async -> Int32
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
        logger.set("connector", definition.connector.name)
        logger.set("version", definition.connector.version)

        let resolved: ResolvedParameters
        do {
            resolved = try ParameterResolver.resolve(definition, ParameterSources(explicit: options.parameters, environment: options.environment))
        } catch {
            logger.error(error.message)
            return error.exitCode
        }
        for s in resolved.secrets { redactor.add(s) }

        let connectionTest = options.connectionTest || RunOptions.truthy(options.environment["DATASOURCE_CONNECTION_TEST"])
        guard connectionTest else {
            logger.error("imports into CAR are not available in this version of car; run with --connection-test, or map records offline with car map")
            return FailureClass.general.rawValue
        }
        let now = Clock.nowMs()
        var values = resolved.values
        values["run_start_ms"] = .int(now)
        values["run_start_iso"] = .string(ISO8601.format(now))
        values["source"] = .string(options.environment["CONNECTION_NAME"] ?? definition.connector.name)
        do {
            let client = try DatasourceClient(definition: definition, values: values, transport: transport, redactor: redactor, logger: logger)
            try await client.connectionTest()
            logger.info("connection test passed: the datasource answered")
            return 0
        } catch let failure as RunFailure {
            logger.error("connection test failed: \(failure.message)")
            return failure.exitCode
        } catch is CancellationError {
            logger.error("connection test cancelled")
            return FailureClass.general.rawValue
        } catch {
            logger.error("connection test failed: \(error)")
            return FailureClass.general.rawValue
        }
    }
}
