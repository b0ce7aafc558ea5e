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
///
/// The members are one array of key-value pairs: building an object allocates once, and copying
/// one counts one reference (two parallel arrays cost two of each; measured in
/// docs/performance.md).
public struct JSONObject: Sendable, Sequence {
    /// One member: a key and its value.
    public struct Member: Sendable, Hashable {
        public var key: String
        public var value: JSON

        public init(_ key: String, _ value: JSON) {
            self.key = key
            self.value = value
        }
    }

    /// The members, in insertion order.
    public private(set) var members: [Member]
    private var index: [String: Int]?

    private static let indexThreshold = 12

    /// An empty object.
    public init() {
        members = []
        index = nil
    }

    /// An empty object with room for `capacity` members.
    public init(minimumCapacity capacity: Int) {
        members = []
        members.reserveCapacity(capacity)
        index = nil
    }

    /// An object of members with distinct keys (the parser's: it checks for repeated keys).
    init(distinctMembers members: [Member]) {
        self.members = members
        index = nil
        if members.count > Self.indexThreshold { rebuildIndex() }
    }

    /// The keys, in insertion order (a new array: loops over members read `members`).
    public var keys: [String] { members.map(\.key) }
    /// The values, parallel to `keys` (a new array).
    public var values: [JSON] { members.map(\.value) }

    /// The number of members.
    public var count: Int { members.count }
    /// `true` when the object has no members.
    public var isEmpty: Bool { members.isEmpty }

    /// `true` when the object's keys are `keys`, in that order.
    public func hasKeys(_ keys: [String]) -> Bool {
        guard keys.count == members.count else { return false }
        for i in members.indices where members[i].key != keys[i] { return false }
        return true
    }

    /// The position of `key`, or `nil`.
    public func position(of key: String) -> Int? {
        if let index { return index[key] }
        for i in members.indices where members[i].key == key { return i }
        return nil
    }

    /// The value of `key`; setting `nil` removes the member, setting a value replaces it in
    /// place or appends it.
    public subscript(key: String) -> JSON? {
        get {
            guard let i = position(of: key) else { return nil }
            return members[i].value
        }
        set {
            if let newValue {
                if let i = position(of: key) {
                    members[i].value = newValue
                } else {
                    append(key, newValue)
                }
            } else if let i = position(of: key) {
                members.remove(at: i)
                if index != nil { rebuildIndex() }
            }
        }
    }

    /// Appends a member without checking for an existing one with the same key. Callers that
    /// cannot rule out duplicates use the subscript.
    public mutating func append(_ key: String, _ value: JSON) {
        members.append(Member(key, value))
        if index != nil {
            index?[key] = members.count - 1
        } else if members.count > Self.indexThreshold {
            rebuildIndex()
        }
    }

    /// Removes every member; with `keepingCapacity`, the storage stays for the next members.
    public mutating func removeAll(keepingCapacity: Bool = false) {
        members.removeAll(keepingCapacity: keepingCapacity)
        index = nil
    }

    private mutating func rebuildIndex() {
        var built = [String: Int](minimumCapacity: members.count)
        for (i, m) in members.enumerated() { built[m.key] = i }
        index = built
    }

    /// Iterates members as `(key, value)` pairs in insertion order.
    public func makeIterator() -> Iterator { Iterator(members: members) }

    /// The members in insertion order (a concrete iterator: no allocation, no indirect calls).
    public struct Iterator: IteratorProtocol {
        let members: [Member]
        var i = 0

        public mutating func next() -> (key: String, value: JSON)? {
            guard i < members.count else { return nil }
            defer { i += 1 }
            return (members[i].key, members[i].value)
        }
    }
}

extension JSONObject: Hashable {
    /// Objects are equal when they have the same members, in any order.
    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        guard lhs.count == rhs.count else { return false }
        if lhs.members == rhs.members { return true }
        for m in lhs.members {
            guard let other = rhs[m.key], other == m.value else { return false }
        }
        return true
    }

    public func hash(into hasher: inout Hasher) {
        // Order-independent: the sum of the members' own hashes.
        var sum = 0
        for m in members {
            var h = Hasher()
            h.combine(m.key)
            h.combine(m.value)
            sum = sum &+ h.finalize()
        }
        hasher.combine(count)
        hasher.combine(sum)
    }
}
