import MappingDSL

/// Generates the JSON Schema (2020-12) of the definition format from `DefinitionFormat`.
public enum DefinitionSchema {
    /// The schema as a JSON value.
    public static var json: JSON {
        guard case .object(var root) = object(DefinitionFormat.definition) else { return .null }
        var head = JSONObject()
        head["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        head["$id"] = .string("urn:car:connector-definition:\(DefinitionFormat.version)")
        head["title"] = .string("car connector definition, format \(DefinitionFormat.version)")
        for (k, v) in root { head[k] = v }
        root = head
        return .object(root)
    }

    /// The schema as pretty JSON text with a final newline, as committed in schemas/.
    public static var text: String { JSONWriter(pretty: true).string(json) + "\n" }

    static func describe(_ o: inout JSONObject, _ text: String) {
        if !text.isEmpty { o["description"] = .string(text) }
    }

    static func schema(_ shape: Shape) -> JSON {
        var o = JSONObject()
        switch shape {
        case .text(let d), .template(let d):
            o["type"] = ["string", "number"]
            describe(&o, d)
        case .expression(let d):
            o["type"] = ["string", "number", "boolean"]
            describe(&o, d)
        case .duration(let d):
            o["type"] = ["string", "integer"]
            o["pattern"] = .string("^([0-9]+(\\.[0-9]+)?(ms|s|m|h|d)?|.*\\$\\{.*)$")
            describe(&o, d)
        case .choice(let words, let d):
            o["enum"] = .array(words.map { .string($0) })
            describe(&o, d)
        case .integer(let range, let d):
            o["type"] = "integer"
            o["minimum"] = .int(range.lowerBound)
            o["maximum"] = .int(range.upperBound)
            describe(&o, d)
        case .number(let d):
            o["type"] = "number"
            describe(&o, d)
        case .boolean(let d):
            o["type"] = "boolean"
            describe(&o, d)
        case .json(let d):
            describe(&o, d)
        case .object(let shape):
            return object(shape)
        case .map(let pattern, _, let value, let d):
            o["type"] = "object"
            if let pattern { o["propertyNames"] = ["pattern": .string(pattern)] }
            o["additionalProperties"] = schema(value)
            describe(&o, d)
        case .list(let item, let d):
            o["type"] = "array"
            o["items"] = schema(item)
            describe(&o, d)
        case .either(let options, let d):
            o["anyOf"] = .array(options.map(schema))
            describe(&o, d)
        case .tagged(let discriminator, let variants, let d):
            o["type"] = "object"
            o["required"] = [.string(discriminator)]
            o["properties"] = [discriminator: ["enum": .array(variants.map { .string($0.name) })]]
            o["oneOf"] = .array(variants.map { variant in
                var shape = variant.shape
                shape.fields.insert(required(discriminator, .choice([variant.name], "")), at: 0)
                guard case .object(var v) = object(shape) else { return .null }
                if case .object(var props)? = v["properties"] {
                    props[discriminator] = ["const": .string(variant.name)]
                    v["properties"] = .object(props)
                }
                v["description"] = .string(variant.shape.summary)
                return .object(v)
            })
            describe(&o, d)
        }
        return .object(o)
    }

    static func object(_ shape: ObjectShape) -> JSON {
        var o = JSONObject()
        o["type"] = "object"
        describe(&o, shape.summary)
        var props = JSONObject()
        for f in shape.fields { props[f.name] = schema(f.shape) }
        o["properties"] = .object(props)
        let req = shape.fields.filter(\.required).map { JSON.string($0.name) }
        if !req.isEmpty { o["required"] = .array(req) }
        o["additionalProperties"] = false
        var constraints: [JSON] = []
        for group in shape.exclusive {
            for i in group.indices {
                for j in group.indices where j > i {
                    constraints.append(["not": ["required": [.string(group[i]), .string(group[j])]]])
                }
            }
        }
        if !constraints.isEmpty { o["allOf"] = .array(constraints) }
        return .object(o)
    }
}
