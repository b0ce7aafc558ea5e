import MappingDSL

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
        let recordsDocument: JSON
        do {
            recordsDocument = try JSONParser.parse(try FileIO.read(options.recordsPath))
        } catch let error as JSONParseError {
            output.messages.append("\(options.recordsPath):\(error.line):\(error.column): error: \(error.message)")
            output.exitCode = 1
            return output
        } catch {
            output.messages.append("\(options.recordsPath): error: \(error)")
            output.exitCode = 1
            return output
        }
        guard case .object(let byEndpoint) = recordsDocument else {
            output.messages.append("\(options.recordsPath): error: expected an object of endpoint names to lists of records, found \(recordsDocument.typeName)")
            output.exitCode = 1
            return output
        }
        for name in byEndpoint.keys where definition.endpoints[name] == nil {
            output.messages.append("\(options.recordsPath): error: unknown endpoint '\(name)'\(Suggest.hint(for: name, in: definition.endpointOrder))")
            output.exitCode = 1
        }
        if output.exitCode != 0 { return output }

        // Variables: parameters (given or default; secrets are never needed to map), run values.
        var named: [String: JSON] = [:]
        for p in definition.parameters {
            if let given = options.parameters[p.name] {
                named[p.name] = .string(given)
            } else if let d = p.defaultValue {
                named[p.name] = d
            }
        }
        named["source"] = .string(options.source)
        named["run_start_ms"] = .int(options.reportTime)
        named["run_start_iso"] = .string(ISO8601.format(options.reportTime))
        let cache = LookupCache(definition: definition)
        let context = EvalContext(variables: definition.variables.values(named), nowMs: options.reportTime)
        var records: [String: [JSON]] = [:]
        for (name, value) in byEndpoint {
            guard case .array(let list) = value else {
                output.messages.append("\(options.recordsPath): error: the records of '\(name)' must be a list, found \(value.typeName)")
                output.exitCode = 1
                return output
            }
            records[name] = list
            cache.add(list, endpoint: name, context: context)
        }

        let report = String(options.reportTime)
        let mapper = Mapper(definition: definition, source: options.source, report: report, timestamp: options.reportTime)
        var batcher = EnvelopeBatcher(
            source: options.source, report: report, reportTime: options.reportTime, connector: definition.connector,
            pageSize: options.pageSize)
        var stats: [(String, Int, Int, Int)] = []
        var issueCount = 0
        for mappings in [definition.vertices, definition.edges] {
            var seen: [String: Set<String>] = [:]
            for mapping in mappings {
                guard let info = definition.catalogue[mapping.collection] else { continue }
                var mapped = 0
                var duplicates = 0
                var skipped = 0
                let page = records[mapping.from] ?? []
                do {
                    let (objects, issues) = try await mapper.map(page, with: mapping, context: context, cache: cache, client: nil)
                    skipped += issues.count
                    issueCount += issues.count
                    for i in issues.prefix(20) { output.messages.append("warning: skipped: \(i)") }
                    for object in objects {
                        let identity = Mapper.identity(of: object, in: info)
                        if !seen[mapping.collection, default: []].insert(identity).inserted {
                            duplicates += 1
                            continue
                        }
                        mapped += 1
                        batcher.add(object, to: mapping.collection)
                    }
                } catch {
                    output.messages.append("error: \(mapping.name): \(error)")
                    output.exitCode = 1
                    return output
                }
                stats.append((mapping.name == mapping.collection ? mapping.name : "\(mapping.name) (\(mapping.collection))", mapped, duplicates, skipped))
            }
            batcher.flush()
        }
        output.envelopes = batcher.envelopes.map { JSONWriter(pretty: options.pretty).string($0) }
        var summary = "mapped with \(options.definitionPath):"
        for (name, mapped, duplicates, skipped) in stats {
            summary += "\n  \(name): \(mapped) sent"
            if duplicates > 0 { summary += ", \(duplicates) duplicates" }
            if skipped > 0 { summary += ", \(skipped) skipped" }
        }
        summary += "\n\(output.envelopes.count) envelope\(output.envelopes.count == 1 ? "" : "s")"
        if issueCount > 20 { summary += "; \(issueCount) records skipped in all (first 20 shown)" }
        output.messages.append(summary)
        return output
    }
}

/// Collects mapped objects into import envelopes of at most `pageSize` objects.
public struct EnvelopeBatcher: Sendable {
    public let pageSize: Int
    let head: JSONObject
    var collections: [String] = []
    var lists: [String: [JSON]] = [:]
    var count = 0
    public private(set) var envelopes: [JSON] = []

    public init(source: String, report: String, reportTime: Int64, connector: ConnectorInfo, pageSize: Int) {
        self.pageSize = max(1, pageSize)
        var head = JSONObject()
        var sourceObject = JSONObject()
        sourceObject["_key"] = .string(source)
        sourceObject["name"] = .string(source)
        sourceObject["description"] = .string("Imported by car with the \(connector.name) connector \(connector.version)")
        head["source"] = .object(sourceObject)
        var reportObject = JSONObject()
        reportObject["_key"] = .string(report)
        reportObject["timestamp"] = .int(reportTime)
        reportObject["type"] = .string(connector.name)
        reportObject["description"] = .string(connector.displayName ?? connector.name)
        head["report"] = .object(reportObject)
        self.head = head
    }

    /// The bare `{source, report}` envelope.
    public var bare: JSON { .object(head) }

    public mutating func add(_ object: JSONObject, to collection: String) {
        if lists[collection] == nil { collections.append(collection) }
        lists[collection, default: []].append(.object(object))
        count += 1
        if count >= pageSize { flush() }
    }

    /// Closes the envelope being filled, if it has anything.
    public mutating func flush() {
        guard count > 0 else { return }
        var envelope = head
        for c in collections { envelope[c] = .array(lists[c] ?? []) }
        envelopes.append(.object(envelope))
        collections = []
        lists = [:]
        count = 0
    }
}
