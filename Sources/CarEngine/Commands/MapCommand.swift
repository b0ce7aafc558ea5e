import CarDefinition
import Logging
import MappingDSL
import Locking

/// `car map`: maps records from a file (instead of the datasource) with a definition and prints
/// the CAR import envelopes a full import would send. For writing and testing connectors offline.
public enum MapCommand {
    /// What to do.
    public struct Options: Sendable {
        public var definitionPath: String
        public var recordsPath: String
        public var source: String = "local"
        public var reportTime: Int64
        public var pageSize: Int = 2000
        public var pretty = false
        public var parameters: [String: String] = [:]

        public init(definitionPath: String, recordsPath: String, reportTime: Int64) {
            self.definitionPath = definitionPath
            self.recordsPath = recordsPath
            self.reportTime = reportTime
        }
    }

    /// The result: envelopes (one JSON text each), a report for people, and the exit code.
    public struct Output: Sendable {
        public var envelopes: [String] = []
        public var messages: [String] = []
        public var exitCode: Int32 = 0
    }

    public static func run(_ options: Options) async -> Output {
        var output = Output()
        let loaded = DefinitionLoader.load(path: options.definitionPath)
        if !loaded.diagnostics.isEmpty {
            let sources = loaded.source.map { [options.definitionPath: $0] } ?? [:]
            output.messages.append(DiagnosticRenderer.render(loaded.diagnostics, sources: sources))
        }
        guard let definition = loaded.definition else {
            output.exitCode = 1
            return output
        }
        // Variables: parameters (given or default; secrets are never needed to map), run values.
        var values: [String: JSON] = [:]
        for p in definition.parameters {
            if let given = options.parameters[p.name] {
                values[p.name] = .string(given)
            } else if let d = p.defaultValue {
                values[p.name] = d
            }
        }
        values[RunVariable.source.rawValue] = .string(options.source)
        values[RunVariable.runStartMs.rawValue] = .int(options.reportTime)
        values[RunVariable.runStartISO.rawValue] = .string(ISO8601.format(options.reportTime))
        let messages = LinesCollector()
        do {
            let records = try RecordsFile(path: options.recordsPath, definition: definition, values: values, nowMs: options.reportTime)
            var settings = RunSettings(source: options.source, reportTime: options.reportTime)
            settings.pageSize = options.pageSize
            settings.printsOnly = true
            let validator: ImportValidator
            do { validator = try ImportValidator(schema: definition.catalogue.importSchema) } catch {
                throw RunFailure(.general, "car's import schema does not compile: \(error)")
            }
            let logger = Logger.framework(format: .text, redactor: Redactor()) { messages.append($0 + "\n") }
            let sink = EnvelopePrinter(pretty: options.pretty)
            var summary = try await ImportRun(definition: definition, records: records, sink: sink, validator: validator, logger: logger, settings: settings)
                .full()
            summary.dryRun = true
            output.envelopes = sink.envelopes
            let report = ["mapped with \(options.definitionPath):"] + summary.collectionLines.map { "  " + $0 }
                + ["\(output.envelopes.count) envelope\(output.envelopes.count == 1 ? "" : "s")"]
            output.messages += messages.lines + [report.joined(separator: "\n")]
        } catch {
            output.messages += messages.lines + [RunFailure.from(error).message]
            output.exitCode = 1
        }
        return output
    }
}

/// Keeps the envelopes a run would send that carry objects (not the bare `{source, report}`
/// that starts a full import), as JSON text.
final class EnvelopePrinter: ImportSink {
    let pretty: Bool
    private let kept = Locked<[String]>([])

    init(pretty: Bool) { self.pretty = pretty }

    var envelopes: [String] { kept.withLock { $0 } }

    func send(_ envelope: JSON) async throws {
        guard (envelope.objectValue?.keys.count ?? 0) > 2 else { return }
        let text = JSONWriter(pretty: pretty).string(envelope)
        kept.withLock { $0.append(text) }
    }

    func send(bytes: [UInt8]) async throws { try await send(try JSONParser.parse(bytes)) }
    func barrier() async throws {}
    func delete(collection: String, ids: [String], byKey: Bool) async throws {}
    func saveModelState(_ id: String) async throws {}
    func deactivate(collection: String, from: CARVertex, to: CARVertex) async throws {}
}
