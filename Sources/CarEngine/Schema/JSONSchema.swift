import CarDefinition
import MappingDSL

/// A JSON Schema (2020-12 subset) compiled once for fast validation: `type`, `enum`, `const`,
/// `properties`, `required`, `additionalProperties`, `propertyNames`, `items`, `allOf`, `anyOf`,
/// `oneOf`, `not`, `pattern`, `minLength`, `maxLength`, `minimum`, `maximum`, and local `$ref`s.
/// Unknown keywords (`description`, `indexed`, ...) are ignored.
public final class JSONSchema: Sendable {
    /// A validation failure: where in the instance (a JSON pointer-like path) and why.
    public struct Failure: Sendable, Hashable, CustomStringConvertible {
        public var path: String
        public var message: String
        public var description: String { path.isEmpty ? message : "\(path): \(message)" }
    }

    private let node: Node

    /// Compiles a schema document.
    public init(_ document: JSON) throws(SchemaError) {
        var refs: [String: Node] = [:]
        node = try Node.compile(document, root: document, refs: &refs, depth: 0)
    }

    /// Every failure of `value`; empty when valid. Valid values (nearly all) take a path that
    /// builds no failure text.
    public func validate(_ value: JSON) -> [Failure] {
        if node.accepts(value) { return [] }
        var failures: [Failure] = []
        node.validate(value, path: "", into: &failures)
        return failures
    }

    /// Which property schema each member of an object answers to, kept for the next object
    /// with the same keys in the same order (the objects of one mapping all have them).
    public struct MemberPlan: Sendable {
        fileprivate var keys: [String] = []
        fileprivate var nodes: [Node?] = []
        fileprivate var hasRequired = false
        /// Per member, the last scalar value found valid: the next object's equal value (the
        /// source, report and timestamp of every edge, a repeated type) is not checked again.
        fileprivate var accepted: [JSON?] = []

        public init() {}
    }

    /// `validate` for many objects of one shape: their members' schemas are found once.
    public func validate(_ object: JSONObject, plan: inout MemberPlan) -> [Failure] {
        if node.acceptsObject(object, plan: &plan) { return [] }
        var failures: [Failure] = []
        node.validate(.object(object), path: "", into: &failures)
        return failures
    }

    /// An error in a schema document itself.
    public struct SchemaError: Error, Sendable, CustomStringConvertible {
        public var description: String
    }


    fileprivate final class Node: Sendable {
        let types: Set<String>?
        let typeMask: TypeMask?
        let enumValues: [JSON]?
        let const: JSON?
        let properties: [(String, Node)]
        /// Positions in `properties` by name, for the larger property sets.
        let propertyIndex: [String: Int]?
        let required: [String]
        let additional: Additional
        let propertyNames: Node?
        let items: Node?
        let allOf: [Node]
        let anyOf: [Node]
        let oneOf: [Node]
        let not: Node?
        let pattern: SharedRegex?
        let minLength: Int?
        let maxLength: Int?
        let minimum: Double?
        let maximum: Double?
        let ref: RefBox?

        enum Additional: Sendable {
            case allowed, forbidden
            case schema(Node)
        }

        init(types: Set<String>?, enumValues: [JSON]?, const: JSON?, properties: [(String, Node)], required: [String],
             additional: Additional, propertyNames: Node?, items: Node?, allOf: [Node], anyOf: [Node], oneOf: [Node],
             not: Node?, pattern: SharedRegex?, minLength: Int?, maxLength: Int?, minimum: Double?, maximum: Double?, ref: RefBox?)
        {
            self.types = types
            self.typeMask = types.map { TypeMask(names: $0) }
            self.enumValues = enumValues
            self.const = const
            self.properties = properties
            propertyIndex = properties.count > 6 ? Dictionary(properties.enumerated().map { ($1.0, $0) }, uniquingKeysWith: { a, _ in a }) : nil
            self.required = required
            self.additional = additional
            self.propertyNames = propertyNames
            self.items = items
            self.allOf = allOf
            self.anyOf = anyOf
            self.oneOf = oneOf
            self.not = not
            self.pattern = pattern
            self.minLength = minLength
            self.maxLength = maxLength
            self.minimum = minimum
            self.maximum = maximum
            self.ref = ref
        }

        static func compile(_ s: JSON, root: JSON, refs: inout [String: Node], depth: Int) throws(SchemaError) -> Node {
            if depth > 64 { throw SchemaError(description: "schema nested too deeply") }
            if case .bool(let b) = s {
                return Node.trivial(allow: b)
            }
            guard case .object(let o) = s else { throw SchemaError(description: "a schema must be an object or a boolean") }
            func sub(_ v: JSON) throws(SchemaError) -> Node { try compile(v, root: root, refs: &refs, depth: depth + 1) }
            func list(_ key: String) throws(SchemaError) -> [Node] {
                guard case .array(let a)? = o[key] else { return [] }
                var out: [Node] = []
                for x in a { out.append(try sub(x)) }
                return out
            }
            var types: Set<String>?
            switch o["type"] {
            case .string(let t)?: types = [t]
            case .array(let a)?: types = Set(a.compactMap(\.stringValue))
            default: break
            }
            var properties: [(String, Node)] = []
            if case .object(let p)? = o["properties"] {
                for (k, v) in p { properties.append((k, try sub(v))) }
            }
            var additional = Additional.allowed
            switch o["additionalProperties"] {
            case .bool(false)?: additional = .forbidden
            case .object?:
                if let a = o["additionalProperties"] { additional = .schema(try sub(a)) }
            default: break
            }
            var pattern: SharedRegex?
            if case .string(let p)? = o["pattern"] {
                do {
                    pattern = try SharedRegex(source: p)
                } catch {
                    throw SchemaError(description: "invalid pattern '\(p)': \(error)")
                }
            }
            var ref: RefBox?
            if case .string(let r)? = o["$ref"] {
                if let existing = refs[r] {
                    ref = RefBox(existing)
                } else {
                    guard r.hasPrefix("#") else { throw SchemaError(description: "only local $refs are supported: \(r)") }
                    var target = root
                    for part in r.dropFirst().split(separator: "/") {
                        let key = String(part).replacing("~1", with: "/").replacing("~0", with: "~")
                        guard let next = target[key] else { throw SchemaError(description: "unresolved $ref \(r)") }
                        target = next
                    }
                    let compiled = try sub(target)
                    refs[r] = compiled
                    ref = RefBox(compiled)
                }
            }
            func int(_ k: String) -> Int? {
                if case .int(let i)? = o[k] { return Int(i) }
                return nil
            }
            return Node(
                types: types, enumValues: o["enum"]?.arrayValue, const: o["const"], properties: properties,
                required: o["required"]?.arrayValue?.compactMap(\.stringValue) ?? [], additional: additional,
                propertyNames: try o["propertyNames"].map(sub), items: try o["items"].map(sub), allOf: try list("allOf"),
                anyOf: try list("anyOf"), oneOf: try list("oneOf"), not: try o["not"].map(sub), pattern: pattern,
                minLength: int("minLength"), maxLength: int("maxLength"), minimum: o["minimum"]?.doubleValue,
                maximum: o["maximum"]?.doubleValue, ref: ref)
        }

        static func trivial(allow: Bool) -> Node {
            Node(types: allow ? nil : [], enumValues: nil, const: nil, properties: [], required: [], additional: .allowed,
                 propertyNames: nil, items: nil, allOf: [], anyOf: [], oneOf: [], not: nil, pattern: nil, minLength: nil,
                 maxLength: nil, minimum: nil, maximum: nil, ref: nil)
        }

        static func typeMatches(_ v: JSON, _ t: String) -> Bool {
            switch (t, v) {
            case ("null", .null), ("boolean", .bool), ("string", .string), ("array", .array), ("object", .object): return true
            case ("integer", .int): return true
            case ("integer", .double(let d)): return d.rounded() == d && d.isFinite
            case ("number", .int), ("number", .double): return true
            default: return false
            }
        }

        func isValid(_ v: JSON) -> Bool { accepts(v) }

        /// `accepts` for an object, with the members' schemas from (or into) the plan.
        func acceptsObject(_ o: JSONObject, plan: inout MemberPlan) -> Bool {
            let v = JSON.object(o)
            guard ref == nil, enumValues == nil, const == nil, propertyNames == nil else { return accepts(v) }
            if let typeMask, !typeMask.admits(v) { return false }
            let members = o.members
            if !o.hasKeys(plan.keys) {
                plan.keys = o.keys
                plan.nodes = plan.keys.map { property($0) }
                plan.hasRequired = required.allSatisfy { o.position(of: $0) != nil }
                plan.accepted = [JSON?](repeating: nil, count: plan.keys.count)
            }
            if !plan.hasRequired { return false }
            for i in plan.nodes.indices {
                let value = members[i].value
                // A member's validity depends on its value alone.
                if let last = plan.accepted[i], Self.sameScalar(last, value) { continue }
                if !acceptsMember(value, property: plan.nodes[i]) { return false }
                switch value {
                case .array, .object: plan.accepted[i] = nil
                default: plan.accepted[i] = value
                }
            }
            return acceptsCombinations(v)
        }

        /// Whether two values are the same scalar (strings, numbers, booleans, null).
        static func sameScalar(_ a: JSON, _ b: JSON) -> Bool {
            switch (a, b) {
            case (.string(let x), .string(let y)): return x == y
            case (.int(let x), .int(let y)): return x == y
            case (.double(let x), .double(let y)): return x.bitPattern == y.bitPattern
            case (.bool(let x), .bool(let y)): return x == y
            case (.null, .null): return true
            default: return false
            }
        }

        /// Whether a member's value is valid: against its property's schema, or as an
        /// additional property.
        func acceptsMember(_ value: JSON, property p: Node?) -> Bool {
            if let p { return p.accepts(value) }
            switch additional {
            case .allowed: return true
            case .forbidden: return false
            case .schema(let s): return s.accepts(value)
            }
        }

        /// `allOf`, `anyOf`, `oneOf` and `not`.
        func acceptsCombinations(_ v: JSON) -> Bool {
            for s in allOf where !s.accepts(v) { return false }
            if !anyOf.isEmpty && !anyOf.contains(where: { $0.accepts(v) }) { return false }
            if !oneOf.isEmpty {
                var n = 0
                for s in oneOf where s.accepts(v) {
                    n += 1
                    if n > 1 { return false }
                }
                if n != 1 { return false }
            }
            if let not, not.accepts(v) { return false }
            return true
        }

        func property(_ name: String) -> Node? {
            if let propertyIndex { return propertyIndex[name].map { properties[$0].1 } }
            return properties.first(where: { $0.0 == name })?.1
        }

        /// Whether the value is valid, without describing why not: no paths, no messages.
        func accepts(_ v: JSON) -> Bool {
            if let ref, !ref.node.accepts(v) { return false }
            if let typeMask, !typeMask.admits(v) { return false }
            if let enumValues, !enumValues.contains(where: { JSONComparison.equal($0, v) }) { return false }
            if let const, !JSONComparison.equal(const, v) { return false }
            switch v {
            case .object(let o):
                for r in required where o[r] == nil { return false }
                for (k, value) in o {
                    if !acceptsMember(value, property: property(k)) { return false }
                    if let propertyNames, !propertyNames.accepts(.string(k)) { return false }
                }
            case .array(let a):
                if let items { for e in a where !items.accepts(e) { return false } }
            case .string(let s):
                if minLength != nil || maxLength != nil {
                    // Scalars are between a quarter of the UTF-8 bytes and all of them: counted
                    // only when the byte count (constant time) does not decide.
                    let bytes = s.utf8.count
                    if bytes / 4 < (minLength ?? 0) || bytes > (maxLength ?? .max) {
                        let n = s.unicodeScalars.count
                        if let m = minLength, n < m { return false }
                        if let m = maxLength, n > m { return false }
                    }
                }
                if let pattern, !pattern.matches(s) { return false }
            case .int, .double:
                if let d = v.doubleValue {
                    if let m = minimum, d < m { return false }
                    if let m = maximum, d > m { return false }
                }
            default: break
            }
            return acceptsCombinations(v)
        }

        func validate(_ v: JSON, path: String, into failures: inout [Failure]) {
            if let ref { ref.node.validate(v, path: path, into: &failures) }
            if let types, !types.contains(where: { Node.typeMatches(v, $0) }) {
                let expected = types.isEmpty ? "nothing" : types.sorted().joined(separator: " or ")
                failures.append(Failure(path: path, message: "must be \(expected), found \(v.typeName)"))
                return
            }
            if let enumValues, !enumValues.contains(where: { JSONComparison.equal($0, v) }) {
                failures.append(Failure(path: path, message: "must be one of \(enumValues.map(\.description).joined(separator: ", ")), found \(v)"))
            }
            if let const, !JSONComparison.equal(const, v) {
                failures.append(Failure(path: path, message: "must be \(const), found \(v)"))
            }
            switch v {
            case .object(let o):
                for r in required where o[r] == nil {
                    failures.append(Failure(path: path, message: "'\(r)' is required"))
                }
                for (k, value) in o {
                    let childPath = path + "/" + k
                    if let p = property(k) {
                        p.validate(value, path: childPath, into: &failures)
                    } else {
                        switch additional {
                        case .allowed: break
                        case .forbidden: failures.append(Failure(path: childPath, message: "is not allowed here"))
                        case .schema(let s): s.validate(value, path: childPath, into: &failures)
                        }
                    }
                    if let propertyNames, !propertyNames.isValid(.string(k)) {
                        failures.append(Failure(path: childPath, message: "is not an allowed name"))
                    }
                }
            case .array(let a):
                if let items { for (i, e) in a.enumerated() { items.validate(e, path: "\(path)/\(i)", into: &failures) } }
            case .string(let s):
                if minLength != nil || maxLength != nil {
                    let n = s.unicodeScalars.count
                    if let m = minLength, n < m { failures.append(Failure(path: path, message: "is shorter than \(m) characters")) }
                    if let m = maxLength, n > m { failures.append(Failure(path: path, message: "is longer than \(m) characters")) }
                }
                if let pattern, !pattern.matches(s) {
                    failures.append(Failure(path: path, message: "does not match the pattern \(pattern.source)"))
                }
            case .int, .double:
                if let d = v.doubleValue {
                    if let m = minimum, d < m { failures.append(Failure(path: path, message: "is below the minimum \(m)")) }
                    if let m = maximum, d > m { failures.append(Failure(path: path, message: "is above the maximum \(m)")) }
                }
            default: break
            }
            for s in allOf { s.validate(v, path: path, into: &failures) }
            if !anyOf.isEmpty && !anyOf.contains(where: { $0.isValid(v) }) {
                failures.append(Failure(path: path, message: "matches none of the allowed forms"))
            }
            if !oneOf.isEmpty {
                let n = oneOf.filter { $0.isValid(v) }.count
                if n != 1 {
                    failures.append(Failure(path: path, message: n == 0 ? "matches none of the allowed forms" : "matches more than one exclusive form"))
                }
            }
            if let not, not.isValid(v) {
                failures.append(Failure(path: path, message: "has a form that is not allowed"))
            }
        }
    }

    fileprivate final class RefBox: Sendable {
        let node: Node
        init(_ node: Node) { self.node = node }
    }
}
