import CarDefinition
import Logging
import MappingDSL

/// What an incremental import must do, from a change log or from event logs: per endpoint, the
/// ids of records to read again and of records deleted, and records already read through an
/// endpoint's `updated_since` filter.
struct ChangePlan {
    /// The endpoints the changes cover.
    var endpoints: [String] = []
    var updatedBy: [String: [JSON]] = [:]
    var deletedBy: [String: [JSON]] = [:]
    /// Records read with `updated_since` (they need no read by id).
    var readBy: [String: [JSON]] = [:]

    /// Endpoints with any change.
    var changed: Set<String> {
        Set(endpoints.filter { !(updatedBy[$0] ?? []).isEmpty || !(deletedBy[$0] ?? []).isEmpty || !(readBy[$0] ?? []).isEmpty })
    }
}

extension ImportRun {
    /// The plan from a change log between two save points.
    func changeLogPlan(_ delta: ModelStateSpec.Delta, client: DatasourceClient, last: String, new: String) async throws -> ChangePlan {
        let changes: JSON
        if last == new {
            changes = .null
        } else {
            changes = try await client.changeLog(delta, values: ["last_state": .string(last), "new_state": .string(new)])
        }
        var plan = ChangePlan()
        plan.endpoints = delta.endpoints ?? definition.endpointOrder.filter { name in
            definition.lookupEndpoints.contains(name) || (definition.vertices + definition.edges).contains { $0.from == name }
        }
        for endpoint in plan.endpoints {
            var ctx = context(["endpoint": .string(endpoint), "last_state": .string(last), "new_state": .string(new)])
            ctx.document = changes
            plan.updatedBy[endpoint] = try ids(delta.updated, ctx, "updated", endpoint)
            plan.deletedBy[endpoint] = try delta.deleted.map { try ids($0, ctx, "deleted", endpoint) } ?? []
        }
        return plan
    }

    /// The plan from event logs: every event endpoint is read (its requests filter by the last
    /// run's time), each event classified by the feeds that take it; the last event of a record
    /// in reading order decides whether it is read again or deleted. Endpoints with an
    /// `updated_since` filter are read with it.
    func eventPlan(_ feeds: [EventFeed], client: DatasourceClient) async throws -> ChangePlan {
        var plan = ChangePlan()
        // Per touched endpoint: id → deleted?, in order of the last event.
        var outcome: [String: [String: (id: JSON, deleted: Bool)]] = [:]
        var order: [String: [String]] = [:]
        var events = 0
        var sources: [String] = []
        for feed in feeds where !sources.contains(feed.from) { sources.append(feed.from) }
        for source in sources {
            let mine = feeds.filter { $0.from == source }
            // An event endpoint that mappings also read (with its updated_since filter) keeps
            // its pages for them: one request.
            let mapped = mappedEndpoints.contains(source)
            if mapped { preloaded.withLock { $0[source] = [] } }
            try await client.forEachPage(of: source) { page in
                if mapped { preloaded.withLock { $0[source, default: []].append(JSONWriter().bytes(.array(page))) } }
                for event in page {
                    events += 1
                    var ctx = context()
                    ctx.document = event
                    for feed in mine {
                        if let when = feed.when {
                            guard case .bool(true) = try Self.eventValue(when, ctx, "when", feed) else { continue }
                        }
                        let changeText = try Self.eventValue(feed.change, ctx, "change", feed)
                        guard case .string(let c) = changeText, let change = EventFeed.Change(rawValue: c) else {
                            throw RunFailure(.datasourceData, "event feed from \(source) (line \(feed.location.line)): 'change' gave \(renderString(changeText)), not create, update or delete")
                        }
                        let idValue = try Self.eventValue(feed.id, ctx, "id", feed)
                        for id in idValue.arrayValue ?? [idValue] where !id.isNull {
                            let key = renderString(id)
                            if outcome[feed.endpoint]?[key] == nil { order[feed.endpoint, default: []].append(key) }
                            outcome[feed.endpoint, default: [:]][key] = (id, change == .delete)
                        }
                    }
                }
            }
        }
        for (endpoint, keys) in order {
            for key in keys {
                guard let o = outcome[endpoint]?[key] else { continue }
                if o.deleted { plan.deletedBy[endpoint, default: []].append(o.id) } else { plan.updatedBy[endpoint, default: []].append(o.id) }
            }
        }
        // Endpoints read through their updated_since filter.
        for endpoint in mappedEndpoints {
            guard let e = definition.endpoints[endpoint], !e.updatedSinceQuery.isEmpty || e.updatedSinceBody != nil else { continue }
            var records: [JSON] = []
            // A keyed endpoint was read (with the same filter) before: those pages serve.
            try await pages(of: endpoint) { records += $0 }
            plan.readBy[endpoint] = records
        }
        var touched = Array(order.keys) + Array(plan.readBy.keys)
        touched = definition.endpointOrder.filter { touched.contains($0) }
        plan.endpoints = touched
        logger.info("\(events) events in \(sources.joined(separator: ", ")): \(plan.updatedBy.values.reduce(0) { $0 + $1.count }) records to read again, "
                    + "\(plan.deletedBy.values.reduce(0) { $0 + $1.count }) deleted; \(plan.readBy.values.reduce(0) { $0 + $1.count }) changed records read with updated_since",
                    label: "import")
        return plan
    }

    static func eventValue(_ expr: Expr, _ ctx: EvalContext, _ what: String, _ feed: EventFeed) throws -> JSON {
        do { return try expr.evaluate(ctx) } catch {
            throw RunFailure(.datasourceData, "event feed from \(feed.from) (line \(feed.location.line)): '\(what)': \(error.message)")
        }
    }
}
