import CarDefinition
import MappingDSL

/// Validates mapped objects against CAR's import schema, compiled once per run.
public struct ImportValidator: Sendable {
    let collections: [String: JSONSchema]

    /// Compiles the `items` schema of every collection of an import schema document.
    public init(schema: JSON) throws(JSONSchema.SchemaError) {
        var out: [String: JSONSchema] = [:]
        for (name, definition) in schema["properties"]?.objectValue ?? JSONObject() {
            guard definition["type"] == "array", let items = definition["items"] else { continue }
            out[name] = try JSONSchema(items)
        }
        collections = out
    }

    /// Why the object is not valid for the collection; empty when it is (or when the schema
    /// does not know the collection: extensions add collections the core schema lacks).
    public func problems(_ object: JSONObject, collection: String) -> [JSONSchema.Failure] {
        collections[collection]?.validate(.object(object)) ?? []
    }

    /// One collection's check, looked up once for many objects.
    func check(for collection: String) -> CollectionCheck {
        CollectionCheck(schema: collections[collection], derived: Self.derivedFromKey[collection])
    }
}

/// The import-schema check of one collection's objects.
struct CollectionCheck {
    let schema: JSONSchema?
    /// Fields CAR derives from `_key` (vertices of key collections), filled in the validated copy.
    let derived: [String]?
    var plan = JSONSchema.MemberPlan()
    /// The validated copy of an object that lacks derived fields: storage reused across objects.
    var withDerived = JSONObject()

    init(schema: JSONSchema?, derived: [String]?) {
        self.schema = schema
        self.derived = derived
    }

    mutating func problems(_ object: JSONObject, asSent: Bool) -> [JSONSchema.Failure] {
        guard let schema else { return [] }
        if asSent, let derived, let key = object["_key"], derived.contains(where: { object[$0] == nil }) {
            withDerived.removeAll(keepingCapacity: true)
            for m in object.members { withDerived.append(m.key, m.value) }
            for field in derived where withDerived[field] == nil { withDerived.append(field, key) }
            return schema.validate(withDerived, plan: &plan)
        }
        return schema.validate(object, plan: &plan)
    }
}

extension ImportValidator {
    /// Fields CAR derives from `_key` when an object lacks them, added to the copy that is
    /// validated (not to what is sent), as the framework does (`transform_data` in its
    /// data_handler.py): hostname `host_name` and `external_id`, ipaddress and macaddress `name`.
    static let derivedFromKey: [String: [String]] = ["hostname": ["host_name", "external_id"], "ipaddress": ["name"], "macaddress": ["name"]]

    /// Why the object is not valid, judged as the framework judges it: with the fields CAR
    /// derives from `_key`.
    public func problemsAsSent(_ object: JSONObject, collection: String) -> [JSONSchema.Failure] {
        var one = check(for: collection)
        return one.problems(object, asSent: true)
    }
}

extension CARCatalogue {
    /// An import schema (JSON Schema) with the facts of the catalogue: used when the CAR
    /// service does not serve its own, and by the CAR simulator.
    public var importSchema: JSON {
        var properties = JSONObject()
        properties["report"] = [
            "type": "object", "required": ["timestamp"],
            "properties": ["_key": ["type": "string", "minLength": 1, "maxLength": 254], "timestamp": ["type": "number"]],
        ]
        properties["source"] = ["type": "object", "required": ["_key"], "properties": ["_key": ["type": "string"]]]
        for name in order {
            guard let c = collections[name] else { continue }
            var fields = JSONObject()
            for f in c.fields {
                var d = JSONObject()
                if f.type != .any { d["type"] = .string(f.type.rawValue) }
                if let t = f.itemType, t != .any { d["items"] = ["type": .string(t.rawValue)] }
                if let p = f.pattern { d["pattern"] = .string(p) }
                if let m = f.minLength { d["minLength"] = .int(Int64(m)) }
                if let m = f.maxLength { d["maxLength"] = .int(Int64(m)) }
                if let m = f.minimum { d["minimum"] = .double(m) }
                if let m = f.maximum { d["maximum"] = .double(m) }
                fields[f.name] = .object(d)
            }
            var items = JSONObject()
            items["type"] = "object"
            items["properties"] = .object(fields)
            if !c.required.isEmpty { items["required"] = .array(c.required.map { .string($0) }) }
            if !c.oneOfRequired.isEmpty { items["oneOf"] = .array(c.oneOfRequired.map { ["required": .array($0.map { .string($0) })] }) }
            properties[name] = ["type": "array", "items": .object(items)]
        }
        return ["type": "object", "additionalProperties": true, "properties": .object(properties)]
    }
}
