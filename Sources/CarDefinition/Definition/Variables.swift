import MappingDSL

/// Every variable expressions of one definition may name, each with a fixed slot, so that one
/// array of values serves every expression at run time.
public struct VariableTable: Sendable {
    /// A variable and where it is available.
    public struct Entry: Sendable {
        public var name: String
        public var type: TypeSet
        public var slot: Int
        public var group: Group
        public var summary: String
    }

    /// Where a variable may be used.
    public enum Group: Sendable, Hashable {
        case parameter, run, paging, ids, endpoint, parent(String)
        /// A named fan-out level of a mapping (declared in that mapping's scopes only).
        case level
    }

    public private(set) var entries: [String: Entry] = [:]
    public private(set) var count = 0

    mutating func add(_ name: String, _ type: TypeSet, _ group: Group, _ summary: String) {
        guard entries[name] == nil else { return }
        entries[name] = Entry(name: name, type: type, slot: count, group: group, summary: summary)
        count += 1
    }

    /// The slot of a variable.
    public func slot(_ name: String) -> Int? { entries[name]?.slot }

    /// Run values every expression may name.
    public static let runVariables: [(String, TypeSet, String)] = [
        ("source", .string, "The source (connection) name."),
        ("last_state", [.string, .null], "The save point of the last run (incremental runs)."),
        ("new_state", [.string, .null], "The datasource's current save point."),
        ("last_run_ms", [.int, .null], "The start of the last successful run, epoch ms (incremental runs)."),
        ("last_run_iso", [.string, .null], "The same as ISO-8601."),
        ("run_start_ms", .int, "The start of this run, epoch ms."),
        ("run_start_iso", .string, "The same as ISO-8601."),
    ]

    /// Page state templates of an endpoint may name.
    public static let pagingVariables: [(String, TypeSet, String)] = [
        ("page", .int, "The page number (page pagination)."),
        ("offset", .int, "The offset (offset pagination)."),
        ("limit", .int, "The page size (offset pagination)."),
        ("cursor", [.string, .null], "The cursor from the last response (cursor pagination)."),
        ("window_start", .int, "The time window's start, epoch ms (time_window pagination)."),
        ("window_end", .int, "The time window's end, epoch ms."),
        ("window_start_iso", .string, "The window's start as ISO-8601."),
        ("window_end_iso", .string, "The window's end as ISO-8601."),
    ]

    /// Names a parameter may not have.
    public static var reservedNames: Set<String> {
        Set(runVariables.map(\.0) + pagingVariables.map(\.0) + ["ids", "endpoint"])
    }

    /// A scope with the given groups of variables, and the host functions when `lookups`.
    func scope(_ groups: Set<Group>, document: Bool, current: Bool = false, functions: FunctionTable) -> Scope {
        var s = Scope(allowsDocument: document, allowsCurrent: current, functions: functions)
        for e in entries.values where groups.contains(e.group) {
            s.declare(e.name, type: e.type, slot: e.slot, summary: e.summary)
        }
        // Keep slot count equal to the table's, so one values array fits every scope.
        return s
    }

    /// Values in slot order.
    public func values(_ named: [String: JSON]) -> [JSON] {
        var out = [JSON](repeating: .null, count: count)
        for (name, value) in named { if let e = entries[name] { out[e.slot] = value } }
        return out
    }
}

/// Host functions of mappings: lookups into other endpoints.
public enum HostFunctions {
    public static func table(endpoints: Set<String>, keys: [String: Set<String>] = [:]) -> FunctionTable {
        var table = FunctionTable.standard
        @Sendable func checkEndpoint(_ literals: [JSON?]) throws(ArgumentError) -> FunctionImplementation? {
            guard case .string(let name)? = literals.first else {
                throw ArgumentError(index: 0, "the endpoint must be a string literal naming an endpoint")
            }
            guard endpoints.contains(name) else {
                throw ArgumentError(index: 0, "unknown endpoint '\(name)'\(Suggest.hint(for: name, in: endpoints))")
            }
            return nil
        }
        var lookup = FunctionSpec(
            "lookup", "lookup(endpoint, id) -> object", summary: "The record of another endpoint with this id (ids compare as text): from records already read, else fetched by id (batched, cached for the run); null when there is none.",
            example: "lookup('sites', last_segment($.site))", arguments: 2...2, parameters: [.string, [.string, .int]],
            returns: [.object, .null], implementation: .host)
        lookup.specialize = { literals throws(ArgumentError) in try checkEndpoint(literals) }
        var lookupMany = FunctionSpec(
            "lookup_many", "lookup_many(endpoint, ids) -> array", summary: "The records of another endpoint with these ids, in the ids' order; ids without a record are left out.",
            example: "lookup_many('vulnerabilities', map($.vulnerabilities, last_segment(@)))", arguments: 2...2,
            parameters: [.string, .array], returns: .array, implementation: .host)
        lookupMany.specialize = { literals throws(ArgumentError) in try checkEndpoint(literals) }
        let follow = FunctionSpec(
            "follow", "follow(url) -> object", summary: "The record at a hyperlink (a GET of that URL with the datasource's auth), cached for the run.",
            example: "follow($.site).name", arguments: 1...1, parameters: [.string], returns: [.object, .null], implementation: .host)
        @Sendable func checkKey(_ literals: [JSON?]) throws(ArgumentError) -> FunctionImplementation? {
            _ = try checkEndpoint(literals)
            guard case .string(let endpoint)? = literals.first, literals.count > 1, case .string(let key)? = literals[1] else {
                throw ArgumentError(index: 1, "the key must be a string literal naming one of the endpoint's keys")
            }
            let known = keys[endpoint] ?? []
            guard known.contains(key) else {
                let declared = known.isEmpty ? "it declares no keys (endpoints.\(endpoint).keys)" : "its keys are \(known.sorted().joined(separator: ", "))"
                throw ArgumentError(index: 1, "endpoint '\(endpoint)' has no key '\(key)'\(Suggest.hint(for: key, in: known)); \(declared)")
            }
            return nil
        }
        var lookupBy = FunctionSpec(
            "lookup_by", "lookup_by(endpoint, key, value) -> object", summary: "The first record (in reading order) of another endpoint whose key (declared under the endpoint's keys) has this value (compared as text); null when there is none. The endpoint is read whole before the mappings.",
            example: "lookup_by('machines', 'owner', $.username)", arguments: 3...3, parameters: [.string, .string, [.string, .int]],
            returns: [.object, .null], implementation: .host)
        lookupBy.specialize = { literals throws(ArgumentError) in try checkKey(literals) }
        var lookupAll = FunctionSpec(
            "lookup_all", "lookup_all(endpoint, key, value) -> array", summary: "Every record of another endpoint whose key has this value, in reading order (an empty list when there is none).",
            example: "lookup_all('machines', 'owner', $.username)", arguments: 3...3, parameters: [.string, .string, [.string, .int]],
            returns: .array, implementation: .host)
        lookupAll.specialize = { literals throws(ArgumentError) in try checkKey(literals) }
        var recordsOf = FunctionSpec(
            "records_of", "records_of(endpoint) -> array", summary: "Every record of another endpoint, in reading order (the endpoint is read whole before the mappings). With filter and first it is a lookup by any condition (a fuzzy join): first(filter(records_of('vulnerabilities'), contains(lower(@.product), lower($.name)))), where @ is the candidate and $ the mapped record.",
            example: "filter(records_of('vulnerabilities'), contains(lower(@.product_name_version), lower($.name)))", arguments: 1...1,
            parameters: [.string], returns: .array, implementation: .host)
        recordsOf.specialize = { literals throws(ArgumentError) in try checkEndpoint(literals) }
        table.add(lookup)
        table.add(lookupMany)
        table.add(recordsOf)
        table.add(lookupBy)
        table.add(lookupAll)
        table.add(follow)
        return table
    }
}
