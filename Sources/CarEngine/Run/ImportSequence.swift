import CarDefinition
import Logging
import MappingDSL

/// The framework's run against CAR: schema extension, import schema, database, the choice
/// between incremental and full, their sequences, model state, retention.
struct ImportSequence: Sendable {
    let configuration: RunConfiguration
    let car: CARClient
    let transport: any HTTPTransport
    let redactor: Redactor
    let logger: Logger

    var definition: ConnectorDefinition { configuration.definition }
    var settings: RunSettings { configuration.settings }

    func run(mode: RunMode) async throws -> RunSummary {
        let started = WallClock.nowMs()
        settings.enter("preparing the run (schema extension, import schema, database, model state)")
        try await syncSchemaExtension()
        let validator = try await importValidator()
        let databaseCreated = try await prepareDatabase()
        let saved = try await car.modelStateID(source: settings.source)
        let probe = try client(configuration.values)
        let newState = try await Self.currentState(definition, client: probe, settings: settings)
        var reason: String?
        if databaseCreated {
            reason = "the CAR database was just created"
        } else if saved == nil {
            reason = "CAR has no saved model state for source \(settings.source)"
        } else if newState == nil {
            reason = "the datasource gives no model state"
        } else if definition.modelState?.changes.tracksChanges != true {
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
        var summary: RunSummary
        if incremental, let saved, let newState {
            summary = try await runIncremental(saved: saved, new: newState, validator: validator)
        } else {
            summary = try await runFull(newState: newState, validator: validator)
        }
        try await applyRetention()
        summary.durationMs = WallClock.nowMs() - started
        summary.datasourceRequests += await probe.stats.requests
        summary.carCalls = car.calls.values.reduce(0, +)
        summary.readBackFellBack = car.confirmedOperatorsOnly && car.connection.queryOperators == .auto
        return summary
    }

    func client(_ values: [String: JSON], incremental: Bool = false) throws(RunFailure) -> DatasourceClient {
        try DatasourceClient(definition: definition, values: values, transport: transport, redactor: redactor, logger: logger, incremental: incremental,
                             environmentCA: settings.environmentCA)
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

    /// Makes the database ready; true when it was just created (then the import is full).
    func prepareDatabase() async throws -> Bool {
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
        return created
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

    func runFull(newState: String?, validator: ImportValidator) async throws -> RunSummary {
        logger.info("full import of source \(settings.source)", label: "import")
        try await car.enterFullImport(source: settings.source)
        settings.interruption?.enteredFullImport()
        let sink = CARSink(car: car, source: settings.source, logger: logger, progress: settings.progress)
        let client = try client(configuration.values)
        let tracking = dependencyTracking(newState: newState, saved: nil)
        let run = ImportRun(definition: definition, records: client, sink: sink, validator: validator, logger: logger, settings: settings,
                            dependencies: tracking)
        var summary: RunSummary
        do {
            summary = try await run.full()
            settings.enter("ending CAR's full import")
            try await car.leaveFullImport(source: settings.source)
        } catch {
            tracking?.writer.abandon()
            throw error
        }
        if let newState {
            summary.dependencyIndexLines = commit(tracking)
            try await sink.saveModelState(newState)
            summary.savedModelState = newState
            tracking?.writer.removeOthers()
        }
        summary.datasourceRequests += await client.stats.requests
        return summary
    }

    func runIncremental(saved: String, new: String, validator: ImportValidator) async throws -> RunSummary {
        logger.info("incremental import of source \(settings.source) from model state \(saved) to \(new)", label: "import")
        let values = Self.incrementalValues(configuration.values, last: saved, new: new)
        let sink = CARSink(car: car, source: settings.source, logger: logger, progress: settings.progress)
        let updatedSince: Bool
        var filtered = false
        switch definition.modelState?.changes {
        case .updatedSince?: (updatedSince, filtered) = (true, true)
        case .events?: (updatedSince, filtered) = (false, true)
        default: updatedSince = false
        }
        let client = try client(values, incremental: filtered)
        // An updated_since import reads only changed records of every endpoint: it cannot keep
        // an index of all of them.
        let tracking = updatedSince ? nil : dependencyTracking(newState: new, saved: saved)
        let run = ImportRun(definition: definition, records: client, sink: sink, validator: validator, logger: logger, settings: settings, car: car,
                            dependencies: tracking)
        var summary: RunSummary
        do {
            summary = updatedSince ? try await run.updatedSinceImport() : try await run.incremental(last: saved, new: new)
        } catch {
            tracking?.writer.abandon()
            throw error
        }
        summary.mode = .incremental
        summary.dependencyIndexLines = commit(tracking)
        try await sink.saveModelState(new)
        summary.savedModelState = new
        tracking?.writer.removeOthers()
        summary.datasourceRequests += await client.stats.requests
        return summary
    }

    /// The dependency index this run keeps: nil when it is off, the definition has nothing to
    /// index, or the state directory cannot be written (said in the log; only speed suffers).
    func dependencyTracking(newState: String?, saved: String?) -> DependencyTracking? {
        guard settings.dependencyIndex, let newState else { return nil }
        let indexable = DependencyIndex.indexable(definition)
        guard !indexable.isEmpty else { return nil }
        // The datasource's URL is not part of it: an incremental import from a saved state already
        // assumes the same datasource (its change log, its ids).
        let fingerprint = DependencyIndex.fingerprint(definition, scope: settings.source + "\n" + car.connection.baseURL)
        switch DependencyIndexWriter.start(directory: settings.stateDirectory, state: newState, fingerprint: fingerprint) {
        case .failure(let f):
            logger.warning("dependency index: \(f.message); incremental imports will read dependent endpoints whole", label: "import")
            return nil
        case .success(let writer):
            var tracking = DependencyTracking(writer: writer, indexable: indexable, fingerprint: fingerprint)
            if let saved {
                tracking.problem = DependencyIndex.problem(directory: settings.stateDirectory, state: saved, fingerprint: fingerprint)
                if tracking.problem == nil { tracking.usable = saved }
            }
            return tracking
        }
    }

    /// Puts the run's index in place before the model state is saved; a failure is a warning.
    func commit(_ tracking: DependencyTracking?) -> Int? {
        guard let tracking else { return nil }
        do { return try tracking.writer.commit() } catch {
            logger.warning("dependency index: \(error.message); the next incremental import reads dependent endpoints whole", label: "import")
            return nil
        }
    }

    /// The run's values with the save points of an incremental import.
    static func incrementalValues(_ values: [String: JSON], last: String, new: String?) -> [String: JSON] {
        var out = values
        out[RunVariable.lastState.rawValue] = .string(last)
        if let new { out[RunVariable.newState.rawValue] = .string(new) }
        // IBM's Python connectors save the run's start in epoch ms, some as a float ("1701423000123.456").
        if let ms = Int64(last) ?? Double(last).flatMap({ $0.isFinite && abs($0) < 9e15 ? Int64($0) : nil }) {
            out[RunVariable.lastRunMs.rawValue] = .int(ms)
            out[RunVariable.lastRunISO.rawValue] = .string(ISO8601.format(ms))
        }
        return out
    }

    /// Deletes vertices not seen for the retention period (read back from CAR).
    func applyRetention() async throws {
        guard let daysTemplate = definition.deletions.retentionDays else { return }
        let ctx = EvalContext(variables: definition.variables.values(configuration.values), nowMs: settings.reportTime)
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
}
