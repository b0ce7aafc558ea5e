import CarDefinition
import MappingDSL

/// What the records derived again in an incremental import produced: the keys of their own
/// vertices, and their edges. Compared with what CAR holds, it shows vertices whose key
/// changed (to delete) and edges that no longer hold (to deactivate).
struct Rederived: Sendable {
    /// Vertex keys by collection.
    var anchors: [String: Set<String>] = [:]
    /// For key collections: the external id each vertex carries → its key now.
    var keysByExternalID: [String: [String: String]] = [:]
    /// Edges by collection, as "<from collection>/<key>|<to collection>/<key>".
    var edges: [String: Set<String>] = [:]
}

extension ImportRun {
    /// Reads back from CAR what re-derived records had before, and removes what no longer
    /// holds: vertices whose key changed are deleted, edges anchored at re-derived vertices that
    /// were not produced again are deactivated.
    func reconcile(_ derived: Rederived, car: CARClient, pipeline: Pipeline) async throws {
        let source = settings.source
        // Key changes: a key collection's vertex found by its external id under another key.
        for (collection, byID) in derived.keysByExternalID.sorted(by: { $0.key < $1.key }) where !byID.isEmpty {
            let found = try await car.vertices(collection, source: source, externalIDs: Array(byID.keys).sorted(), keyField: "_key")
            let stale = found.filter { byID[$0.externalID] != $0.key }.map(\.key)
            if !stale.isEmpty {
                try await sink.delete(collection: collection, ids: stale, byKey: true)
                await pipeline.deleted(collection, stale.count)
                logger.info("deleted \(stale.count) \(collection) whose key changed", label: "import")
            }
        }
        // Edges anchored at re-derived vertices.
        for mapping in definition.edges {
            guard case .edge(let fromColl, let toColl, _, _)? = definition.catalogue[mapping.collection]?.kind else { continue }
            let own = Set(definition.vertices.filter { $0.from == mapping.from }.map(\.collection))
            let anchorColl = own.contains(fromColl) ? fromColl : own.contains(toColl) ? toColl : nil
            guard let anchorColl, let anchors = derived.anchors[anchorColl], !anchors.isEmpty else { continue }
            let produced = derived.edges[mapping.collection] ?? []
            let held = try await car.activeEdges(
                mapping.collection, from: fromColl, to: toColl, source: source, touching: anchors.sorted().map { CARVertex(anchorColl, $0) })
            var deactivated = 0
            for edge in held where !produced.contains("\(edge.from)|\(edge.to)") {
                try await sink.deactivate(collection: mapping.collection, from: edge.from, to: edge.to)
                deactivated += 1
            }
            if deactivated > 0 {
                await pipeline.deactivated(mapping.collection, deactivated)
                logger.info("deactivated \(deactivated) \(mapping.collection) edges that no longer hold", label: "import")
            }
        }
    }
}
