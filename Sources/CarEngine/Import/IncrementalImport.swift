import CarDefinition
import Logging
import MappingDSL

extension ImportRun {
    /// An incremental import's data, exact: changed records are read again by id and sent;
    /// endpoints whose mappings look up changed records are read again whole (their derived
    /// fields and edges may have changed although they did not); what re-derived records no
    /// longer produce is removed after reading back what CAR holds; deleted records (and changed
    /// ones no longer found) have their vertices deleted.
    public func incremental(last: String, new: String) async throws -> RunSummary {
        let started = WallClock.nowMs()
        guard let client else { throw RunFailure(.general, "an incremental import needs the datasource") }
        let pipeline = Pipeline(definition: definition, sink: sink, validator: validator, logger: logger, settings: settings, mode: .incremental)
        await pipeline.startRecording()
        settings.enter("reading changes and sending vertices (incremental import)")
        try await loadKeyedEndpoints()
        let plan: ChangePlan
        switch definition.modelState?.changes {
        case .changeLog(let delta)?: plan = try await changeLogPlan(delta, client: client, last: last, new: new)
        case .events(let feeds)?: plan = try await eventPlan(feeds, client: client)
        default: throw RunFailure(.recoverable, "the definition has no model_state.delta or events: incremental imports are not possible")
        }
        let endpoints = plan.endpoints
        var deletedBy = plan.deletedBy
        let updatedBy = plan.updatedBy
        let changed = plan.changed
        // Endpoints derived from changed records through lookups: their records that looked a
        // changed record up are derived again, found in the dependency index; without a usable
        // index they are read again whole (and every indexed endpoint with them, to rebuild it).
        var dependents = Set(mappedEndpoints.filter { !(definition.lookupsByEndpoint[$0] ?? []).isDisjoint(with: changed) })
        var indexed: [String: Set<String>] = [:]
        if let tracking = dependencies {
            if let usable = tracking.usable {
                let covered = dependents.intersection(tracking.indexable)
                if !covered.isEmpty {
                    var changedIDs: [String: Set<String>] = [:]
                    for endpoint in changed {
                        var ids = Set(((updatedBy[endpoint] ?? []) + (deletedBy[endpoint] ?? [])).map(renderString))
                        ids.formUnion((plan.readBy[endpoint] ?? []).compactMap { recordID($0, endpoint: endpoint) })
                        changedIDs[endpoint] = ids
                    }
                    let found = try DependencyIndex.dependents(directory: tracking.writer.directory, state: usable, fingerprint: tracking.fingerprint, of: changedIDs)
                    for endpoint in covered { indexed[endpoint] = found[endpoint] ?? [] }
                    dependents.subtract(covered)
                }
            } else if let problem = tracking.problem {
                let rebuilt = tracking.indexable.intersection(mappedEndpoints)
                if !rebuilt.isEmpty {
                    logger.info("dependency index: \(problem); reading \(rebuilt.sorted().joined(separator: ", ")) whole to rebuild it", label: "import")
                    dependents.formUnion(rebuilt)
                }
            }
        }
        for endpoint in endpoints where !dependents.contains(endpoint) {
            guard let records = plan.readBy[endpoint], !records.isEmpty else { continue }
            try await derive(records, endpoint: endpoint, pipeline: pipeline)
        }
        for endpoint in endpoints where !dependents.contains(endpoint) {
            let alreadyRead = Set((plan.readBy[endpoint] ?? []).compactMap { recordID($0, endpoint: endpoint) })
            let updated = (updatedBy[endpoint] ?? []).filter { !alreadyRead.contains(renderString($0)) }
            guard !updated.isEmpty else { continue }
            deletedBy[endpoint, default: []] += try await readAgain(updated, endpoint: endpoint, client: client, pipeline: pipeline)
        }
        for endpoint in mappedEndpoints where indexed[endpoint] != nil {
            let done = Set(((updatedBy[endpoint] ?? []) + (deletedBy[endpoint] ?? [])).map(renderString))
            let ids = (indexed[endpoint] ?? []).subtracting(done).sorted()
            await pipeline.rederivedByIndex(endpoint, ids.count)
            guard !ids.isEmpty else { continue }
            logger.info("deriving \(ids.count) \(endpoint) records again: they look up changed records (dependency index)", label: "import")
            deletedBy[endpoint, default: []] += try await readAgain(ids.map { .string($0) }, endpoint: endpoint, client: client, pipeline: pipeline)
        }
        for endpoint in mappedEndpoints where dependents.contains(endpoint) {
            await pipeline.reread(endpoint)
            // Read already through its updated_since filter (an event-log run): not again.
            if let records = plan.readBy[endpoint] {
                logger.info("deriving the \(records.count) \(endpoint) records its updated_since filter read again: its mappings look up changed records",
                            label: "import")
                try await derive(records, endpoint: endpoint, pipeline: pipeline)
                continue
            }
            logger.info("reading \(endpoint) again: its mappings look up changed records", label: "import")
            try await pages(of: endpoint) { try await derive($0, endpoint: endpoint, pipeline: pipeline) }
        }
        try await sendEdgesAndReconcile(pipeline)
        if definition.deletions.deletedRecords {
            for endpoint in Set(endpoints).union(indexed.keys).sorted() {
                let deleted = deletedBy[endpoint] ?? []
                if !deleted.isEmpty { try await delete(deleted, endpoint: endpoint, pipeline: pipeline) }
            }
        }
        if let tracking = dependencies {
            for (endpoint, ids) in deletedBy where tracking.indexable.contains(endpoint) { tracking.writer.deleted(endpoint: endpoint, ids: ids.map(renderString)) }
            // The previous index's lines of the records not derived again.
            if let usable = tracking.usable { try tracking.writer.carry(from: usable) }
        }
        return await pipeline.finish(durationMs: WallClock.nowMs() - started)
    }

    /// An incremental import through each endpoint's `updated_since` filter: the records changed
    /// since the last run are read and sent, and what they no longer produce is removed after
    /// reading back what CAR holds (edges deactivated, vertices whose key changed deleted).
    public func updatedSinceImport() async throws -> RunSummary {
        let started = WallClock.nowMs()
        let pipeline = Pipeline(definition: definition, sink: sink, validator: validator, logger: logger, settings: settings, mode: .incremental)
        await pipeline.startRecording()
        settings.enter("reading changed records and sending vertices (incremental import)")
        try await loadKeyedEndpoints()
        try await readAll(pipeline: pipeline)
        try await sendEdgesAndReconcile(pipeline)
        return await pipeline.finish(durationMs: WallClock.nowMs() - started)
    }

    /// Maps records read in this run (and reads and maps their `for_each` children).
    func derive(_ records: [JSON], endpoint: String, pipeline: Pipeline) async throws {
        cache.add(records, endpoint: endpoint, context: context())
        try await process(records, endpoint: endpoint, parent: nil, pipeline: pipeline)
        try await processChildren(of: records, endpoint: endpoint, pipeline: pipeline)
    }

    /// Reads records again by id and maps them; returns the ids no longer found (counted as
    /// deleted with `deletions.missing_on_reread`).
    func readAgain(_ ids: [JSON], endpoint: String, client: DatasourceClient, pipeline: Pipeline) async throws -> [JSON] {
        let records = try await client.fetch(endpoint, ids: ids)
        try await derive(records, endpoint: endpoint, pipeline: pipeline)
        guard definition.deletions.missingOnReread else { return [] }
        let found = Set(records.compactMap { recordID($0, endpoint: endpoint) })
        return ids.filter { !found.contains(renderString($0)) }
    }

    /// The end of an incremental import's sending: the vertices' last batches, the edges, then
    /// what re-derived records no longer produce removed (read back from CAR).
    func sendEdgesAndReconcile(_ pipeline: Pipeline) async throws {
        try await pipeline.finishVertices()
        settings.enter("sending edges (incremental import)")
        try await pipeline.sendEdges()
        settings.enter("removing what no longer holds (incremental import)")
        if let car, definition.deletions.reconcileEdges {
            try await reconcile(await pipeline.rederived, car: car, pipeline: pipeline)
        }
    }

    func recordID(_ record: JSON, endpoint: String) -> String? {
        var c = context()
        c.document = record
        guard let idExpr = definition.endpoints[endpoint]?.id else { return record["id"].map(renderString) }
        guard let v = try? idExpr.evaluate(c), !v.isNull else { return nil }
        return renderString(v)
    }

    func ids(_ expr: Expr, _ ctx: EvalContext, _ what: String, _ endpoint: String) throws -> [JSON] {
        let value: JSON
        do { value = try expr.evaluate(ctx) } catch {
            throw RunFailure(.datasourceData, "delta \(what) of endpoint \(endpoint): \(error.message)")
        }
        switch value {
        case .array(let a): return a.filter { !$0.isNull }
        case .null: return []
        default: throw RunFailure(.datasourceData, "delta \(what) of endpoint \(endpoint) gave \(value.typeName), not a list of ids")
        }
    }

    /// Deletes the vertices that records of an endpoint with these ids became. The key comes
    /// from a record holding only its id (`{pk: 5}`) where the mapping allows; otherwise the
    /// vertex is found in CAR by a field that does follow from the id (`external_id: str($.pk)`).
    func delete(_ ids: [JSON], endpoint: String, pipeline: Pipeline) async throws {
        for mapping in definition.vertices where mapping.from == endpoint && !mapping.fansOut {
            guard let info = definition.catalogue[mapping.collection], let keyKind = info.keyKind else { continue }
            var keys: [String] = []
            var lookups: [String: [String]] = [:]
            var unknown = 0
            for id in ids {
                guard let stub = stubRecord(endpoint: endpoint, id: id) else {
                    unknown += 1
                    continue
                }
                var ctx = context()
                ctx.document = stub
                var derived: [String: String] = [:]
                for f in mapping.fields {
                    if let v = try? f.value.evaluate(ctx), !v.isNull, v.stringValue != nil || v.doubleValue != nil { derived[f.name] = renderString(v) }
                }
                if let key = derived[keyKind.rawValue] {
                    keys.append(key)
                } else if let externalID = derived["external_id"] {
                    lookups["external_id", default: []].append(externalID)
                } else {
                    unknown += 1
                }
            }
            if let externalIDs = lookups["external_id"] {
                if let car {
                    let found = try await car.vertices(mapping.collection, source: settings.source, externalIDs: externalIDs, keyField: keyKind.rawValue)
                    keys += found.map(\.key)
                } else {
                    logger.info("\(externalIDs.count) deleted \(endpoint) records: their \(mapping.collection) vertices are found by external id with CAR read-back, which a dry run does not do; their deletions are not shown", label: "import")
                }
            }
            if unknown > 0 {
                logger.warning("\(unknown) deleted \(endpoint) records: their \(mapping.collection) vertex cannot be found from the id; map external_id from the id to make it findable", label: "import")
            }
            guard !keys.isEmpty else { continue }
            try await sink.delete(collection: mapping.collection, ids: keys, byKey: keyKind == .key)
            await pipeline.deleted(mapping.collection, keys.count)
        }
    }

    /// `{pk: 5}` for an endpoint whose id is `$.pk`.
    func stubRecord(endpoint: String, id: JSON) -> JSON? {
        let text = definition.endpoints[endpoint]?.id?.span.text ?? "$.id"
        guard let path = try? JSONPath.parse(text), path.root == .document, path.isSingular, !path.segments.isEmpty else { return nil }
        var value = id
        for segment in path.segments.reversed() {
            guard case .child(let selectors) = segment, case .name(let name)? = selectors.first else { return nil }
            value = [name: value]
        }
        return value
    }
}
