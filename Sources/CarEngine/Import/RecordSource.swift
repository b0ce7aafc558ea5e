import CarDefinition
import MappingDSL
import Synchronization

/// Where a run's records come from: the datasource, or a file of records (`car map`).
public protocol RecordSource: Sendable {
    /// Reads every page of an endpoint; a `for_each` child once per parent record.
    func forEachPage(of endpoint: String, parent: JSON?, _ body: ([JSON]) async throws -> Void) async throws
    /// The context expressions are evaluated in: parameters, run values, and `extra`.
    func evaluationContext(_ extra: [String: JSON]) -> EvalContext
    /// The datasource behind the records, for lookups by id, re-reads and change logs (nil: the
    /// records are all there is).
    var datasource: DatasourceClient? { get }
    /// Whether `for_each` children are read per parent record (otherwise they are read as any
    /// other endpoint, with the parent variable null).
    var readsChildrenPerParent: Bool { get }
}

extension DatasourceClient: RecordSource {
    public func evaluationContext(_ extra: [String: JSON]) -> EvalContext { context(extra) }
    public var datasource: DatasourceClient? { self }
    public var readsChildrenPerParent: Bool { true }
}

/// Records read from a file instead of the datasource: `{endpoint: [record, ...], ...}`, as the
/// datasource would answer them. Lookups are served from these records only.
public struct RecordsFile: RecordSource {
    public let records: [String: [JSON]]
    let table: VariableTable
    let values: [String: JSON]
    let nowMs: Int64

    /// The records of a JSON document; a located error for a document of another shape.
    public init(path: String, definition: ConnectorDefinition, values: [String: JSON], nowMs: Int64) throws(RunFailure) {
        let document: JSON
        do { document = try JSONParser.parse(try FileIO.read(path)) } catch let error as JSONParseError {
            throw RunFailure(.invalidParameter, "\(path):\(error.line):\(error.column): error: \(error.message)")
        } catch {
            throw RunFailure(.invalidParameter, "\(path): error: \(error)")
        }
        guard case .object(let byEndpoint) = document else {
            throw RunFailure(.invalidParameter, "\(path): error: expected an object of endpoint names to lists of records, found \(document.typeName)")
        }
        var records: [String: [JSON]] = [:]
        for (name, value) in byEndpoint {
            guard definition.endpoints[name] != nil else {
                throw RunFailure(.invalidParameter, "\(path): error: unknown endpoint '\(name)'\(Suggest.hint(for: name, in: definition.endpointOrder))")
            }
            guard case .array(let list) = value else {
                throw RunFailure(.invalidParameter, "\(path): error: the records of '\(name)' must be a list, found \(value.typeName)")
            }
            records[name] = list
        }
        self.records = records
        self.table = definition.variables
        self.values = values
        self.nowMs = nowMs
    }

    public func forEachPage(of endpoint: String, parent: JSON?, _ body: ([JSON]) async throws -> Void) async throws {
        guard parent == nil else { return }
        try await body(records[endpoint] ?? [])
    }

    public func evaluationContext(_ extra: [String: JSON]) -> EvalContext {
        var named = values
        for (k, v) in extra { named[k] = v }
        return EvalContext(variables: table.values(named), nowMs: nowMs)
    }

    public var datasource: DatasourceClient? { nil }
    public var readsChildrenPerParent: Bool { false }
}
