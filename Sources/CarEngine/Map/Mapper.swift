import CarDefinition
import MappingDSL

/// A problem with one record: the mapping skipped it (or one of its items).
public struct MappingIssue: Sendable, Hashable, CustomStringConvertible {
    public var mapping: String
    public var collection: String
    public var recordID: String?
    public var message: String

    public var description: String {
        let id = recordID.map { " record \($0)" } ?? ""
        return "\(mapping) (\(collection))\(id): \(message)"
    }
}

/// Turns records into CAR vertices and edges with a definition's compiled mappings.
public struct Mapper: Sendable {
    public let definition: ConnectorDefinition
    /// The items of a mapping without `each`: the record alone (shared, not allocated per record).
    static let noItem: [JSON] = [.null]
    /// The source (connection) name, added to every edge.
    public let source: String
    /// The report id, added to every edge.
    public let report: String
    /// The run's time in epoch ms, added to every edge as its timestamp.
    public let timestamp: Int64

    public init(definition: ConnectorDefinition, source: String, report: String, timestamp: Int64) {
        self.definition = definition
        self.source = source
        self.report = report
        self.timestamp = timestamp
    }

    /// Maps one record with one mapping; problems skip the record (or the item) and are returned.
    public func map(_ record: JSON, with mapping: Mapping, context base: EvalContext) -> (objects: [JSONObject], issues: [MappingIssue]) {
        guard let info = definition.catalogue[mapping.collection] else { return ([], []) }
        var objects: [JSONObject] = []
        var issues: [MappingIssue] = []
        var ctx = base
        map(record, with: mapping, info: info, context: &ctx, into: &objects, issues: &issues)
        return (objects, issues)
    }

    /// `map` with the mapping's collection looked up once for many records, and the objects and
    /// issues appended to the caller's arrays (no arrays per record). The context is the
    /// caller's, its record and items set here: no copy of it per record.
    func map(_ record: JSON, with mapping: Mapping, info: CollectionInfo, context ctx: inout EvalContext,
             into out: inout [JSONObject], issues: inout [MappingIssue])
    {
        ctx.document = record
        ctx.current = .null
        func issue(_ message: String) {
            // The record's id only when there is something to say about it.
            var c = ctx
            c.current = .null
            let recordID = recordIdentity(record, mapping: mapping, context: c)
            issues.append(MappingIssue(mapping: mapping.name, collection: mapping.collection, recordID: recordID, message: message))
        }
        var items = Self.noItem
        if let each = mapping.each {
            do {
                switch try each.evaluate(ctx) {
                case .array(let a): items = a
                case .null: items = []
                case let other:
                    issue("'each' gave \(other.typeName), not a list")
                    return
                }
            } catch {
                issue("each: \(error.message)")
                return
            }
        }
        // Named levels: every combination of their items, each in its variable.
        var combinations: [[JSON]] = []
        if !mapping.levels.isEmpty {
            combinations = [[]]
            for (index, level) in mapping.levels.enumerated() {
                var next: [[JSON]] = []
                for combination in combinations {
                    var c = ctx
                    for (i, v) in combination.enumerated() { c.variables[mapping.levels[i].slot] = v }
                    do {
                        switch try level.value.evaluate(c) {
                        case .array(let a): for x in a { next.append(combination + [x]) }
                        case .null: break
                        case let other:
                            issue("fan-out level '\(level.name)' gave \(other.typeName), not a list")
                            return
                        }
                    } catch {
                        issue("fan-out level '\(level.name)': \(error.message)")
                        return
                    }
                }
                combinations = next
                if combinations.isEmpty || index == mapping.levels.count - 1 { break }
            }
            items = combinations.map { $0.last ?? .null }
        }
        itemLoop: for (position, item) in items.enumerated() {
            ctx.current = item
            if !combinations.isEmpty { Self.bind(combinations[position], of: mapping.levels, in: &ctx) }
            if let when = mapping.when {
                do {
                    switch try when.evaluate(ctx) {
                    case .bool(true): break
                    case .bool(false), .null: continue itemLoop
                    case let other:
                        issue("'when' gave \(other.typeName), not a boolean")
                        continue itemLoop
                    }
                } catch {
                    issue("when: \(error.message)")
                    continue itemLoop
                }
            }
            var object = JSONObject(minimumCapacity: mapping.fields.count + mapping.extraFields.count + 4)
            func evaluate(_ fields: [FieldMapping], into object: inout JSONObject) -> Bool {
                // By index: a `for field in fields` copies each mapping (its name and expression).
                for i in fields.indices {
                    do {
                        let v = try fields[i].value.evaluate(ctx)
                        if !v.isNull || mapping.keepNulls.contains(fields[i].name) { object.append(fields[i].name, v) }
                    } catch {
                        issue("field '\(fields[i].name)': \(error.message)")
                        return false
                    }
                }
                return true
            }
            guard evaluate(mapping.fields, into: &object), evaluate(mapping.extraFields, into: &object) else { continue itemLoop }
            switch info.kind {
            case .vertex(let key):
                guard let k = object[key.rawValue], !k.isNull else {
                    issue("no value for the key '\(key.rawValue)'" + Self.lookupNote(key.rawValue, mapping))
                    continue itemLoop
                }
            case .edge(let from, let to, let fromField, let toField):
                if let problem = Self.endProblem(object, field: fromField, collection: from, mapping) ?? Self.endProblem(object, field: toField, collection: to, mapping) {
                    issue(problem)
                    continue itemLoop
                }
                object.append("source", .string(source))
                object.append("report", .string(report))
                object.append("active", .bool(true))
                object.append("timestamp", .int(timestamp))
            }
            out.append(object)
        }
    }

    /// Sets the fan-out levels' variables. Not inlined: inlined, the optimizer made the
    /// context's variables unique before every item of every mapping (a copy per object).
    @inline(never)
    static func bind(_ combination: [JSON], of levels: [FanOutLevel], in ctx: inout EvalContext) {
        for (i, v) in combination.enumerated() { ctx.variables[levels[i].slot] = v }
    }

    func recordIdentity(_ record: JSON, mapping: Mapping, context: EvalContext) -> String? {
        guard let id = definition.endpoints[mapping.from]?.id else { return record["id"].map(renderString) }
        guard let v = try? id.evaluate(context), !v.isNull else { return nil }
        return renderString(v)
    }

    /// The identity of a mapped object within its collection: the key of a vertex, the two
    /// endpoints of an edge.
    public static func identity(of object: JSONObject, in info: CollectionInfo) -> String {
        switch info.kind {
        case .vertex(let key):
            return renderString(object[key.rawValue] ?? .null)
        case .edge(_, _, let fromField, let toField):
            return renderString(object[fromField] ?? .null) + "\u{1F}" + renderString(object[toField] ?? .null)
        }
    }
}

extension Mapper {
    /// What is wrong with one end of an edge, or `nil`: a `_from`/`_to` must be
    /// `collection/key`, an `_external_id` end any non-empty text.
    static func endProblem(_ object: JSONObject, field: String, collection: String, _ mapping: Mapping) -> String? {
        guard case .string(let end)? = object[field], !end.isEmpty else {
            return "no value for '\(field)'" + lookupNote(field, mapping)
        }
        if field != "_from_external_id" && field != "_to_external_id" && !names(end, collection) {
            return "'\(field)' is '\(end)', not \"\(collection)/<key>\""
        }
        return nil
    }

    /// Whether `end` is `collection/<key>` (bytes compared: this runs for every edge end).
    static func names(_ end: String, _ collection: String) -> Bool {
        var end = end
        var collection = collection
        return end.withUTF8 { e in
            collection.withUTF8 { c in
                guard e.count > c.count, e[c.count] == UInt8(ascii: "/") else { return false }
                for i in 0..<c.count where e[i] != c[i] { return false }
                return true
            }
        }
    }

    /// Why a field is empty when its expression looks a record up: the lookup found none.
    static func lookupNote(_ field: String, _ mapping: Mapping) -> String {
        guard let expr = mapping.fields.first(where: { $0.name == field })?.value.compiled else { return "" }
        let lookups = expr.functions.intersection(["lookup", "lookup_many"])
        guard !lookups.isEmpty else { return "" }
        return " (its \(lookups.sorted().joined(separator: "/")) found no record: the record it names is not in the datasource)"
    }
}
