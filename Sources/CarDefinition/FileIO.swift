#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A failure to read or write a file, with the system's reason.
public struct FileError: Error, Sendable, CustomStringConvertible {
    public var description: String

    public init(description: String) {
        self.description = description
    }
}

/// Plain file I/O over the C library (Foundation's is slower and heavier on Linux).
public enum FileIO {
    /// The whole file's bytes; files larger than `limit` are refused.
    public static func read(_ path: String, limit: Int = Int.max) throws(FileError) -> [UInt8] {
        guard let file = fopen(path, "rb") else {
            throw FileError(description: "cannot open '\(path)': \(String(cString: strerror(errno)))")
        }
        defer { fclose(file) }
        var st = stat()
        if fstat(fileno(file), &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR {
            throw FileError(description: "'\(path)' is a directory")
        }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buffer.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
            if n > 0 { out.append(contentsOf: buffer[0..<n]) }
            if out.count > limit { throw FileError(description: "'\(path)' is larger than \(limit >> 20) MB") }
            if n < buffer.count {
                if ferror(file) != 0 { throw FileError(description: "cannot read '\(path)': \(String(cString: strerror(errno)))") }
                break
            }
        }
        return out
    }

    /// Writes bytes to a file, replacing it.
    public static func write(_ bytes: [UInt8], to path: String) throws(FileError) {
        guard let file = fopen(path, "wb") else {
            throw FileError(description: "cannot write '\(path)': \(String(cString: strerror(errno)))")
        }
        defer { fclose(file) }
        let n = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
        if n != bytes.count { throw FileError(description: "cannot write '\(path)': \(String(cString: strerror(errno)))") }
    }

    /// Creates a directory (mode 0755) unless it exists.
    public static func makeDirectory(_ path: String) throws(FileError) {
        if mkdir(path, 0o755) != 0 && errno != EEXIST {
            throw FileError(description: "cannot create '\(path)': \(String(cString: strerror(errno)))")
        }
    }

    /// Creates a directory and its parents (mode 0755) unless they exist.
    public static func makeDirectories(_ path: String) throws(FileError) {
        var prefix = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            prefix += "/" + part
            try makeDirectory(prefix)
        }
    }
}
