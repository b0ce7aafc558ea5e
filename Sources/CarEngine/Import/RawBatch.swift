import MappingDSL

/// Serialized objects gathered into envelopes without parsing them again. Collections are
/// named by their index in `names` (an `EdgeBuffer`'s), so that no name is hashed per object.
struct RawBatch {
    let head: [UInt8]
    let pageSize: Int
    /// Collection indexes in the order their first object came.
    var order: [Int] = []
    /// Each collection's objects so far, comma-separated; empty when it has none.
    var lists: [[UInt8]] = []
    var count = 0

    init(head: [UInt8], pageSize: Int) {
        var h = head
        h.removeLast()  // the envelope head's closing brace
        self.head = h
        self.pageSize = max(1, pageSize)
    }

    /// Adds a serialized object; returns a full envelope when the page is complete.
    mutating func add(_ object: ArraySlice<UInt8>, to collection: Int, names: [String]) -> [UInt8]? {
        open(collection)
        lists[collection].append(contentsOf: object)
        return added(names: names)
    }

    /// Adds an object, serialized straight into its collection's list.
    mutating func add(_ object: JSONObject, to collection: Int, names: [String]) -> [UInt8]? {
        open(collection)
        JSONWriter().write(.object(object), into: &lists[collection])
        return added(names: names)
    }

    /// Makes room for one more object of the collection: its place in the order, or a comma.
    private mutating func open(_ collection: Int) {
        while lists.count <= collection { lists.append([]) }
        if lists[collection].isEmpty {
            order.append(collection)
        } else {
            lists[collection].append(UInt8(ascii: ","))
        }
    }

    private mutating func added(names: [String]) -> [UInt8]? {
        count += 1
        return count >= pageSize ? flush(names: names) : nil
    }

    /// The envelope being gathered, if it has anything.
    mutating func flush(names: [String]) -> [UInt8]? {
        guard count > 0 else { return nil }
        var envelope = head
        envelope.reserveCapacity(head.count + lists.reduce(0) { $0 + $1.count + 40 })
        for c in order {
            envelope.append(UInt8(ascii: ","))
            JSONWriter.writeString(names[c], into: &envelope)
            envelope.append(contentsOf: [UInt8(ascii: ":"), UInt8(ascii: "[")])
            envelope += lists[c]
            envelope.append(UInt8(ascii: "]"))
            lists[c].removeAll(keepingCapacity: true)
        }
        envelope.append(UInt8(ascii: "}"))
        order = []
        count = 0
        return envelope
    }
}
