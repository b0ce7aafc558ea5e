import CarDefinition
import MappingDSL

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Edges wait until every vertex is accepted. They are held in memory up to a limit, then
/// spilled to a file of JSON lines in the export directory. In memory and in the file an edge
/// is the same line, "<collection index> <object>\n": a spill is one write of the memory.
struct EdgeBuffer {
    let limit: Int
    let directory: String
    /// Edges in memory as the spill file's lines: far smaller than the JSON values.
    var arena: [UInt8] = []
    var inMemory = 0
    var collections: [String] = []
    var collectionIndex: [String: Int] = [:]
    var file: UnsafeMutablePointer<FILE>?
    /// The spill file's stdio buffer, freed when the file is closed.
    var fileBuffer: UnsafeMutablePointer<CChar>?
    var path: String?
    var spilled = 0
    var line: [UInt8] = []

    init(limit: Int, directory: String) {
        self.limit = limit
        self.directory = directory
    }

    var count: Int { inMemory + spilled }

    mutating func add(_ object: JSONObject, collection: String) throws {
        try add(object, collectionIndex: index(of: collection))
    }

    /// Adds an edge of the collection at `index` in `collections` (from `index(of:)`, asked
    /// once per batch: no name hashed per edge).
    mutating func add(_ object: JSONObject, collectionIndex index: Int) throws {
        if file == nil {
            if inMemory < limit {
                // Room for the limit's edges at a typical size, at once: no copies as it grows.
                if arena.isEmpty { arena.reserveCapacity(min(limit, 1 << 20) * 128) }
                Self.appendLine(index, object, to: &arena)
                inMemory += 1
                return
            }
            // Past the limit, every edge goes to the file, those in memory first (the order is
            // kept, and their memory is given back: at 100,000 assets that is 7 MB of the peak).
            try openFile()
            try write(arena)
            arena = []
            spilled = inMemory
            inMemory = 0
        }
        line.removeAll(keepingCapacity: true)
        Self.appendLine(index, object, to: &line)
        try write(line)
        spilled += 1
    }

    /// The spill file's unit of writing and reading.
    static let fileChunk = 1 << 20

    mutating func index(of collection: String) -> Int {
        if let i = collectionIndex[collection] { return i }
        collections.append(collection)
        collectionIndex[collection] = collections.count - 1
        return collections.count - 1
    }

    /// One edge's line, "<collection index> <object>\n".
    private static func appendLine(_ collection: Int, _ object: JSONObject, to bytes: inout [UInt8]) {
        JSONWriter.writeInt(Int64(collection), into: &bytes)
        bytes.append(0x20)
        JSONWriter().write(.object(object), into: &bytes)
        bytes.append(0x0A)
    }

    private mutating func openFile() throws {
        let p = directory + "/car-edges-\(getpid())-\(WallClock.nowMs()).jsonl"
        guard let f = fopen(p, "w+") else {
            throw RunFailure(.general, "cannot write edges to '\(p)': \(String(cString: strerror(errno)))")
        }
        // A large stdio buffer of our own (glibc ignores the size when it allocates one):
        // one write(2) per megabyte, not per 4 KB.
        let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: Self.fileChunk)
        setvbuf(f, buffer, _IOFBF, Self.fileChunk)
        fileBuffer = buffer
        file = f
        path = p
    }

    private func write(_ bytes: [UInt8]) throws {
        let n = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
        if n != bytes.count { throw RunFailure(.general, "cannot write edges to '\(path ?? "")'") }
    }

    /// The window being read (the arena, or a chunk of the spill file), and where its unread
    /// part starts.
    var pending: [UInt8] = []
    var pendingStart = 0
    var reading = false

    /// The next edges as serialized objects, in the order added (at most `n`); empty when all
    /// were taken. No parse and no second serialization on the way to an envelope.
    /// Each edge comes with its collection's index in `collections`.
    mutating func takeRaw(_ n: Int) -> [(collection: Int, bytes: ArraySlice<UInt8>)] {
        if !reading {
            reading = true
            if let f = file {
                fflush(f)
                rewind(f)
            } else {
                pending = arena
                arena = []
            }
        }
        var out: [(collection: Int, bytes: ArraySlice<UInt8>)] = []
        out.reserveCapacity(n)
        while out.count < n {
            if let newline = Self.newline(in: pending, from: pendingStart) {
                let line = pending[pendingStart..<newline]
                pendingStart = newline + 1
                if let space = line.firstIndex(of: 0x20), let index = Self.decimal(line[..<space]), index < collections.count {
                    out.append((index, line[(space + 1)...]))
                }
                continue
            }
            guard let f = file else { break }
            // A new window: the unfinished line, then the next chunk of the file. The edges
            // handed out keep the old window; it is not copied.
            let tail = pending.count - pendingStart
            var read = 0
            let window = [UInt8](unsafeUninitializedCapacity: tail + Self.fileChunk) { buffer, initialized in
                guard let base = buffer.baseAddress else {
                    initialized = 0
                    return
                }
                pending.withUnsafeBufferPointer { old in
                    if let from = old.baseAddress, tail > 0 { base.initialize(from: from + pendingStart, count: tail) }
                }
                read = fread(base + tail, 1, Self.fileChunk, f)
                initialized = tail + read
            }
            pending = window
            pendingStart = 0
            if read == 0 { break }
        }
        return out
    }

    /// The position of the first line feed at or after `start`, found by `memchr`.
    static func newline(in bytes: [UInt8], from start: Int) -> Int? {
        bytes.withUnsafeBufferPointer { b -> Int? in
            guard let base = b.baseAddress, start < b.count,
                  let hit = memchr(base + start, 0x0A, b.count - start)
            else { return nil }
            return base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
        }
    }

    /// The non-negative decimal number of the bytes, or `nil`.
    static func decimal(_ bytes: ArraySlice<UInt8>) -> Int? {
        guard !bytes.isEmpty, bytes.count < 10 else { return nil }
        var value = 0
        for b in bytes {
            guard b >= 0x30 && b <= 0x39 else { return nil }
            value = value * 10 + Int(b - 0x30)
        }
        return value
    }

    /// Closes and removes the spill file unless asked to keep it.
    mutating func close(keep: Bool) {
        if let f = file { fclose(f) }
        file = nil
        fileBuffer?.deallocate()
        fileBuffer = nil
        if let p = path, !keep { unlink(p) }
    }
}
