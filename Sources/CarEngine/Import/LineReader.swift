#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Lines of a file read in blocks, or of bytes already in memory. A line handed out is a slice
/// of its block: a new block carries only the unfinished line over and copies nothing else.
struct LineReader {
    let file: UnsafeMutablePointer<FILE>?
    let chunk: Int
    var buffer: [UInt8]
    var start = 0
    var eof: Bool

    init(_ file: UnsafeMutablePointer<FILE>, chunk: Int = 1 << 16) {
        self.file = file
        self.chunk = chunk
        buffer = []
        eof = false
    }

    /// The lines of bytes in memory.
    init(bytes: [UInt8]) {
        file = nil
        chunk = 0
        buffer = bytes
        eof = true
    }

    /// Whether reading the file failed (the lines so far are not all there were).
    var failed: Bool { file.map { ferror($0) != 0 } ?? false }

    mutating func next() -> Substring? {
        nextBytes().map { Substring(String(decoding: $0, as: UTF8.self)) }
    }

    /// The next line's bytes (without its newline), or nil at the end.
    mutating func nextBytes() -> ArraySlice<UInt8>? {
        while true {
            if let nl = Self.newline(in: buffer, from: start) {
                defer { start = nl + 1 }
                return buffer[start..<nl]
            }
            if eof {
                guard start < buffer.count else { return nil }
                defer { start = buffer.count }
                return buffer[start...]
            }
            refill()
        }
    }

    /// A new block: the unfinished line, then the next chunk of the file.
    private mutating func refill() {
        let tail = buffer.count - start
        var read = 0
        let next = [UInt8](unsafeUninitializedCapacity: tail + chunk) { block, initialized in
            guard let base = block.baseAddress else {
                initialized = 0
                return
            }
            buffer.withUnsafeBufferPointer { old in
                if let from = old.baseAddress, tail > 0 { base.initialize(from: from + start, count: tail) }
            }
            if let file { read = fread(base + tail, 1, chunk, file) }
            initialized = tail + read
        }
        buffer = next
        start = 0
        if read < chunk { eof = true }
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
}
