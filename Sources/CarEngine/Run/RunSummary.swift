import CarDefinition
import MappingDSL

/// What a run did: a value, rendered into the final log line, read by the demo and the
/// benchmark, and written as JSON with `--summary FILE`.
public struct RunSummary: Sendable {
    /// The import made; nil for a connection test.
    public var mode: ImportKind?
    public var recordsRead: [String: Int] = [:]
    public var collections: [String: CollectionCounts] = [:]
    public var collectionOrder: [String] = []
    public var envelopes = 0
    public var durationMs: Int64 = 0
    /// Requests to the datasource, and calls to CAR.
    public var datasourceRequests = 0
    public var carCalls = 0
    /// The model state saved (nil when none was).
    public var savedModelState: String?
    /// Whether the output was printed instead of sent (a dry run).
    public var dryRun = false
    /// Endpoints read again whole in an incremental import (their mappings look up changed records).
    public var rereadEndpoints: [String] = []
    /// Records derived again because they look up changed records, found in the dependency
    /// index (by endpoint).
    public var rederivedByIndex: [String: Int] = [:]
    /// Lines written to the dependency index (nil: none written).
    public var dependencyIndexLines: Int?
    /// Whether read-back switched to the confirmed operators because CAR rejected `_in`.
    public var readBackFellBack = false

    public init(mode: ImportKind?) {
        self.mode = mode
    }

    public var totalRead: Int { recordsRead.values.reduce(0, +) }
    public var totalSent: Int { collections.values.reduce(0) { $0 + $1.sent } }
    public var totalSkipped: Int { collections.values.reduce(0) { $0 + $1.skipped } }
    public var totalDeleted: Int { collections.values.reduce(0) { $0 + $1.deleted } }
    public var totalDeactivated: Int { collections.values.reduce(0) { $0 + $1.deactivated } }

    /// One line: mode, totals, duration.
    public var line: String {
        let verb = dryRun ? "printed" : "sent"
        return "\(mode?.rawValue ?? "no") import finished in \(durationMs) ms: \(totalRead) records read, \(totalSent) objects \(verb) in \(envelopes) envelopes, \(totalSkipped) skipped, \(totalDeleted) deleted, \(totalDeactivated) edges deactivated"
    }

    /// A line per collection: "asset: 20 mapped, 20 sent, 1 deleted".
    public var collectionLines: [String] {
        collectionOrder.compactMap { c in
            guard let n = collections[c] else { return nil }
            var text = "\(c): \(n.mapped) mapped, \(n.sent) \(dryRun ? "printed" : "sent")"
            if n.duplicates > 0 { text += ", \(n.duplicates) duplicates" }
            if n.skipped > 0 { text += ", \(n.skipped) skipped" }
            if n.deleted > 0 { text += ", \(n.deleted) deleted" }
            if n.deactivated > 0 { text += ", \(n.deactivated) deactivated" }
            return text
        }
    }

    /// The summary as JSON.
    public var json: JSON {
        var counts = JSONObject()
        for c in collectionOrder {
            guard let n = collections[c] else { continue }
            counts[c] = ["mapped": .int(Int64(n.mapped)), "duplicates": .int(Int64(n.duplicates)), "skipped": .int(Int64(n.skipped)),
                         "sent": .int(Int64(n.sent)), "deleted": .int(Int64(n.deleted)), "deactivated": .int(Int64(n.deactivated))]
        }
        var read = JSONObject()
        for k in recordsRead.keys.sorted() { read[k] = .int(Int64(recordsRead[k] ?? 0)) }
        var byIndex = JSONObject()
        for k in rederivedByIndex.keys.sorted() { byIndex[k] = .int(Int64(rederivedByIndex[k] ?? 0)) }
        return ["mode": mode.map { .string($0.rawValue) } ?? .null, "dry_run": .bool(dryRun), "duration_ms": .int(durationMs),
                "records_read": .object(read), "records_read_total": .int(Int64(totalRead)), "objects_sent": .int(Int64(totalSent)),
                "envelopes": .int(Int64(envelopes)), "collections": .object(counts), "datasource_requests": .int(Int64(datasourceRequests)),
                "car_calls": .int(Int64(carCalls)), "saved_model_state": savedModelState.map { .string($0) } ?? .null,
                "reread_endpoints": .array(rereadEndpoints.map { .string($0) }), "read_back_fell_back": .bool(readBackFellBack),
                "rederived_by_index": .object(byIndex), "dependency_index_lines": dependencyIndexLines.map { .int(Int64($0)) } ?? .null]
    }
}

/// Counts of one collection in a run.
public struct CollectionCounts: Sendable, Equatable {
    public var mapped = 0
    public var duplicates = 0
    public var skipped = 0
    public var sent = 0
    public var deleted = 0
    public var deactivated = 0
}
