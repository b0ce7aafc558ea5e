import CarDefinition
import CarEngine
import MappingDSL

/// The simulator's graph on disk (`--data-dir`): kept across restarts, as a CAR database is.
extension CARSimulator {
    static func load(_ dir: String) -> State? {
        guard let bytes = try? FileIO.read(dir + "/car-simulator.json"), let doc = try? JSONParser.parse(bytes) else { return nil }
        var s = State()
        if let d = doc["database"], !d.isNull {
            s.database = Database(graphName: d["graph_name"]?.stringValue ?? "",
                                  collectionsWithoutIndexes: d["collections_without_indexes"]?.arrayValue?.compactMap(\.stringValue) ?? [],
                                  ready: d["is_ready"] == .bool(true))
        }
        for (k, v) in doc["extensions"]?.objectValue ?? JSONObject() { s.extensions[k] = v }
        for (name, g) in doc["sources"]?.objectValue ?? JSONObject() {
            var graph = SourceGraph()
            graph.modelStateID = g["model_state_id"]?.stringValue
            for (c, docs) in g["vertices"]?.objectValue ?? JSONObject() {
                for d in docs.arrayValue ?? [] {
                    guard case .object(var o) = d else { continue }
                    let seen = Int64(o["_last_seen"]?.doubleValue ?? 0)
                    o["_last_seen"] = nil
                    let key = Self.vertexKey(o, collection: c)
                    graph.putVertex(c, key, o)
                    graph.lastSeen[c, default: [:]][key] = seen
                }
            }
            for (c, docs) in g["edges"]?.objectValue ?? JSONObject() {
                for d in docs.arrayValue ?? [] {
                    guard case .object(var o) = d, let from = o["_from"]?.stringValue, let to = o["_to"]?.stringValue else { continue }
                    let active = o["active"] != .bool(false)
                    o["_from"] = nil
                    o["_to"] = nil
                    o["active"] = nil
                    graph.putEdge(c, from + "|" + to, EdgeDoc(from: from, to: to, fields: o, active: active))
                }
            }
            s.sources[name] = graph
        }
        return s
    }

    func persist(_ s: State) {
        guard let dir = options.dataDirectory else { return }
        var doc = Self.graphJSON(s)
        // Keep last-seen times with the vertices.
        if case .object(var sources)? = doc["sources"] {
            for (name, graph) in s.sources {
                guard case .object(var g)? = sources[name], case .object(var vertices)? = g["vertices"] else { continue }
                for (c, docs) in graph.vertices {
                    vertices[c] = .array(docs.keys.sorted().compactMap { k in
                        docs[k].map { o in
                            var copy = o
                            copy["_last_seen"] = .int(graph.lastSeen[c]?[k] ?? 0)
                            return .object(copy)
                        }
                    })
                }
                g["vertices"] = .object(vertices)
                sources[name] = .object(g)
            }
            if case .object(var top) = doc {
                top["sources"] = .object(sources)
                doc = .object(top)
            }
        }
        try? FileIO.write(JSONWriter().bytes(doc), to: dir + "/car-simulator.json.tmp")
        _ = FileRename.rename(dir + "/car-simulator.json.tmp", dir + "/car-simulator.json")
    }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

enum FileRename {
    static func rename(_ from: String, _ to: String) -> Bool {
        #if canImport(Glibc)
            return Glibc.rename(from, to) == 0
        #else
            return Darwin.rename(from, to) == 0
        #endif
    }
}
