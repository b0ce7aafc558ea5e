import MappingDSL

/// The JSON type of a CAR field.
public enum FieldType: String, Sendable, Hashable {
    case string, number, integer, boolean, object, array, any

    /// The expression types a value of this field may have.
    public var accepted: TypeSet {
        switch self {
        case .string: return .string
        case .number: return .number
        case .integer: return .int
        case .boolean: return .bool
        case .object: return .object
        case .array: return .array
        case .any: return .any
        }
    }
}

/// A field of a CAR collection, as the import schema declares it.
public struct FieldInfo: Sendable, Hashable {
    public var name: String
    public var type: FieldType
    public var itemType: FieldType?
    public var pattern: String?
    public var minLength: Int?
    public var maxLength: Int?
    public var minimum: Double?
    public var maximum: Double?
    public var summary: String?

    public init(name: String, type: FieldType, itemType: FieldType? = nil, pattern: String? = nil, minLength: Int? = nil,
                maxLength: Int? = nil, minimum: Double? = nil, maximum: Double? = nil, summary: String? = nil)
    {
        self.name = name
        self.type = type
        self.itemType = itemType
        self.pattern = pattern
        self.minLength = minLength
        self.maxLength = maxLength
        self.minimum = minimum
        self.maximum = maximum
        self.summary = summary
    }
}

/// How the documents of a vertex collection are identified.
public enum KeyKind: String, Sendable, Hashable {
    /// By `external_id` (asset, user, vulnerability, ... and extension collections).
    case externalId = "external_id"
    /// By `_key` (ipaddress, macaddress, hostname).
    case key = "_key"
}

/// A CAR collection: a vertex collection or an edge collection.
public struct CollectionInfo: Sendable {
    public enum Kind: Sendable, Hashable {
        case vertex(key: KeyKind)
        case edge(from: String, to: String, fromField: String, toField: String)
    }

    public var name: String
    public var kind: Kind
    public var required: [String]
    /// Alternatives of which one must be complete (geolocation: longitude+latitude, or region).
    public var oneOfRequired: [[String]]
    public var fields: [FieldInfo]

    public init(name: String, kind: Kind, required: [String], oneOfRequired: [[String]], fields: [FieldInfo]) {
        self.name = name
        self.kind = kind
        self.required = required
        self.oneOfRequired = oneOfRequired
        self.fields = fields
    }

    public func field(_ name: String) -> FieldInfo? { fields.first { $0.name == name } }

    public var isEdge: Bool {
        if case .edge = kind { return true }
        return false
    }

    /// The key field of a vertex collection.
    public var keyKind: KeyKind? {
        if case .vertex(let k) = kind { return k }
        return nil
    }
}

/// The collections a connector may write: CAR's core collections plus those of its schema
/// extension.
public struct CARCatalogue: Sendable {
    public private(set) var collections: [String: CollectionInfo]
    public private(set) var order: [String]

    public init(collections: [CollectionInfo]) {
        var map: [String: CollectionInfo] = [:]
        var order: [String] = []
        for c in collections {
            if map[c.name] == nil { order.append(c.name) }
            map[c.name] = c
        }
        self.collections = map
        self.order = order
    }

    public subscript(name: String) -> CollectionInfo? { collections[name] }

    /// Adds a collection or replaces one.
    public mutating func add(_ collection: CollectionInfo) {
        if collections[collection.name] == nil { order.append(collection.name) }
        collections[collection.name] = collection
    }

    /// Adds fields to an existing collection.
    public mutating func extend(_ name: String, with fields: [FieldInfo], required: [String]) {
        guard var c = collections[name] else { return }
        for f in fields where c.field(f.name) == nil { c.fields.append(f) }
        c.required += required.filter { !c.required.contains($0) }
        collections[name] = c
    }

    /// The vertex collection names.
    public var vertexNames: [String] { order.filter { collections[$0]?.isEdge == false } }
    /// The edge collection names.
    public var edgeNames: [String] { order.filter { collections[$0]?.isEdge == true } }

    /// Fields the engine sets on every edge; a mapping may not set them.
    public static let engineEdgeFields: Set<String> = ["source", "report", "active", "timestamp"]
}
