import CarDefinition
import CarEngine
import LoopbackHTTP
import MappingDSL

/// GraphQL read-back (`POST v3/query`) and the names CAR gives vertices outside envelopes.
extension CARSimulator {
    /// Answers a read-back query: 400 with a GraphQL error for a query it cannot parse or an
    /// operator it does not take (`--graphql-ops`), else `{"data": {<collection>: [...]}}`.
    func readBack(_ text: String) -> HTTPServerResponse {
        let q: GraphQLQuery
        do { q = try GraphQLQuery.parse(text) } catch {
            return Self.graphQLError("query: \(error)")
        }
        let allowed = options.graphqlOperators ?? GraphQLQuery.implemented
        let unknown = q.operators().subtracting(allowed)
        if !unknown.isEmpty {
            return Self.graphQLError("unknown operator \(unknown.sorted().joined(separator: ", ")) (this service takes \(allowed.sorted().joined(separator: ", ")))")
        }
        return state.withLock { s in
            let selected = documents(q.collection, s, query: q).filter { q.matches($0) }.map { d -> JSON in
                var o = JSONObject()
                for f in q.fields { o[f] = d[f] ?? .null }
                return .object(o)
            }
            return Self.json(["data": [q.collection: .array(selected)]])
        }
    }

    static func graphQLError(_ message: String) -> HTTPServerResponse {
        json(["errors": [["message": .string(message)]]], status: 400)
    }

    /// The vertex an edge patch names (`from=`, `to=`): the read-back id without `<source>/`,
    /// so `17` for an asset and `0/10.0.0.5` for an ipaddress (IBM's connectors strip the prefix
    /// with `split('/', 1)[1]` and add `0/` for ipaddress ends).
    static func reference(edgeEnd end: String, collection: String) -> String? {
        if collection == "ipaddress" {
            guard end.hasPrefix("0/") else { return nil }
            return collection + "/" + end.dropFirst(2)
        }
        return collection + "/" + end
    }

    /// The vertex a read-back id of this source names (`<source>/17`, `<source>/0/10.0.0.5`).
    static func reference(readBackID id: String, collection: String, source: String) -> String? {
        guard id.hasPrefix(source + "/") else { return nil }
        return reference(edgeEnd: String(id.dropFirst(source.count + 1)), collection: collection)
    }

    // MARK: Read-back

    /// The documents of a collection as GraphQL sees them, over every source: only the
    /// candidates an indexed condition (external id, key, an edge end) allows, when there is one.
    func documents(_ collection: String, _ s: State, query: GraphQLQuery? = nil) -> [JSONObject] {
        var out: [JSONObject] = []
        let wanted = query?.indexedValues() ?? [:]
        for name in s.sources.keys.sorted() {
            guard let g = s.sources[name] else { continue }
            if let (fromColl, toColl) = edgeEnds(collection, s) {
                var ids: [String]
                if let values = wanted[fromColl + "_id"] ?? wanted[toColl + "_id"] {
                    let endColl = wanted[fromColl + "_id"] != nil ? fromColl : toColl
                    var set: Set<String> = []
                    for v in values {
                        guard let ref = Self.reference(readBackID: v, collection: endColl, source: name) else { continue }
                        set.formUnion(g.edgesByEnd[collection]?[ref] ?? [])
                    }
                    ids = set.sorted()
                } else {
                    ids = (g.edges[collection] ?? [:]).keys.sorted()
                }
                for k in ids {
                    guard let e = g.edges[collection]?[k] else { continue }
                    var o = e.fields
                    o["source"] = .string(name)
                    o["active"] = .bool(e.active)
                    o[fromColl + "_id"] = .string(Self.graphID(source: name, collection: fromColl, key: String(e.from.dropFirst(fromColl.count + 1))))
                    o[toColl + "_id"] = .string(Self.graphID(source: name, collection: toColl, key: String(e.to.dropFirst(toColl.count + 1))))
                    out.append(o)
                }
            } else {
                var keys: [String]
                if let values = wanted["_key"] {
                    keys = values.sorted()
                } else if let values = wanted["external_id"] {
                    if Self.keyCollections.contains(collection) {
                        var set: Set<String> = []
                        for v in values { set.formUnion(g.keysByExternalID[collection]?[v] ?? []) }
                        keys = set.sorted()
                    } else {
                        keys = values.sorted()
                    }
                } else {
                    keys = (g.vertices[collection] ?? [:]).keys.sorted()
                }
                for k in keys {
                    guard var o = g.vertices[collection]?[k] else { continue }
                    o["source"] = .string(name)
                    o["last_seen_timestamp"] = .int(g.lastSeen[collection]?[k] ?? 0)
                    if o["_key"] == nil { o["_key"] = .string(k) }
                    out.append(o)
                }
            }
        }
        return out
    }
}
