import CarDefinition
import MappingDSL

/// FNV-1a, 64 bits: a stable hash for de-duplication sets.
enum Hash64 {
    static let seed: UInt64 = 0xCBF2_9CE4_8422_2325

    static func of(_ s: String) -> UInt64 { adding(s, to: seed) }

    /// The hash continued over more text.
    static func adding(_ s: String, to hash: UInt64) -> UInt64 {
        var h = hash
        for b in s.utf8 {
            h ^= UInt64(b)
            h = h &* 0x0000_0100_0000_01B3
        }
        return h
    }

    /// The hash of an object's identity in its collection (`Mapper.identity`), without building it.
    static func identity(of object: JSONObject, in info: CollectionInfo) -> UInt64 {
        switch info.kind {
        case .vertex(let key):
            return of(renderString(object[key.rawValue] ?? .null))
        case .edge(_, _, let fromField, let toField):
            return adding(renderString(object[toField] ?? .null), to: adding("\u{1F}", to: of(renderString(object[fromField] ?? .null))))
        }
    }
}

/// Serialized objects gathered into envelopes without parsing them again.
struct RawBatch {
    let head: [UInt8]
    let pageSize: Int
    var order: [String] = []
    var lists: [String: [UInt8]] = [:]
    var count = 0

    init(head: [UInt8], pageSize: Int) {
        var h = head
        h.removeLast()  // the envelope head's closing brace
        self.head = h
        self.pageSize = max(1, pageSize)
    }

    /// Adds an object; returns a full envelope when the page is complete.
    mutating func add(_ object: ArraySlice<UInt8>, to collection: String) -> [UInt8]? {
        if lists[collection] == nil {
            order.append(collection)
            lists[collection] = []
        } else {
            lists[collection]?.append(UInt8(ascii: ","))
        }
        lists[collection]?.append(contentsOf: object)
        count += 1
        return count >= pageSize ? flush() : nil
    }

    /// The envelope being gathered, if it has anything.
    mutating func flush() -> [UInt8]? {
        guard count > 0 else { return nil }
        var envelope = head
        for c in order {
            guard let list = lists[c] else { continue }
            envelope += Array(",".utf8)
            JSONWriter.writeString(c, into: &envelope)
            envelope += Array(":[".utf8)
            envelope += list
            envelope.append(UInt8(ascii: "]"))
        }
        envelope.append(UInt8(ascii: "}"))
        order = []
        lists = [:]
        count = 0
        return envelope
    }
}
