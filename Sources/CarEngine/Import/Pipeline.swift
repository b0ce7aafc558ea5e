import CarDefinition
import Logging
import MappingDSL

/// Dedup, validation, batching and sending: the part of a run after mapping.
actor Pipeline {
    let definition: ConnectorDefinition
    let sink: any ImportSink
    let validator: ImportValidator?
    let logger: Logger
    let settings: RunSettings
    /// Identities sent, as 64-bit hashes (a tenth of the memory of the strings).
    var seen: [String: IdentitySet] = [:]
    /// Vertices waiting for their envelope, serialized as they pass; collections by index.
    var vertexBatch: RawBatch
    var vertexCollections: [String] = []
    var vertexCollectionIndex: [String: Int] = [:]
    /// The envelope head (`source`, `report`), serialized once.
    let headBytes: [UInt8]
    var edges: EdgeBuffer
    var summary: RunSummary
    var warnings = 0
    static let maxWarnings = 100

    init(definition: ConnectorDefinition, sink: any ImportSink, validator: ImportValidator?, logger: Logger, settings: RunSettings, mode: ImportKind) {
        self.definition = definition
        self.sink = sink
        self.validator = validator
        self.logger = logger
        self.settings = settings
        edges = EdgeBuffer(limit: settings.edgeMemoryLimit, directory: settings.exportDirectory)
        summary = RunSummary(mode: mode)
        headBytes = JSONWriter().bytes(.object(Self.envelopeHead(definition, settings)))
        vertexBatch = RawBatch(head: headBytes, pageSize: settings.pageSize)
    }

    func counts(_ collection: String, _ change: (inout CollectionCounts) -> Void) {
        if summary.collections[collection] == nil { summary.collectionOrder.append(collection) }
        change(&summary.collections[collection, default: CollectionCounts()])
    }

    func warn(_ message: String) {
        warnings += 1
        if warnings <= Self.maxWarnings {
            logger.warning(message, label: "mapping")
        } else if warnings == Self.maxWarnings + 1 {
            logger.warning("more skipped objects; only the first \(Self.maxWarnings) are listed", label: "mapping")
        }
    }

    func read(_ endpoint: String, _ count: Int) {
        summary.recordsRead[endpoint, default: 0] += count
        settings.progress?.read(endpoint, count)
    }

    /// Logs counts after an endpoint was read.
    func progress(endpoint: String, collections: [String]) {
        var parts: [String] = []
        for c in collections {
            let n = summary.collections[c] ?? CollectionCounts()
            parts.append("\(c) \(n.mapped) mapped, \(n.skipped) skipped, \(n.sent) \(settings.printsOnly ? "printed" : "sent")")
        }
        logger.info("read \(summary.recordsRead[endpoint] ?? 0) records of \(endpoint)" + (parts.isEmpty ? "" : ": " + parts.joined(separator: "; ")), label: "import")
    }

    func issues(_ list: [MappingIssue]) throws {
        for i in list {
            counts(i.collection) { $0.skipped += 1 }
            warn("skipped: \(i)")
            if settings.strict { throw RunFailure(.datasourceData, "skipped (--strict): \(i)") }
        }
    }

    /// Vertices: validated, de-duplicated, batched and sent.
    func vertices(_ objects: [JSONObject], collection: String) async throws {
        guard let info = definition.catalogue[collection] else { return }
        var check = validator?.check(for: collection)
        var tally = CollectionCounts()
        // Taken out of `seen` while nothing suspends; put back before an envelope is sent, and
        // taken again after it (other calls may have run meanwhile).
        var seenHere = seen.removeValue(forKey: collection) ?? IdentitySet()
        let index = vertexCollectionIndex[collection] ?? {
            vertexCollections.append(collection)
            vertexCollectionIndex[collection] = vertexCollections.count - 1
            return vertexCollections.count - 1
        }()
        defer {
            seen[collection] = seenHere
            counts(collection) { $0.mapped += tally.mapped; $0.skipped += tally.skipped; $0.duplicates += tally.duplicates; $0.sent += tally.sent }
            settings.progress?.sent(tally.sent)
        }
        for object in objects {
            guard try admits(object, collection: collection, info: info, check: &check, seen: &seenHere, tally: &tally) else { continue }
            tally.sent += 1
            if let envelope = vertexBatch.add(object, to: index, names: vertexCollections) {
                seen[collection] = seenHere
                seenHere = IdentitySet()
                summary.envelopes += 1
                try await sink.send(bytes: envelope)
                seenHere = seen.removeValue(forKey: collection) ?? IdentitySet()
            }
        }
    }

    /// Counts a mapped object and lets it on when it is valid and new in its collection (a
    /// duplicate is counted as one); recorded for reconciliation while that is on.
    private func admits(_ object: JSONObject, collection: String, info: CollectionInfo, check: inout CollectionCheck?,
                        seen: inout IdentitySet, tally: inout CollectionCounts) throws -> Bool
    {
        tally.mapped += 1
        guard try passes(object, collection: collection, info: info, check: &check, tally: &tally) else { return false }
        if info.isEdge {
            record(edge: object, collection: collection, info: info)
        } else {
            record(vertex: object, collection: collection, info: info)
        }
        if !seen.insert(Hash64.identity(of: object, in: info)) {
            tally.duplicates += 1
            return false
        }
        return true
    }

    /// Checks a mapped object against the import schema (vertices as the framework judges them,
    /// with the fields CAR derives from `_key`); an invalid one is counted and skipped with a
    /// warning, or fails the run with --strict.
    func passes(_ object: JSONObject, collection: String, info: CollectionInfo, check: inout CollectionCheck?, tally: inout CollectionCounts) throws -> Bool {
        guard let first = check?.problems(object, asSent: !info.isEdge).first else { return true }
        tally.skipped += 1
        let subject: String
        let detail: String
        if info.isEdge {
            subject = "\(collection) edge"
            detail = first.description
        } else {
            subject = "\(collection) " + renderString(object[info.keyKind?.rawValue ?? "external_id"] ?? .null)
            detail = (first.path.split(separator: "/").first.map { "field '\($0)': " } ?? "") + first.message
        }
        if settings.strict { throw RunFailure(.datasourceData, "invalid \(subject) (--strict): \(detail)") }
        warn("skipped invalid \(subject): \(detail)")
        return false
    }

    /// Edges: validated, de-duplicated, held until the vertices are in.
    func edges(_ objects: [JSONObject], collection: String) throws {
        guard let info = definition.catalogue[collection] else { return }
        var check = validator?.check(for: collection)
        // Taken out of `seen` for the loop: nothing in it suspends.
        var seenHere = seen.removeValue(forKey: collection) ?? IdentitySet()
        var tally = CollectionCounts()
        let edgeIndex = edges.index(of: collection)
        defer {
            seen[collection] = seenHere
            counts(collection) { $0.mapped += tally.mapped; $0.skipped += tally.skipped; $0.duplicates += tally.duplicates }
        }
        for object in objects {
            guard try admits(object, collection: collection, info: info, check: &check, seen: &seenHere, tally: &tally) else { continue }
            try edges.add(object, collectionIndex: edgeIndex)
        }
    }

    static func envelopeHead(_ definition: ConnectorDefinition, _ settings: RunSettings) -> JSONObject {
        var head = JSONObject()
        let info = definition.connector.source
        var source = JSONObject()
        source["_key"] = .string(settings.source)
        source["name"] = .string(info.name ?? settings.source)
        source["description"] = .string(info.description ?? "Imported by car with the \(definition.connector.name) connector \(definition.connector.version)")
        if let link = info.productLink { source["product_link"] = .string(link) }
        head["source"] = .object(source)
        head["report"] = ["_key": .string(settings.report), "timestamp": .int(settings.reportTime),
                          "type": .string(info.reportType ?? definition.connector.name),
                          "description": .string(info.reportDescription ?? definition.connector.displayName ?? definition.connector.name)]
        return head
    }

    /// Sends the vertices gathered so far, if any.
    func flush() async throws {
        guard let envelope = vertexBatch.flush(names: vertexCollections) else { return }
        summary.envelopes += 1
        try await sink.send(bytes: envelope)
    }

    /// The bare `{source, report}` envelope that starts a full import.
    func sendBare() async throws {
        summary.envelopes += 1
        try await sink.send(bytes: headBytes)
        try await sink.barrier()
    }

    /// Ends the vertex phase: the last envelope, then every job accepted.
    func finishVertices() async throws {
        try await flush()
        try await sink.barrier()
    }

    /// Sends the held edges and waits for them. Edges go from their serialized form straight
    /// into envelopes.
    func sendEdges() async throws {
        try await flush()
        defer {
            edges.close(keep: settings.keepExportDirectory)
            edges = EdgeBuffer(limit: settings.edgeMemoryLimit, directory: settings.exportDirectory)
        }
        var batch = RawBatch(head: headBytes, pageSize: settings.pageSize)
        let names = edges.collections
        var sent = [Int](repeating: 0, count: names.count)
        func count() {
            for (i, n) in sent.enumerated() where n > 0 { counts(names[i]) { $0.sent += n } }
            settings.progress?.sent(sent.reduce(0, +))
            for i in sent.indices { sent[i] = 0 }
        }
        while true {
            let next = try edges.takeRaw(1000)
            if next.isEmpty { break }
            for (collection, bytes) in next {
                sent[collection] += 1
                if let envelope = batch.add(bytes, to: collection, names: names) {
                    count()
                    summary.envelopes += 1
                    try await sink.send(bytes: envelope)
                }
            }
        }
        count()
        if let envelope = batch.flush(names: names) {
            summary.envelopes += 1
            try await sink.send(bytes: envelope)
        }
        try await sink.barrier()
    }

    func deleted(_ collection: String, _ count: Int) { counts(collection) { $0.deleted += count } }
    func reread(_ endpoint: String) { summary.rereadEndpoints.append(endpoint) }
    func rederivedByIndex(_ endpoint: String, _ count: Int) { summary.rederivedByIndex[endpoint, default: 0] += count }
    func deactivated(_ collection: String, _ count: Int) { counts(collection) { $0.deactivated += count } }

    /// While set, what vertices and edges are sent is recorded for reconciliation.
    var recording = false
    var rederived = Rederived()

    func startRecording() { recording = true }

    func record(vertex object: JSONObject, collection: String, info: CollectionInfo) {
        guard recording, let keyKind = info.keyKind else { return }
        let key = renderString(object[keyKind.rawValue] ?? .null)
        rederived.anchors[collection, default: []].insert(key)
        if keyKind == .key, let id = object["external_id"] { rederived.keysByExternalID[collection, default: [:]][renderString(id)] = key }
    }

    func record(edge object: JSONObject, collection: String, info: CollectionInfo) {
        guard recording, case .edge(let fromColl, let toColl, let fromField, let toField) = info.kind else { return }
        func ref(_ field: String, _ coll: String) -> String {
            let v = renderString(object[field] ?? .null)
            return field.hasSuffix("_external_id") ? "\(coll)/\(v)" : v
        }
        rederived.edges[collection, default: []].insert(ref(fromField, fromColl) + "|" + ref(toField, toColl))
    }

    func finish(durationMs: Int64) -> RunSummary {
        summary.durationMs = durationMs
        return summary
    }
}
