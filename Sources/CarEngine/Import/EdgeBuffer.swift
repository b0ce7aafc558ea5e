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

    /// The lines being read: the arena's, or the spill file's.
    var reader: LineReader?

    /// The next edges as serialized objects, in the order added (at most `n`); empty when all
    /// were taken. No parse and no second serialization on the way to an envelope.
    /// Each edge comes with its collection's index in `collections`. A spill file that cannot
    /// be read back whole is an error: no edge is dropped unseen.
    mutating func takeRaw(_ n: Int) throws -> [(collection: Int, bytes: ArraySlice<UInt8>)] {
        if reader == nil {
            if let f = file {
                fflush(f)
                rewind(f)
                reader = LineReader(f, chunk: Self.fileChunk)
            } else {
                reader = LineReader(bytes: arena)
                arena = []
            }
        }
        var out: [(collection: Int, bytes: ArraySlice<UInt8>)] = []
        out.reserveCapacity(n)
        while out.count < n, let line = reader?.nextBytes() {
            guard let space = line.firstIndex(of: 0x20), let index = Self.decimal(line[..<space]), index < collections.count else {
                throw RunFailure(.general, "the edges spilled to '\(path ?? "")' have a damaged line")
            }
            out.append((index, line[(space + 1)...]))
        }
        if reader?.failed == true { throw RunFailure(.general, "cannot read back the edges spilled to '\(path ?? "")'") }
        return out
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
