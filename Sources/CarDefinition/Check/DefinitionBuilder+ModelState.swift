import MappingDSL

/// Building model_state (save points and change feeds) and deletions.
extension DefinitionBuilder {
    // MARK: Model state and deletions

    mutating func buildModelState(_ node: YAMLNode?, endpoints: [String: Endpoint]) -> ModelStateSpec? {
        guard let node else { return nil }
        var current = ModelStateSpec.Current.runStart
        if let c = node["current"], c.pairs != nil {
            let req = request(c["request"], scope: requestScope())
            if c["request"]?["path"] == nil, let r = c["request"] { error("the request needs a 'path'", r.location) }
            if let value = expression(c["value"], scope: requestScope(document: true), expect: [.string, .int, .double], what: "'value'") {
                current = .request(req, value: value)
            }
        }
        var delta: ModelStateSpec.Delta?
        if let d = node["delta"] {
            let stateScope = requestScope()
            let req = request(d["request"], scope: stateScope)
            if d["request"]?["path"] == nil, let r = d["request"] { error("the request needs a 'path'", r.location) }
            let changeScope = requestScope([.endpoint], document: true)
            let updated = expression(d["updated"], scope: changeScope, expect: .array, what: "'updated'")
            let deleted = expression(d["deleted"], scope: changeScope, expect: .array, what: "'deleted'")
            var list: [String]?
            if let items = d["endpoints"]?.items {
                list = []
                for item in items {
                    guard let n = item.scalarText else { continue }
                    if endpoints[n] == nil {
                        error("unknown endpoint '\(n)'\(Suggest.hint(for: n, in: endpointNames))", item.location)
                    }
                    list?.append(n)
                }
            }
            let expect = expression(d["expect"], scope: requestScope(document: true), expect: .bool, what: "'expect'")
            if let updated { delta = .init(request: req, updated: updated, deleted: deleted, endpoints: list, expect: expect) }
        }
        let updatedSince = bool(node, "updated_since") ?? false
        let feeds = buildEventFeeds(node["events"], endpoints: endpoints)
        // Endpoints may also filter with the last run's time in their own requests.
        let filtersByTime = !usedVariables.isDisjoint(with: ["last_run_ms", "last_run_iso", "last_state"])
        if updatedSince && !filtersByTime && !endpoints.values.contains(where: { !$0.updatedSinceQuery.isEmpty || $0.updatedSinceBody != nil }) {
            warning("model_state.updated_since is set, but no endpoint declares an updated_since filter", keyNode(node, "updated_since")?.location)
        }
        if !updatedSince && node["delta"] == nil && node["events"] == nil {
            warning("model_state has neither 'delta', 'events' nor 'updated_since': every run will be a full import", node.location)
        }
        if updatedSince && node["delta"] != nil, let k = keyNode(node, "updated_since") {
            error("model_state takes 'delta' or 'updated_since', not both: a run reads changes one way", k.location)
        }
        var changes: ChangeTracking = delta.map { .changeLog($0) } ?? (updatedSince ? .updatedSince : .none)
        if node["events"] != nil { changes = .events(feeds) }
        return ModelStateSpec(current: current, changes: changes)
    }

    mutating func buildEventFeeds(_ node: YAMLNode?, endpoints: [String: Endpoint]) -> [EventFeed] {
        var feeds: [EventFeed] = []
        for item in node?.items ?? [] {
            let scope = variables.scope([.parameter, .run], document: true, functions: FunctionTable.standard)
            let from = text(item, "from") ?? ""
            let touched = text(item, "endpoint") ?? ""
            for (key, name) in [("from", from), ("endpoint", touched)] where endpoints[name] == nil && item[key] != nil {
                error("unknown endpoint '\(name)'\(Suggest.hint(for: name, in: endpointNames))", item[key]?.location)
            }
            // Deleted records are not read; created and updated ones are read again by id.
            let deletesOnly = item["change"]?.scalarText.map { $0.trimming(" ") == "'delete'" || $0.trimming(" ") == "\"delete\"" } ?? false
            if let e = endpoints[touched], e.byIDs == nil, !deletesOnly {
                error("endpoint '\(touched)' has no by_ids: the records events create or update are read again by id (an entry whose change is 'delete' needs none)",
                      item["endpoint"]?.location)
            }
            if let e = endpoints[from], e.forEach != nil {
                error("an event endpoint cannot be a for_each endpoint", item["from"]?.location)
            }
            usedEndpoints.insert(from)
            let when = expression(item["when"], scope: scope, expect: .bool, what: "'when'")
            let id = expression(item["id"], scope: scope, expect: [.string, .int, .array], what: "'id'")
            let change = expression(item["change"], scope: scope, expect: .string, what: "'change'")
            if let c = change?.compiled.constant, EventFeed.Change(rawValue: c.stringValue ?? "") == nil {
                error("'change' is 'create', 'update' or 'delete'", item["change"]?.location)
            }
            guard let id, let change, endpoints[from] != nil, endpoints[touched] != nil else { continue }
            feeds.append(EventFeed(from: from, when: when, endpoint: touched, id: id, change: change, location: item.location))
        }
        return feeds
    }

    mutating func buildDeletions(_ node: YAMLNode?, catalogue: CARCatalogue) -> DeletionPolicy {
        var d = DeletionPolicy()
        guard let node else { return d }
        d.deletedRecords = bool(node, "deleted_records") ?? true
        d.missingOnReread = bool(node, "missing_on_reread") ?? true
        d.reconcileEdges = bool(node, "reconcile_edges") ?? true
        if let r = node["retention"] {
            d.retentionDays = template(r["days"], scope: requestScope())
            for item in r["collections"]?.items ?? [] {
                guard let c = item.scalarText else { continue }
                if catalogue[c] == nil || catalogue[c]?.isEdge == true {
                    error("unknown vertex collection '\(c)'\(Suggest.hint(for: c, in: catalogue.vertexNames))", item.location)
                }
                d.retentionCollections.append(c)
            }
        }
        return d
    }

    // MARK: Schema extension

    static func fieldType(_ carType: String) -> FieldType {
        switch carType {
        case "numeric", "float": return .number
        case "integer", "bigint", "timestamp": return .integer
        case "boolean": return .boolean
        case "jsonb": return .any
        default: return .string
        }
    }
}
