import CarDefinition
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Writes to the standard streams with plain `write(2)` calls (no shared buffers).
public enum Console {
    /// Writes text to standard output.
    public static func out(_ text: String) { write(fd: 1, text) }
    /// Writes text to standard error.
    public static func err(_ text: String) { write(fd: 2, text) }

    /// Whether a stream is a terminal.
    public static func isTerminal(_ fd: Int32) -> Bool { isatty(fd) == 1 }

    static func write(fd: Int32, _ text: String) {
        var text = text
        text.withUTF8 { buffer in
            var offset = 0
            while offset < buffer.count {
                let n = unistd_write(fd, buffer.baseAddress.map { $0 + offset }, buffer.count - offset)
                if n <= 0 {
                    if n < 0 && errno == EINTR { continue }
                    return
                }
                offset += n
            }
        }
    }

    /// Ends the process.
    public static func exitProcess(_ code: Int32) -> Never {
        #if canImport(Glibc)
            Glibc.exit(code)
        #else
            Darwin.exit(code)
        #endif
    }
}

private func unistd_write(_ fd: Int32, _ p: UnsafePointer<UInt8>?, _ n: Int) -> Int {
    #if canImport(Glibc)
        return Glibc.write(fd, p, n)
    #else
        return Darwin.write(fd, p, n)
    #endif
}
