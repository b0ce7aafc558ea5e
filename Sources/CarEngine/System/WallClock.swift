import CarDefinition
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

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
