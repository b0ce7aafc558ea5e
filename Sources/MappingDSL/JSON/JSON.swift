/// A JSON value. Integers and floating-point numbers are kept apart: a JSON number without a
/// fraction or exponent that fits in 64 bits is an `.int`, every other number a `.double`.
public enum JSON: Sendable, Hashable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSON])
    case object(JSONObject)

    /// The member `key` of an object, or `nil` for a missing key or a non-object.
    public subscript(key: String) -> JSON? {
        if case .object(let object) = self { return object[key] }
        return nil
    }

    /// The element at `index` of an array, or `nil`.
    public subscript(index: Int) -> JSON? {
        if case .array(let array) = self, array.indices.contains(index) { return array[index] }
        return nil
    }

    /// `true` for `.null`.
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// The string of a `.string`, or `nil`.
    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// The elements of an `.array`, or `nil`.
    public var arrayValue: [JSON]? {
        if case .array(let a) = self { return a }
        return nil
    }

    /// The members of an `.object`, or `nil`.
    public var objectValue: JSONObject? {
        if case .object(let o) = self { return o }
        return nil
    }

    /// The numeric value of an `.int` or `.double`, or `nil`.
    public var doubleValue: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .double(let d): return d
        default: return nil
        }
    }

    /// The name of the value's JSON type, as used in messages: `null`, `boolean`, `integer`,
    /// `number`, `string`, `array`, `object`.
    public var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "boolean"
        case .int: return "integer"
        case .double: return "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }
}

extension JSON: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral,
    ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .int(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JSON...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSON)...) {
        var object = JSONObject()
        for (k, v) in elements { object[k] = v }
        self = .object(object)
    }
    public init(nilLiteral: ()) { self = .null }
}

/// A JSON object that keeps its members in insertion order. Looking a key up is a linear scan
/// for small objects and a hash lookup once an object has more than a few members.
public struct JSONObject: Sendable, Sequence {
    /// The keys, in insertion order.
    public private(set) var keys: [String]
    /// The values, parallel to `keys`.
    public private(set) var values: [JSON]
    private var index: [String: Int]?

    private static let indexThreshold = 12

    /// An empty object.
    public init() {
        keys = []
        values = []
        index = nil
    }

    /// An empty object with room for `capacity` members.
    public init(minimumCapacity capacity: Int) {
        keys = []
        values = []
        keys.reserveCapacity(capacity)
        values.reserveCapacity(capacity)
        index = nil
    }

    /// An object of distinct keys and their values (the parser's: it checks for repeated keys).
    init(distinctKeys keys: [String], values: [JSON]) {
        self.keys = keys
        self.values = values
        index = nil
        if keys.count > Self.indexThreshold { rebuildIndex() }
    }

    /// The number of members.
    public var count: Int { keys.count }
    /// `true` when the object has no members.
    public var isEmpty: Bool { keys.isEmpty }

    /// The position of `key`, or `nil`.
    public func position(of key: String) -> Int? {
        if let index { return index[key] }
        for i in keys.indices where keys[i] == key { return i }
        return nil
    }

    /// The value of `key`; setting `nil` removes the member, setting a value replaces it in
    /// place or appends it.
    public subscript(key: String) -> JSON? {
        get {
            guard let i = position(of: key) else { return nil }
            return values[i]
        }
        set {
            if let newValue {
                if let i = position(of: key) {
                    values[i] = newValue
                } else {
                    append(key, newValue)
                }
            } else if let i = position(of: key) {
                keys.remove(at: i)
                values.remove(at: i)
                if index != nil { rebuildIndex() }
            }
        }
    }

    /// Appends a member without checking for an existing one with the same key. Callers that
    /// cannot rule out duplicates use the subscript.
    public mutating func append(_ key: String, _ value: JSON) {
        keys.append(key)
        values.append(value)
        if index != nil {
            index?[key] = keys.count - 1
        } else if keys.count > Self.indexThreshold {
            rebuildIndex()
        }
    }

    private mutating func rebuildIndex() {
        var built = [String: Int](minimumCapacity: keys.count)
        for (i, k) in keys.enumerated() { built[k] = i }
        index = built
    }

    /// Iterates members as `(key, value)` pairs in insertion order.
    public func makeIterator() -> Iterator { Iterator(keys: keys, values: values) }

    /// The members in insertion order (a concrete iterator: no allocation, no indirect calls).
    public struct Iterator: IteratorProtocol {
        let keys: [String]
        let values: [JSON]
        var i = 0

        public mutating func next() -> (key: String, value: JSON)? {
            guard i < keys.count else { return nil }
            defer { i += 1 }
            return (keys[i], values[i])
        }
    }
}

extension JSONObject: Hashable {
    /// Objects are equal when they have the same members, in any order.
    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        guard lhs.count == rhs.count else { return false }
        if lhs.keys == rhs.keys { return lhs.values == rhs.values }
        for i in lhs.keys.indices {
            guard let other = rhs[lhs.keys[i]], other == lhs.values[i] else { return false }
        }
        return true
    }

    public func hash(into hasher: inout Hasher) {
        // Order-independent: the sum of the members' own hashes.
        var sum = 0
        for i in keys.indices {
            var h = Hasher()
            h.combine(keys[i])
            h.combine(values[i])
            sum = sum &+ h.finalize()
        }
        hasher.combine(count)
        hasher.combine(sum)
    }
}
