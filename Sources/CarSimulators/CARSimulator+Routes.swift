import CarDefinition
import CarEngine
import LoopbackHTTP
import MappingDSL

extension CARSimulator {
    static func json(_ value: JSON, status: Int = 200) -> HTTPServerResponse {
        .json(JSONWriter().string(value), status: status)
    }

    static func error(_ message: String, status: Int) -> HTTPServerResponse {
        json(["error": .string(message)], status: status)
    }

    func handle(_ request: HTTPServerRequest) -> HTTPServerResponse {
        if request.path.hasPrefix("/admin/") { return admin(request) }
        // Faults first: they stand for the service misbehaving, before it looks at anything.
        var route = ""
        var v3 = false
        if request.path.hasPrefix("/api/car/v2/") {
            route = String(request.path.dropFirst("/api/car/v2/".count))
        } else if request.path.hasPrefix("/api/car/v3/") {
            route = String(request.path.dropFirst("/api/car/v3/".count))
            v3 = true
        } else {
            return Self.error("not found", status: 404)
        }
        let fault: HTTPServerResponse? = state.withLock { s in
            s.calls.append("\(request.method) \(request.target)")
            if s.faults.drop > 0 {
                s.faults.drop -= 1
                var r = HTTPServerResponse.json("{}")
                r.dropAfterBytes = 0
                return r
            }
            if let i = s.faults.routes.firstIndex(where: { f in
                f.remaining > 0 && (f.method == nil || f.method == request.method) && route.hasPrefix(f.path)
            }) {
                if s.faults.routes[i].after > 0 {
                    s.faults.routes[i].after -= 1
                    return nil
                }
                s.faults.routes[i].remaining -= 1
                return Self.error("injected fault", status: s.faults.routes[i].status)
            }
            return nil
        }
        var response: HTTPServerResponse
        if let fault {
            response = fault
        } else if !authorized(request) {
            response = Self.error("unauthorized", status: 401)
        } else {
            response = dispatch(request, route: route, v3: v3)
        }
        let delay = state.withLock { $0.faults.delayMs }
        if delay > 0 { response.delayMs = delay }
        return response
    }

    func authorized(_ request: HTTPServerRequest) -> Bool {
        guard let auth = request.header("Authorization") else { return false }
        if auth == "car-token " + options.token { return true }
        return auth == "Basic " + Base64.encode(Array("\(options.key):\(options.password)".utf8))
    }

    func admin(_ request: HTTPServerRequest) -> HTTPServerResponse {
        switch (request.method, request.path) {
        case ("GET", "/admin/graph"):
            return Self.json(graph)
        case ("GET", "/admin/calls"):
            return Self.json(.array(calls.map { .string($0) }))
        case ("POST", "/admin/faults"):
            guard let body = try? JSONParser.parse(request.body) else { return Self.error("the body must be JSON", status: 400) }
            setFaults(body)
            return Self.json(["ok": true])
        case ("POST", "/admin/reset"):
            state.withLock { s in
                s = State()
                if options.databaseReady { s.database = Database(graphName: "assets", collectionsWithoutIndexes: [], ready: true) }
                persist(s)
            }
            return Self.json(["ok": true])
        default:
            return Self.error("unknown admin route", status: 404)
        }
    }

    func body(_ request: HTTPServerRequest) -> JSON? { try? JSONParser.parse(request.body) }

    func newJob(_ s: inout State, errorStatus: Int? = nil, error: String? = nil) -> String {
        let id = "job-\(s.nextJob)"
        if !s.faults.duplicateJobIDs { s.nextJob += 1 }
        s.jobs[id] = Job(pollsLeft: s.faults.incompletePolls, errorStatus: errorStatus, error: error)
        return id
    }

    func dispatch(_ request: HTTPServerRequest, route: String, v3: Bool) -> HTTPServerResponse {
        let parts = route.split(separator: "/", omittingEmptySubsequences: false).map { PercentDecoding.decode(String($0)) }
        let method = request.method
        switch (method, parts.first ?? "") {
        case ("GET", "source") where parts.count == 2:
            return state.withLock { s in
                guard let g = s.sources[parts[1]] else { return Self.error("no such source", status: 404) }
                return Self.json(["model_state_id": .string(g.modelStateID ?? "")])
            }
        case ("PATCH", "source") where parts.count == 1:
            guard let key = request.queryValue("key"), let b = body(request), case .string(let id)? = b["model_state_id"] else {
                return Self.error("PATCH source needs ?key= and {\"model_state_id\"}", status: 400)
            }
            return state.withLock { s in
                s.sources[key, default: SourceGraph()].modelStateID = id
                persist(s)
                return Self.json(["ok": true])
            }
        case ("POST", "source") where parts.count == 3 && parts[2] == "full-import-in-progress",
            ("DELETE", "source") where parts.count == 3 && parts[2] == "full-import-in-progress":
            return state.withLock { s in
                var graph = s.sources.removeValue(forKey: parts[1]) ?? SourceGraph()
                if method == "POST" {
                    graph.fullImportInProgress = true
                    graph.fullImportSince = s.importSequence
                } else if graph.fullImportInProgress {
                    // What the full import did not touch is gone from the datasource.
                    graph.fullImportInProgress = false
                    for (c, docs) in graph.vertices {
                        for k in docs.keys where (graph.touched[c]?[k] ?? 0) <= graph.fullImportSince { _ = graph.removeVertex(c, k) }
                    }
                    for (c, docs) in graph.edges {
                        for (k, e) in docs where e.sequence <= graph.fullImportSince { graph.edges[c]?[k]?.active = false }
                    }
                }
                s.sources[parts[1]] = graph
                let id = newJob(&s)
                persist(s)
                return Self.json(["job_id": .string(id)])
            }
        case ("DELETE", "source") where parts.count == 3:
            return deleteVertices(source: parts[1], collection: parts[2], request: request)
        case ("POST", "imports"):
            return importEnvelope(request)
        case ("GET", "importstatus"):
            return importStatus(request)
        case ("GET", "databases"):
            return state.withLock { s in
                guard let d = s.database else { return Self.error("no database", status: 400) }
                return Self.json(["databases": [["graph_name": .string(d.graphName),
                                                 "collections_without_indexes": .array(d.collectionsWithoutIndexes.map { .string($0) }),
                                                 "is_ready": .bool(d.ready)]]])
            }
        case ("POST", "databases"):
            return state.withLock { s in
                s.database = Database()
                let id = newJob(&s)
                persist(s)
                return Self.json(["job_id": .string(id)])
            }
        case ("PATCH", "databases"):
            let b = body(request) ?? .null
            return state.withLock { s in
                guard var d = s.database else { return Self.error("no database", status: 400) }
                if let g = b["graph_name"]?.stringValue { d.graphName = g }
                if let list = b["collections_without_indexes"]?.arrayValue {
                    let indexed = Set(list.compactMap(\.stringValue))
                    d.collectionsWithoutIndexes.removeAll { indexed.contains($0) }
                }
                d.ready = !d.graphName.isEmpty && d.collectionsWithoutIndexes.isEmpty
                s.database = d
                let id = newJob(&s)
                persist(s)
                return Self.json(["job_id": .string(id)])
            }
        case ("GET", "jobstatus") where parts.count == 2:
            return state.withLock { s in
                guard var job = s.jobs[parts[1]] else { return Self.error("no such job", status: 404) }
                if job.pollsLeft > 0 {
                    job.pollsLeft -= 1
                    s.jobs[parts[1]] = job
                    return Self.json(["status": "IN_PROGRESS"])
                }
                return Self.json(["status": job.errorStatus == nil ? "COMPLETE" : "ERROR"])
            }
        case ("POST", "query") where v3:
            guard let text = body(request)?["query"]?.stringValue else { return Self.error("POST query needs {\"query\"}", status: 400) }
            return readBack(text)
        case ("GET", "carSchema") where v3 && parts.count == 2:
            return state.withLock { s in
                guard let ext = s.extensions[parts[1]] else { return Self.error("no such extension", status: 404) }
                return Self.json(ext)
            }
        case ("POST", "carSchema") where v3:
            guard let b = body(request), case .string(let key)? = b["key"], b["schema"]?["vertices"]?.arrayValue != nil,
                b["schema"]?["edges"]?.arrayValue != nil
            else { return Self.error("a schema extension needs key, owner, version and schema {vertices, edges}", status: 400) }
            return state.withLock { s in
                s.extensions[key] = b
                persist(s)
                return Self.json(["ok": true])
            }
        case ("GET", "importSchema") where v3:
            return Self.json(["version": "v2", "schema": options.importSchema])
        case ("PATCH", _) where parts.count == 1:
            return patch(collection: parts[0], request: request)
        default:
            return Self.error("no route \(method) \(route)", status: 404)
        }
    }

    // MARK: Imports

    func importEnvelope(_ request: HTTPServerRequest) -> HTTPServerResponse {
        guard case .object(let envelope)? = body(request) else { return Self.error("the import body must be a JSON object", status: 400) }
        guard case .string(let source)? = envelope["source"]?["_key"], !source.isEmpty else {
            return Self.error("source._key is required", status: 400)
        }
        guard let timestamp = envelope["report"]?["timestamp"]?.doubleValue, envelope["report"]?["_key"]?.stringValue != nil else {
            return Self.error("report._key and report.timestamp are required", status: 400)
        }
        // Validate everything before applying anything.
        for (collection, value) in envelope where collection != "source" && collection != "report" {
            guard case .array(let items) = value else { return Self.error("\(collection) must be a list", status: 400) }
            for (i, item) in items.enumerated() {
                guard case .object(let o) = item else { return Self.error("\(collection)[\(i)] must be an object", status: 400) }
                if let problem = validator?.problems(Self.derivingFields(o, collection: collection), collection: collection).first {
                    return Self.error("\(collection)[\(i)]: \(problem.description)", status: 400)
                }
            }
        }
        return state.withLock { s in
            let failing = s.faults.failImportCount > 0
            if failing {
                s.faults.failImportCount -= 1
                let id = newJob(&s, errorStatus: s.faults.failImportStatus ?? 500, error: "injected import failure")
                s.unconfirmed.insert(id)
                s.maxUnconfirmed = max(s.maxUnconfirmed, s.unconfirmed.count)
                return Self.json(["id": .string(id)])
            }
            // Out of the dictionary while changed: no copy of the whole graph per import.
            var graph = s.sources.removeValue(forKey: source) ?? SourceGraph()
            s.importSequence += 1
            let sequence = s.importSequence
            // Per collection, its tables are taken out of the graph while items merge in: the
            // collection's name is hashed once per envelope, not several times per item.
            for (collection, value) in envelope where collection != "source" && collection != "report" {
                let items = value.arrayValue ?? []
                if let (fromColl, toColl) = edgeEnds(collection, s) {
                    graph.mergeEdges(collection, items, from: fromColl, to: toColl, sequence: sequence)
                } else {
                    graph.mergeVertices(collection, items, timestamp: Int64(timestamp), sequence: sequence)
                }
            }
            s.sources[source] = graph
            let id = newJob(&s)
            s.unconfirmed.insert(id)
            s.maxUnconfirmed = max(s.maxUnconfirmed, s.unconfirmed.count)
            persist(s)
            return Self.json(["id": .string(id)])
        }
    }

    /// `<collection>/<key>` of one end of an edge document.
    static func end(_ o: JSONObject, idKey: String, refKey: String, collection: String) -> String? {
        if case .string(let id)? = o[idKey], !id.isEmpty { return collection + "/" + id }
        if case .string(let ref)? = o[refKey], ref.hasPrefix(collection + "/") { return ref }
        return nil
    }

    func importStatus(_ request: HTTPServerRequest) -> HTTPServerResponse {
        let ids = (request.queryValue("ids") ?? "").split(separator: ",").map(String.init)
        return state.withLock { s in
            var errors: [JSON] = []
            var incomplete: [JSON] = []
            for id in ids {
                guard var job = s.jobs[id] else {
                    errors.append(["id": .string(id), "error": "unknown import job", "statusCode": 404])
                    continue
                }
                if job.pollsLeft > 0 {
                    job.pollsLeft -= 1
                    s.jobs[id] = job
                    incomplete.append(["id": .string(id)])
                    continue
                }
                s.unconfirmed.remove(id)
                if let status = job.errorStatus {
                    errors.append(["id": .string(id), "error": .string(job.error ?? "failed"), "statusCode": .int(Int64(status))])
                }
            }
            return Self.json(["error_imports": .array(errors), "incomplete_imports": .array(incomplete)])
        }
    }

    // MARK: Deletions and patches

    func deleteVertices(source: String, collection: String, request: HTTPServerRequest) -> HTTPServerResponse {
        let byKey = request.queryValue("keys")
        let byID = request.queryValue("external_ids")
        guard let list = byKey ?? byID else { return Self.error("DELETE needs ?external_ids= or ?keys=", status: 400) }
        let ids = list.split(separator: ",").map(String.init)
        return state.withLock { s in
            guard var graph = s.sources.removeValue(forKey: source) else { return Self.json(["deleted": 0]) }
            var deleted = 0
            for id in ids {
                if graph.removeVertex(collection, id) { deleted += 1 }
                // The source's edges touching the vertex are deactivated.
                let ref = "\(collection)/\(id)"
                for (edgeCollection, index) in graph.edgesByEnd {
                    for k in index[ref] ?? [] { graph.edges[edgeCollection]?[k]?.active = false }
                }
            }
            s.sources[source] = graph
            persist(s)
            return Self.json(["deleted": .int(Int64(deleted))])
        }
    }

    func patch(collection: String, request: HTTPServerRequest) -> HTTPServerResponse {
        guard case .object(let fields)? = body(request) else { return Self.error("PATCH needs a JSON object", status: 400) }
        return state.withLock { s in
            if let (fromColl, toColl) = edgeEnds(collection, s) {
                guard let source = request.queryValue("source"), let from = request.queryValue("from"), let to = request.queryValue("to") else {
                    return Self.error("PATCH of an edge needs ?source=&from=&to=", status: 400)
                }
                guard var graph = s.sources.removeValue(forKey: source) else { return Self.error("no such source", status: 404) }
                defer { s.sources[source] = graph }
                // The ends are named relative to the source; anything else names no vertex.
                guard let fromRef = Self.reference(edgeEnd: from, collection: fromColl), let toRef = Self.reference(edgeEnd: to, collection: toColl),
                    var doc = graph.edges[collection]?[fromRef + "|" + toRef]
                else { return Self.error("no such edge", status: 404) }
                for (k, v) in fields {
                    if k == "active" { doc.active = v != .bool(false) } else { doc.fields[k] = v }
                }
                graph.edges[collection]?[fromRef + "|" + toRef] = doc
                persist(s)
                return Self.json(["ok": true])
            }
            guard let id = request.queryValue("external_id") else { return Self.error("PATCH of a vertex needs ?external_id=", status: 400) }
            var patched = 0
            for name in Array(s.sources.keys) {
                guard var graph = s.sources.removeValue(forKey: name) else { continue }
                if var doc = graph.vertices[collection]?[id] {
                    for (k, v) in fields { doc[k] = v }
                    graph.putVertex(collection, id, doc)
                    patched += 1
                }
                s.sources[name] = graph
            }
            if patched == 0 { return Self.error("no such vertex", status: 404) }
            persist(s)
            return Self.json(["ok": true])
        }
    }
}
