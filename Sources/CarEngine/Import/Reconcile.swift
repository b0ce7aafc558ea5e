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

/// Vertex ids as CAR's read-back names them.
enum CARIDs {
    /// `<source>/<external id>`, `<source>/0/<ip>` for ipaddress.
    static func graphID(source: String, collection: String, key: String) -> String {
        collection == "ipaddress" ? "\(source)/0/\(key)" : "\(source)/\(key)"
    }

    /// The key inside a read-back id.
    static func key(fromGraphID id: String, source: String, collection: String) -> String {
        var rest = Substring(id)
        if rest.hasPrefix(source + "/") { rest = rest.dropFirst(source.count + 1) }
        if collection == "ipaddress" && rest.hasPrefix("0/") { rest = rest.dropFirst(2) }
        return String(rest)
    }
}

extension ImportRun {
    static let readBackChunk = 200

    /// Reads back from CAR what re-derived records had before, and removes what no longer
    /// holds: vertices whose key changed are deleted, edges anchored at re-derived vertices that
    /// were not produced again are deactivated.
    func reconcile(_ derived: Rederived, car: CARClient, pipeline: Pipeline) async throws {
        let source = settings.source
        // Key changes: a key collection's vertex found by its external id under another key.
        for (collection, byID) in derived.keysByExternalID where !byID.isEmpty {
            var stale: [String] = []
            for chunk in Array(byID.keys).sorted().chunked(Self.readBackChunk) {
                let list = chunk.map(GraphQLText.string).joined(separator: ", ")
                let q = "{ \(collection)(where: {_and: [{source: {_eq: \(GraphQLText.string(source))}}, {external_id: {_in: [\(list)]}}]}) { _key, external_id } }"
                for doc in try await car.query(q)?[collection]?.arrayValue ?? [] {
                    guard let key = doc["_key"].map(renderString), let id = doc["external_id"].map(renderString) else { continue }
                    if byID[id] != key { stale.append(key) }
                }
            }
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
            var deactivated = 0
            for chunk in anchors.sorted().chunked(Self.readBackChunk) {
                let ids = chunk.map { GraphQLText.string(CARIDs.graphID(source: source, collection: anchorColl, key: $0)) }.joined(separator: ", ")
                let q = "{ \(mapping.collection)(where: {_and: [{source: {_eq: \(GraphQLText.string(source))}}, {\(anchorColl)_id: {_in: [\(ids)]}}, {active: {_eq: true}}]}) { \(fromColl)_id, \(toColl)_id } }"
                for doc in try await car.query(q)?[mapping.collection]?.arrayValue ?? [] {
                    guard let from = doc["\(fromColl)_id"].map(renderString), let to = doc["\(toColl)_id"].map(renderString) else { continue }
                    let identity = "\(fromColl)/\(CARIDs.key(fromGraphID: from, source: source, collection: fromColl))|\(toColl)/\(CARIDs.key(fromGraphID: to, source: source, collection: toColl))"
                    if !produced.contains(identity) {
                        try await sink.deactivate(collection: mapping.collection, from: from, to: to)
                        deactivated += 1
                    }
                }
            }
            if deactivated > 0 {
                await pipeline.deactivated(mapping.collection, deactivated)
                logger.info("deactivated \(deactivated) \(mapping.collection) edges that no longer hold", label: "import")
            }
        }
    }
}

extension Array {
    func chunked(_ size: Int) -> [[Element]] {
        stride(from: 0, to: count, by: size).map { Array(self[$0..<Swift.min($0 + size, count)]) }
    }
}
