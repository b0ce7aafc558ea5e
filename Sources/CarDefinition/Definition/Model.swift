import MappingDSL

/// A compiled expression with the place it came from.
public struct Expr: Sendable {
    /// The expression and where it is, in one object: an `Expr` is copied wherever a mapping's
    /// field is read, and then counts one reference.
    final class Storage: Sendable {
        let compiled: CompiledExpression
        let span: SourceSpan

        init(compiled: CompiledExpression, span: SourceSpan) {
            self.compiled = compiled
            self.span = span
        }
    }

    private let storage: Storage

    public init(compiled: CompiledExpression, span: SourceSpan) {
        storage = Storage(compiled: compiled, span: span)
    }

    public var compiled: CompiledExpression { storage.compiled }
    public var span: SourceSpan { storage.span }

    /// Evaluates it.
    public func evaluate(_ context: EvalContext) throws(EvalError) -> JSON { try storage.compiled.evaluate(context) }
}

/// Text with `${expression}` parts.
public struct Template: Sendable {
    public enum Part: Sendable {
        case text(String)
        case expression(CompiledExpression)
    }

    public let parts: [Part]
    public let span: SourceSpan

    /// A template that is only text.
    public static func literal(_ text: String) -> Template {
        Template(parts: [.text(text)], span: SourceSpan(text: text, location: SourceLocation(line: 1, column: 1), style: .plain))
    }

    /// The expressions in it.
    public var expressions: [CompiledExpression] {
        parts.compactMap { if case .expression(let e) = $0 { return e } else { return nil } }
    }

    /// Whether it has no expressions.
    public var isLiteral: Bool { expressions.isEmpty }

    /// The text, with each expression's value written as `str()` would (null as empty).
    public func render(_ context: EvalContext) throws(EvalError) -> String {
        var out = ""
        for part in parts {
            switch part {
            case .text(let t): out += t
            case .expression(let e): out += renderString(try e.evaluate(context))
            }
        }
        return out
    }

    /// The value: a template that is a single `${...}` keeps the expression's JSON type.
    public func value(_ context: EvalContext) throws(EvalError) -> JSON {
        if parts.count == 1, case .expression(let e) = parts[0] { return try e.evaluate(context) }
        return .string(try render(context))
    }
}

/// A JSON value whose strings are templates (request bodies, GraphQL variables).
public indirect enum JSONTemplate: Sendable {
    case value(JSON)
    case template(Template)
    case array([JSONTemplate])
    case object([(String, JSONTemplate)])

    /// The value with every template evaluated.
    public func evaluate(_ context: EvalContext) throws(EvalError) -> JSON {
        switch self {
        case .value(let v): return v
        case .template(let t): return try t.value(context)
        case .array(let items):
            var out: [JSON] = []
            for i in items { out.append(try i.evaluate(context)) }
            return .array(out)
        case .object(let members):
            var o = JSONObject()
            for (k, v) in members { o[k] = try v.evaluate(context) }
            return .object(o)
        }
    }
}

/// A field of a mapping.
public struct FieldMapping: Sendable {
    public var name: String
    public var value: Expr
    public var location: SourceLocation
}

/// A vertex or edge mapping.
public struct Mapping: Sendable {
    public var name: String
    public var collection: String
    public var from: String
    /// Fan-out: one expression (its items as `@`), or named levels.
    public var each: Expr?
    public var when: Expr?
    public var fields: [FieldMapping]
    public var extraFields: [FieldMapping]
    public var keepNulls: Set<String>
    public var isEdge: Bool
    public var location: SourceLocation
    /// Named fan-out levels (`each: {pod: $.pods, instance: pod.instances}`): every combination,
    /// each level's item in its variable slot; the last level's item is also `@`.
    public var levels: [FanOutLevel] = []

    /// Whether the mapping fans out (one record gives several objects).
    public var fansOut: Bool { each != nil || !levels.isEmpty }
}

/// A named level of a mapping's fan-out.
public struct FanOutLevel: Sendable {
    public var name: String
    public var slot: Int
    public var value: Expr
}

/// The datasource's save point and change tracking.
public struct ModelStateSpec: Sendable {
    public enum Current: Sendable {
        case runStart
        case request(RequestSpec, value: Expr)
    }

    public struct Delta: Sendable {
        public var request: RequestSpec
        public var updated: Expr
        public var deleted: Expr?
        public var endpoints: [String]?
        /// A condition the response must meet.
        public var expect: Expr?
    }

    public var current: Current
    public var changes: ChangeTracking

    /// The change log, when changes are read from one.
    public var delta: Delta? {
        if case .changeLog(let d) = changes { return d }
        return nil
    }
}

/// How an incremental run learns what changed since the saved model state.
public enum ChangeTracking: Sendable {
    /// It cannot: every run is a full import.
    case none
    /// A change-log request between two save points.
    case changeLog(ModelStateSpec.Delta)
    /// Each endpoint's `updated_since` filter, with `${last_run_ms}`.
    case updatedSince
    /// Event logs (and each endpoint's `updated_since` filter, where it has one).
    case events([EventFeed])

    /// Whether incremental imports are possible at all.
    public var tracksChanges: Bool {
        if case .none = self { return false }
        return true
    }
}

/// One classification of an event log's events: which record an event touches and how.
public struct EventFeed: Sendable {
    public enum Change: String, Sendable { case create, update, delete }
    /// The event endpoint.
    public var from: String
    public var when: Expr?
    /// The endpoint whose record the event touches.
    public var endpoint: String
    public var id: Expr
    public var change: Expr
    public var location: SourceLocation
}

/// How removals reach CAR.
public struct DeletionPolicy: Sendable {
    public var deletedRecords = true
    public var missingOnReread = true
    public var reconcileEdges = true
    public var retentionDays: Template?
    public var retentionCollections: [String] = []
}

/// The connector's CAR schema extension.
public struct SchemaExtension: Sendable {
    public struct Property: Sendable {
        public var name: String
        public var type: String
        public var required: Bool
        public var indexed: Bool?
        public var unique: Bool?
        public var description: String?
    }

    public struct VertexCollection: Sendable {
        public var name: String
        public var properties: [Property]
    }

    public struct EdgeCollection: Sendable {
        public var name: String
        public var from: String
        public var to: String
        public var properties: [Property]
    }

    public var key: String
    public var owner: String
    public var version: Int64
    public var vertices: [VertexCollection]
    public var edges: [EdgeCollection]

    /// The body of `POST carSchema`.
    public var payload: JSON {
        func props(_ list: [Property]) -> JSON {
            var o = JSONObject()
            for p in list {
                var d = JSONObject()
                d["type"] = .string(p.type)
                if p.required { d["required"] = .bool(true) }
                if let i = p.indexed { d["indexed"] = .bool(i) }
                if let u = p.unique { d["unique"] = .bool(u) }
                if let s = p.description { d["description"] = .string(s) }
                o[p.name] = .object(d)
            }
            return .object(o)
        }
        let vertices: [JSON] = self.vertices.map { ["name": .string($0.name), "properties": props($0.properties)] }
        let edges: [JSON] = self.edges.map { e in
            var o: JSON = ["end1": .string(e.from), "end2": .string(e.to)]
            if !e.properties.isEmpty, case .object(var obj) = o {
                obj["properties"] = props(e.properties)
                o = .object(obj)
            }
            return o
        }
        return ["key": .string(key), "owner": .string(owner), "version": .string(String(version)),
                "schema": ["vertices": .array(vertices), "edges": .array(edges)]]
    }
}

/// A user setting.
public struct Parameter: Sendable {
    public enum Kind: String, Sendable {
        case text, url, password, integer, number, boolean, list

        var type: TypeSet {
            switch self {
            case .text, .url, .password: return .string
            case .integer: return .int
            case .number: return .number
            case .boolean: return .bool
            case .list: return .array
            }
        }
    }

    public var name: String
    public var kind: Kind
    public var section: String
    public var secret: Bool
    public var required: Bool
    public var defaultValue: JSON?
    public var label: String?
    public var description: String?
    public var placeholder: String?
    public var location: SourceLocation
    /// The CP4S form field type, when the definition names one.
    public var form: String? = nil
    public var regex: String? = nil
    public var min: Double? = nil
    public var max: Double? = nil
    /// The framework's flag (without the dash), when it is not the name.
    public var flag: String? = nil
    /// The environment variable, when it is not the section's.
    public var environment: String? = nil
    /// Accepted (IBM's deployments pass it) but not used (`unused: true`).
    public var acceptedOnly = false

    /// The prefix of the section's environment variables.
    public var sectionPrefix: String {
        switch section {
        case "connection": return "CONNECTION_"
        case "auth": return "CONFIGURATION_AUTH_"
        default: return "CONFIGURATION_PARAMETER_"
        }
    }

    /// The field of the CP4S connection form that gives it: named after its variable
    /// (CP4S sets `CONFIGURATION_AUTH_TOKEN` from the auth field `token`), else its name.
    public var fieldName: String {
        if let env = environment, env.hasPrefix(sectionPrefix), env.count > sectionPrefix.count {
            return String(env.dropFirst(sectionPrefix.count)).lowercased()
        }
        return name
    }

    /// The flags that give it: its name and its framework flag.
    public var flagNames: [String] {
        var out = [name]
        if let flag, flag != name { out.append(flag) }
        return out
    }
}

/// The flags of car run that are the framework's own (parameters cannot take them).
public enum FrameworkFlags {
    public static let names: Set<String> = [
        "source", "name", "version", "car-service-url", "car-service-key", "car-service-password", "car-service-url-for-token",
        "car-service-token", "car-service-ca-bundle", "car-query-operators", "export-data-dir", "keep-export-data-dir",
        "export-data-page-size", "secrets-dir", "d", "debug", "log-format", "connection-test", "dry-run", "full", "incremental",
        "since", "report-time", "output", "summary", "strict", "param", "help", "h",
    ]

    /// Flags that take no value.
    public static let switches: Set<String> = ["keep-export-data-dir", "d", "debug", "connection-test", "dry-run", "full", "incremental", "strict", "help", "h"]
}

/// Who the connector is.
public struct ConnectorInfo: Sendable {
    public var name: String
    public var version: String
    public var displayName: String?
    public var description: String?
    public var group: String?
    /// The schedule's cron default and choices, when the definition gives them.
    public var schedule: String? = nil
    public var scheduleOptions: [String]? = nil
    /// What the envelopes say of the source and the report.
    public var source = SourceInfo()
}

/// The envelope's source and report objects, as IBM's connectors fill them.
public struct SourceInfo: Sendable {
    public var name: String?
    public var description: String?
    public var productLink: String?
    public var reportType: String?
    public var reportDescription: String?

    public init(name: String? = nil, description: String? = nil, productLink: String? = nil, reportType: String? = nil, reportDescription: String? = nil) {
        self.name = name
        self.description = description
        self.productLink = productLink
        self.reportType = reportType
        self.reportDescription = reportDescription
    }
}

/// A loaded, checked and compiled connector definition.
public struct ConnectorDefinition: Sendable {
    public var path: String
    public var connector: ConnectorInfo
    public var parameters: [Parameter]
    public var datasource: DatasourceSpec
    public var endpoints: [String: Endpoint]
    public var endpointOrder: [String]
    public var vertices: [Mapping]
    public var edges: [Mapping]
    public var modelState: ModelStateSpec?
    public var deletions: DeletionPolicy
    public var schemaExtension: SchemaExtension?
    /// The core catalogue plus the schema extension.
    public var catalogue: CARCatalogue
    /// The slots of all variables any expression may name.
    public var variables: VariableTable
    /// Endpoints that mappings look records up in.
    public var lookupEndpoints: Set<String>
    /// For each endpoint, the endpoints its mappings look records up in: when records of those
    /// change, this endpoint's records are derived again in an incremental import.
    public var lookupsByEndpoint: [String: Set<String>]
    /// Endpoints looked up by key (`lookup_by`, `lookup_all`): read whole before the mappings.
    public var keyedLookupEndpoints: Set<String> = []
}
