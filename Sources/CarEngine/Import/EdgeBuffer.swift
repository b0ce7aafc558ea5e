import CarDefinition
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
    var line: [UInt8] = []

    init(limit: Int, directory: String) {
        self.limit = limit
        self.directory = directory
    }

    var count: Int { entries.count + spilled }

    mutating func add(_ object: JSONObject, collection: String) throws {
        if entries.count < limit && file == nil {
            if entries.isEmpty {
                // Room for the limit's edges at a typical size, at once: no copies as it grows.
                arena.reserveCapacity(min(limit, 1 << 20) * 128)
                entries.reserveCapacity(min(limit, 1 << 20))
            }
            let index = index(of: collection)
            let start = arena.count
            JSONWriter().write(.object(object), into: &arena)
            entries.append((index, start..<arena.count))
            return
        }
        if file == nil {
            let p = directory + "/car-edges-\(getpid())-\(WallClock.nowMs()).jsonl"
            guard let f = fopen(p, "w+") else {
                throw RunFailure(.general, "cannot write edges to '\(p)': \(String(cString: strerror(errno)))")
            }
            file = f
            path = p
            // Move what is in memory too, so that order is kept.
            for e in entries { try writeLine(e.collection, arena[e.range]) }
            entries = []
            arena = []
        }
        // One line buffer for every spilled edge: no allocation per edge.
        line.removeAll(keepingCapacity: true)
        JSONWriter.writeInt(Int64(index(of: collection)), into: &line)
        line.append(0x20)
        JSONWriter().write(.object(object), into: &line)
        line.append(0x0A)
        try writeLine()
    }

    mutating func index(of collection: String) -> Int {
        if let i = collectionIndex[collection] { return i }
        collections.append(collection)
        collectionIndex[collection] = collections.count - 1
        return collections.count - 1
    }

    /// A spilled line is "<collection index> <object>\n".
    private mutating func writeLine(_ collection: Int, _ object: ArraySlice<UInt8>) throws {
        line.removeAll(keepingCapacity: true)
        JSONWriter.writeInt(Int64(collection), into: &line)
        line.append(0x20)
        line += object
        line.append(0x0A)
        try writeLine()
    }

    private mutating func writeLine() throws {
        let n = line.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
        if n != line.count { throw RunFailure(.general, "cannot write edges to '\(path ?? "")'") }
        spilled += 1
    }

    var readIndex = 0
    var pending: [UInt8] = []
    var pendingStart = 0
    var rewound = false

    /// The next edges as serialized objects, in the order added (at most `n`); empty when all
    /// were taken. No parse and no second serialization on the way to an envelope.
    /// Each edge comes with its collection's index in `collections`.
    mutating func takeRaw(_ n: Int) -> [(collection: Int, bytes: ArraySlice<UInt8>)] {
        guard let f = file else {
            let end = min(readIndex + n, entries.count)
            defer { readIndex = end }
            return entries[readIndex..<end].map { ($0.collection, arena[$0.range]) }
        }
        if !rewound {
            fflush(f)
            rewind(f)
            rewound = true
        }
        var out: [(collection: Int, bytes: ArraySlice<UInt8>)] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while out.count < n {
            if let newline = pending[pendingStart...].firstIndex(of: 0x0A) {
                // A spilled line is "<collection index> <object>".
                let line = pending[pendingStart..<newline]
                pendingStart = newline + 1
                if let space = line.firstIndex(of: 0x20), let index = Int(String(decoding: line[..<space], as: UTF8.self)), index < collections.count {
                    out.append((index, line[(space + 1)...]))
                }
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
