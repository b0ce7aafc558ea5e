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

/// The identities a run has sent in one collection, as `Hash64` values, in an open-addressing
/// table (linear probing, at most 7/8 full, growing by half): about 11 bytes per identity, where
/// `Set<UInt64>` takes about 23 with its growth — at a million objects the difference is most of
/// what the run holds.
struct IdentitySet {
    /// Zero marks an empty slot; the identity 0 is kept in `hasZero`.
    private var slots: [UInt64] = []
    private var hasZero = false
    private(set) var count = 0

    /// Adds an identity; `false` when it was there already.
    mutating func insert(_ identity: UInt64) -> Bool {
        if identity == 0 {
            if hasZero { return false }
            hasZero = true
            count += 1
            return true
        }
        if (count + 1) * 8 > slots.count * 7 { grow() }
        let added = slots.withUnsafeMutableBufferPointer { Self.place(identity, in: $0) }
        if added { count += 1 }
        return added
    }

    /// Whether the identity is in the set.
    func contains(_ identity: UInt64) -> Bool {
        if identity == 0 { return hasZero }
        guard !slots.isEmpty else { return false }
        return slots.withUnsafeBufferPointer { buffer in
            var i = Self.start(identity, buffer.count)
            while buffer[i] != 0 {
                if buffer[i] == identity { return true }
                i = i + 1 == buffer.count ? 0 : i + 1
            }
            return false
        }
    }

    private static func start(_ identity: UInt64, _ capacity: Int) -> Int {
        // FNV's low bits are weak: mixed first (splitmix64's finalizer), then mapped onto the
        // table by multiplication (any capacity, no modulo).
        var z = identity
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return Int(z.multipliedFullWidth(by: UInt64(capacity)).high)
    }

    private static func place(_ identity: UInt64, in buffer: UnsafeMutableBufferPointer<UInt64>) -> Bool {
        var i = start(identity, buffer.count)
        while buffer[i] != 0 {
            if buffer[i] == identity { return false }
            i = i + 1 == buffer.count ? 0 : i + 1
        }
        buffer[i] = identity
        return true
    }

    private mutating func grow() {
        let old = slots
        slots = [UInt64](repeating: 0, count: max(1024, old.count + old.count / 2))
        slots.withUnsafeMutableBufferPointer { buffer in
            for identity in old where identity != 0 { _ = Self.place(identity, in: buffer) }
        }
    }
}
