import MappingDSL

extension DefinitionBuilder {
    /// The scope of a mapping's expressions: `$` is the record, `@` the item of `each`.
    func mappingScope(endpoint: Endpoint?, current: Bool) -> Scope {
        var groups: Set<VariableTable.Group> = [.parameter, .run]
        if let alias = endpoint?.forEach?.variable { groups.insert(.parent(alias)) }
        return variables.scope(groups, document: true, current: current, functions: hostFunctions)
    }

    mutating func buildMapping(
        _ name: String, _ node: YAMLNode, keyNode: YAMLNode, isEdge: Bool, catalogue: CARCatalogue, endpoints: [String: Endpoint]
    ) -> Mapping? {
        let kind = isEdge ? "edge" : "vertex"
        let collectionName = text(node, "collection") ?? name
        let collectionLocation = node["collection"]?.location ?? keyNode.location
        var collection = catalogue[collectionName]
        if collection == nil {
            let hint = isEdge ? catalogue.edgeHint(for: collectionName) : Suggest.hint(for: collectionName, in: catalogue.vertexNames)
            error("unknown \(kind) collection '\(collectionName)'\(hint); declare new collections under schema_extension", collectionLocation)
        } else if collection?.isEdge != isEdge {
            error("'\(collectionName)' is \(isEdge ? "a vertex" : "an edge") collection; map it under '\(isEdge ? "vertices" : "edges")'", collectionLocation)
            collection = nil
        }
        let fromName = text(node, "from") ?? ""
        let endpoint = endpoints[fromName]
        if node["from"] != nil && endpoint == nil && hasEndpointsSection {
            error("unknown endpoint '\(fromName)'\(Suggest.hint(for: fromName, in: endpointNames))", node["from"]?.location)
        }
        usedEndpoints.insert(fromName)
        var recordScope = mappingScope(endpoint: endpoint, current: false)
        var each: Expr?
        var levels: [FanOutLevel] = []
        if let pairs = node["each"]?.pairs {
            // Named levels: each is a variable for the later levels, `when` and the fields.
            for (k, v) in pairs {
                guard let levelName = k.scalarText else { continue }
                if variables.entries[levelName].map({ $0.group != .level }) ?? false || hostFunctions[levelName] != nil {
                    error("fan-out level '\(levelName)' has the name of a parameter, a run value or a function; choose another name", k.location)
                    continue
                }
                if levels.contains(where: { $0.name == levelName }) { error("fan-out level '\(levelName)' is named twice", k.location) }
                let value = expression(v, scope: recordScope, expect: .array, what: "fan-out level '\(levelName)'")
                noteLookups(value, from: fromName)
                // Declared even when its expression has an error, so later uses are not reported too.
                variables.add(levelName, .any, .level, "A fan-out level of a mapping.")
                guard let slot = variables.slot(levelName) else { continue }
                recordScope.declare(levelName, type: .any, slot: slot, summary: "The item of fan-out level \(levelName).")
                if let value { levels.append(FanOutLevel(name: levelName, slot: slot, value: value)) }
            }
        } else {
            each = expression(node["each"], scope: recordScope, expect: .array, what: "'each'")
        }
        var itemScope = mappingScope(endpoint: endpoint, current: each != nil || node["each"] != nil)
        for (k, _) in node["each"]?.pairs ?? [] {
            guard let levelName = k.scalarText, let slot = variables.slot(levelName), variables.entries[levelName]?.group == .level else { continue }
            itemScope.declare(levelName, type: .any, slot: slot, summary: "The item of fan-out level \(levelName).")
        }
        let when = expression(node["when"], scope: itemScope, expect: .bool, what: "'when'")
        noteLookups(each, from: fromName)
        noteLookups(when, from: fromName)

        var fields: [FieldMapping] = []
        for (k, v) in node["fields"]?.pairs ?? [] {
            guard let field = k.scalarText else { continue }
            let info = collection?.field(field)
            if let collection {
                if isEdge && CARCatalogue.engineEdgeFields.contains(field) {
                    error("'\(field)' is set by the engine on every edge; leave it out", k.location)
                    continue
                }
                if info == nil, case .edge(let from, let to, let fromField, let toField) = collection.kind,
                    [("_from_external_id", "_from", fromField, from), ("_to_external_id", "_to", toField, to)].contains(where: { $0.0 == field && $0.2 == $0.1 })
                {
                    // An end named by external id where the collection keys it by _key.
                    let (end, target) = field.hasPrefix("_from") ? (fromField, from) : (toField, to)
                    error("'\(collectionName)' names its \(field.hasPrefix("_from") ? "from" : "to") end with '\(end)': \(target) vertices are keyed by _key; write \(end): concat('\(target)/', ...)", k.location)
                } else if info == nil {
                    let known = collection.fields.map(\.name).filter { !(isEdge && CARCatalogue.engineEdgeFields.contains($0)) }
                    error("'\(collectionName)' has no field '\(field)'\(Suggest.hint(for: field, in: known)); fields outside the import schema go under extra_fields", k.location)
                }
            }
            let what = "field '\(field)' of \(collectionName) (\(info?.type.rawValue ?? "any"))"
            guard let expr = expression(v, scope: itemScope, expect: info?.type.accepted, what: what) else { continue }
            noteLookups(expr, from: fromName)
            if let info, let literalError = literalCheck(expr, info) { error(literalError, v.location) }
            fields.append(FieldMapping(name: field, value: expr, location: k.location))
        }
        var extraFields: [FieldMapping] = []
        for (k, v) in node["extra_fields"]?.pairs ?? [] {
            guard let field = k.scalarText else { continue }
            if collection?.field(field) != nil {
                error("'\(field)' is a field of '\(collectionName)'; map it under 'fields', where it is type-checked", k.location)
            }
            if node["fields"]?[field] != nil { error("'\(field)' is mapped twice", k.location) }
            if isEdge && CARCatalogue.engineEdgeFields.contains(field) {
                error("'\(field)' is set by the engine on every edge; leave it out", k.location)
            }
            guard let expr = expression(v, scope: itemScope) else { continue }
            noteLookups(expr, from: fromName)
            extraFields.append(FieldMapping(name: field, value: expr, location: k.location))
        }
        var keepNulls: Set<String> = []
        for item in node["keep_nulls"]?.items ?? [] {
            guard let f = item.scalarText else { continue }
            if node["fields"]?[f] == nil && node["extra_fields"]?[f] == nil {
                error("keep_nulls names '\(f)', which this mapping does not map", item.location)
            }
            keepNulls.insert(f)
        }

        if let collection, node["fields"]?.pairs != nil {
            let mapped = Set((node["fields"]?.pairs ?? []).compactMap { $0.key.scalarText })
            checkRequired(collection, mapped: mapped, at: self.keyNode(node, "fields")?.location ?? node.location, node: node)
        }
        return Mapping(
            name: name, collection: collectionName, from: fromName, each: each, when: when, fields: fields,
            extraFields: extraFields, keepNulls: keepNulls, isEdge: isEdge, location: keyNode.location, levels: levels)
    }

    /// Endpoints named in lookup calls count as used.
    mutating func noteLookups(_ expr: Expr?, from endpoint: String) {
        guard let expr else { return }
        let text = expr.span.text
        for fn in ["lookup(", "lookup_many(", "lookup_by(", "lookup_all(", "records_of("] {
            var rest = Substring(text)
            while let r = rest.firstRange(of: fn) {
                rest = rest[r.upperBound...]
                let trimmed = rest.drop { $0 == " " }
                guard let q = trimmed.first, q == "'" || q == "\"" else { continue }
                let nameStart = trimmed.dropFirst()
                if let end = nameStart.firstIndex(of: q) {
                    usedEndpoints.insert(String(nameStart[..<end]))
                    lookupEndpoints.insert(String(nameStart[..<end]))
                    lookupsByEndpoint[endpoint, default: []].insert(String(nameStart[..<end]))
                    if fn != "lookup(" && fn != "lookup_many(" { keyedLookupEndpoints.insert(String(nameStart[..<end])) }
                }
            }
        }
    }

    /// Checks a constant's value against the field's declared pattern and bounds.
    func literalCheck(_ expr: Expr, _ info: FieldInfo) -> String? {
        guard let value = expr.compiled.constant else { return nil }
        if case .string(let s) = value, let pattern = info.pattern, let regex = try? Regex(pattern),
            (try? regex.firstMatch(in: s)) == nil
        {
            return "'\(s)' does not match the pattern of field '\(info.name)'"
        }
        if let d = value.doubleValue {
            if let min = info.minimum, d < min { return "\(d) is below the minimum \(min) of field '\(info.name)'" }
            if let max = info.maximum, d > max { return "\(d) is above the maximum \(max) of field '\(info.name)'" }
        }
        return nil
    }

    mutating func checkRequired(_ collection: CollectionInfo, mapped: Set<String>, at location: SourceLocation, node: YAMLNode) {
        var required = collection.required
        switch collection.kind {
        case .vertex(let key):
            if !required.contains(key.rawValue) { required.insert(key.rawValue, at: 0) }
        case .edge(_, _, let fromField, let toField):
            required = [fromField, toField] + required
        }
        let missing = required.filter { !mapped.contains($0) }
        if !missing.isEmpty {
            let list = missing.map { "'\($0)'" }.joined(separator: ", ")
            error("'\(collection.name)' requires \(list), which \(missing.count == 1 ? "is" : "are") not mapped", location)
        }
        if !collection.oneOfRequired.isEmpty && !collection.oneOfRequired.contains(where: { $0.allSatisfy(mapped.contains) }) {
            let options = collection.oneOfRequired.map { $0.joined(separator: " and ") }.joined(separator: ", or ")
            error("'\(collection.name)' requires \(options)", location)
        }
    }

    /// Checks that edge endpoints written as "<collection>/<key>" name the edge's collections, and
    /// warns about edges to collections no mapping produces.
    mutating func checkEdgeTargets(_ edges: [Mapping], vertices: [Mapping], catalogue: CARCatalogue) {
        let produced = Set(vertices.map(\.collection))
        for edge in edges {
            guard let info = catalogue[edge.collection], case .edge(let from, let to, let fromField, let toField) = info.kind else { continue }
            for (field, expected) in [(fromField, from), (toField, to)] where !field.hasSuffix("_external_id") {
                guard let mapping = edge.fields.first(where: { $0.name == field }) else { continue }
                if let prefix = Self.literalPrefix(mapping.value.span.text), let slash = prefix.firstIndex(of: "/") {
                    let named = String(prefix[..<slash])
                    if named != expected {
                        error("'\(field)' of \(edge.collection) must point into '\(expected)' (\"\(expected)/<key>\"), not '\(named)'", mapping.value.span.location)
                    }
                } else if let constant = mapping.value.compiled.constant?.stringValue, !constant.hasPrefix(expected + "/") {
                    error("'\(field)' of \(edge.collection) must be \"\(expected)/<key>\"", mapping.value.span.location)
                }
            }
            for target in [from, to] where !produced.contains(target) {
                warning("edges '\(edge.name)' point to '\(target)' vertices, which no mapping of this connector produces", edge.location)
            }
        }
    }

    /// The leading string literal of `concat('x/', ...)` or `'x/' + ...`.
    static func literalPrefix(_ text: String) -> String? {
        guard let ast = try? ExpressionParser.parse(text) else { return nil }
        switch ast {
        case .call(let name, let args, _, _) where name == "concat":
            return args.first?.literalValue?.stringValue
        case .binary(.add, let l, _, _):
            var left = l
            while case .binary(.add, let inner, _, _) = left { left = inner }
            return left.literalValue?.stringValue
        default:
            return nil
        }
    }

    mutating func buildSchemaExtension(_ node: YAMLNode?, catalogue: inout CARCatalogue) -> SchemaExtension? {
        guard let node else { return nil }
        func properties(_ n: YAMLNode?) -> [SchemaExtension.Property] {
            (n?.pairs ?? []).compactMap { k, v in
                guard let name = k.scalarText, let type = text(v, "type") else { return nil }
                return SchemaExtension.Property(
                    name: name, type: type, required: bool(v, "required") ?? false, indexed: bool(v, "indexed"),
                    unique: bool(v, "unique"), description: text(v, "description"))
            }
        }
        if let k = node["key"], let key = k.scalarText,
            !DefinitionBuilder.matches(key, "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
        {
            error("the schema extension key must be a UUID, found '\(key)'", k.location)
        }
        var vertices: [SchemaExtension.VertexCollection] = []
        for (k, v) in node["vertices"]?.pairs ?? [] {
            guard let name = k.scalarText else { continue }
            let props = properties(v["properties"])
            let fields = props.map { FieldInfo(name: $0.name, type: Self.fieldType($0.type), summary: $0.description) }
            let required = props.filter(\.required).map(\.name)
            if let existing = catalogue[name] {
                if existing.isEdge {
                    error("'\(name)' is an edge collection; extend it under schema_extension.edges", k.location)
                } else {
                    catalogue.extend(name, with: fields, required: required)
                }
            } else {
                var all = fields
                for base in ["external_id", "name", "source", "tag", "untag", "properties"] where !all.contains(where: { $0.name == base }) {
                    let type: FieldType = base == "tag" || base == "untag" ? .array : base == "properties" ? .object : .string
                    all.append(FieldInfo(name: base, type: type))
                }
                catalogue.add(CollectionInfo(name: name, kind: .vertex(key: .externalId), required: ["external_id"] + required, oneOfRequired: [], fields: all))
            }
            vertices.append(.init(name: name, properties: props))
        }
        var edges: [SchemaExtension.EdgeCollection] = []
        for (k, v) in node["edges"]?.pairs ?? [] {
            guard let name = k.scalarText, let from = text(v, "from"), let to = text(v, "to") else { continue }
            for (end, n) in [(from, v["from"]), (to, v["to"])] where catalogue[end] == nil || catalogue[end]?.isEdge == true {
                error("unknown vertex collection '\(end)'\(Suggest.hint(for: end, in: catalogue.vertexNames))", n?.location)
            }
            if name != "\(from)_\(to)" {
                error("an edge collection between '\(from)' and '\(to)' is named '\(from)_\(to)', not '\(name)'", k.location)
            }
            let props = properties(v["properties"])
            func endField(_ c: String, _ side: String) -> String {
                catalogue[c]?.keyKind == .key ? "_\(side)" : "_\(side)_external_id"
            }
            let fromField = endField(from, "from")
            let toField = endField(to, "to")
            var fields = props.map { FieldInfo(name: $0.name, type: Self.fieldType($0.type), summary: $0.description) }
            fields += [FieldInfo(name: fromField, type: .string), FieldInfo(name: toField, type: .string),
                       FieldInfo(name: "created", type: .number), FieldInfo(name: "modified", type: .number),
                       FieldInfo(name: "report", type: .string), FieldInfo(name: "active", type: .boolean),
                       FieldInfo(name: "source", type: .string), FieldInfo(name: "properties", type: .object),
                       FieldInfo(name: "external_id", type: .string)]
            catalogue.add(CollectionInfo(
                name: name, kind: .edge(from: from, to: to, fromField: fromField, toField: toField),
                required: props.filter(\.required).map(\.name), oneOfRequired: [], fields: fields))
            edges.append(.init(name: name, from: from, to: to, properties: props))
        }
        return SchemaExtension(
            key: text(node, "key") ?? "", owner: text(node, "owner") ?? "", version: int(node, "version") ?? 1,
            vertices: vertices, edges: edges)
    }

    // MARK: Warnings

    mutating func warnUnused(parameters: [Parameter], endpointsNode: YAMLNode?, datasource: DatasourceSpec) {
        for p in parameters where !usedVariables.contains(p.name) && !p.acceptedOnly {
            warning("parameter '\(p.name)' is not used by any template or expression (a flag IBM's deployments pass that car ignores says unused: true)", p.location)
        }
        for (k, _) in endpointsNode?.pairs ?? [] {
            guard let name = k.scalarText, !usedEndpoints.contains(name) else { continue }
            warning("endpoint '\(name)' is not used by any mapping, lookup or connection test", k.location)
        }
    }
}
