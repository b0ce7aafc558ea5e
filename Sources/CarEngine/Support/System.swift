#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The environment of the process.
public enum ProcessEnvironment {
    /// The value of an environment variable.
    public static func get(_ name: String) -> String? {
        guard let value = getenv(name) else { return nil }
        return String(cString: value)
    }

    public static func all() -> [String: String] {
        var out: [String: String] = [:]
        var p = environ
        while let entry = p.pointee {
            let text = String(cString: entry)
            if let eq = text.firstIndex(of: "=") { out[String(text[..<eq])] = String(text[text.index(after: eq)...]) }
            p += 1
        }
        return out
    }
}

/// Directory contents.
public enum DirectoryListing {
    /// The names of the entries of a directory (without . and ..); empty when it cannot be read.
    public static func names(_ path: String) -> [String] {
        guard let dir = opendir(path) else { return [] }
        defer { closedir(dir) }
        var out: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) { p in
                p.withMemoryRebound(to: CChar.self, capacity: Int(NAME_MAX) + 1) { String(cString: $0) }
            }
            if name != "." && name != ".." { out.append(name) }
        }
        return out
    }

    /// Whether a path exists.
    public static func exists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }
}

/// Wall-clock time.
public enum WallClock {
    /// Now, in epoch milliseconds.
    public static func nowMs() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }

    /// Now, in epoch microseconds.
    public static func nowMicroseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec) / 1000
    }
}

/// Process-wide settings.
public enum ProcessTuning {
    /// glibc gives each thread that allocates its own malloc arena; with transfers on threads of
    /// their own that fragments memory. Two arenas keep the peak RSS near what is really used.
    public static func limitMallocArenas() {
        #if canImport(Glibc)
            _ = glibcMallopt(-8, 2)  // M_ARENA_MAX
        #endif
    }
}

#if canImport(Glibc)
    @_silgen_name("mallopt")
    private func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32
#endif
