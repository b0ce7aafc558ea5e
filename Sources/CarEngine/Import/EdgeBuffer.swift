import MappingDSL

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Edges wait until every vertex is accepted. They are held in memory up to a limit, then
/// spilled to a file of JSON lines in the export directory.
struct EdgeBuffer {
    let limit: Int
    let directory: String
    /// Edges in memory, serialized: far smaller than the JSON values.
    var arena: [UInt8] = []
    var entries: [(collection: Int, range: Range<Int>)] = []
    var collections: [String] = []
    var collectionIndex: [String: Int] = [:]
    var file: UnsafeMutablePointer<FILE>?
    var path: String?
    var spilled = 0

    init(limit: Int, directory: String) {
        self.limit = limit
        self.directory = directory
    }

    var count: Int { entries.count + spilled }

    mutating func add(_ object: JSONObject, collection: String) throws {
        if entries.count < limit && file == nil {
            let index: Int
            if let i = collectionIndex[collection] {
                index = i
            } else {
                index = collections.count
                collections.append(collection)
                collectionIndex[collection] = index
            }
            let start = arena.count
            JSONWriter().write(.object(object), into: &arena)
            entries.append((index, start..<arena.count))
            return
        }
        if file == nil {
            let p = directory + "/car-edges-\(getpid())-\(Clock.nowMs()).jsonl"
            guard let f = fopen(p, "w+") else {
                throw RunFailure(.general, "cannot write edges to '\(p)': \(String(cString: strerror(errno)))")
            }
            file = f
            path = p
            // Move what is in memory too, so that order is kept.
            for e in entries {
                if case .object(let o) = try JSONParser.parse(arena[e.range]) { try write(collections[e.collection], o) }
            }
            entries = []
            arena = []
        }
        try write(collection, object)
    }

    private mutating func write(_ collection: String, _ object: JSONObject) throws {
        var line: [UInt8] = []
        JSONWriter().write(["c": .string(collection), "o": .object(object)], into: &line)
        line.append(0x0A)
        let n = line.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
        if n != line.count { throw RunFailure(.general, "cannot write edges to '\(path ?? "")'") }
        spilled += 1
    }

    var readIndex = 0
    var pending: [UInt8] = []
    var pendingStart = 0
    var rewound = false

    /// The next edges, in the order added (at most `n`); empty when all were taken.
    mutating func take(_ n: Int) throws -> [(String, JSONObject)] {
        guard let f = file else {
            let end = min(readIndex + n, entries.count)
            defer { readIndex = end }
            var out: [(String, JSONObject)] = []
            for e in entries[readIndex..<end] {
                if case .object(let o) = try JSONParser.parse(arena[e.range]) { out.append((collections[e.collection], o)) }
            }
            return out
        }
        if !rewound {
            fflush(f)
            rewind(f)
            rewound = true
        }
        var out: [(String, JSONObject)] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while out.count < n {
            // Lines are parsed where they stand: `pendingStart` moves instead of bytes.
            if let newline = pending[pendingStart...].firstIndex(of: 0x0A) {
                let value = try JSONParser.parse(pending[pendingStart..<newline])
                pendingStart = newline + 1
                if case .string(let c)? = value["c"], case .object(let o)? = value["o"] { out.append((c, o)) }
                continue
            }
            pending.removeSubrange(0..<pendingStart)
            pendingStart = 0
            let count = buffer.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, f) }
            if count == 0 { break }
            pending += buffer[0..<count]
        }
        return out
    }

    /// Closes and removes the spill file unless asked to keep it.
    mutating func close(keep: Bool) {
        if let f = file { fclose(f) }
        file = nil
        if let p = path, !keep { unlink(p) }
    }
}
