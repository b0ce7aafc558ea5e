import CLibFuzzer

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Helpers shared by the fuzz targets (fuzz/Sources/Fuzz*): each target's
/// `LLVMFuzzerTestOneInput` checks invariants with `check`, which aborts, so that libFuzzer
/// keeps the input as a crash.
public enum Fuzz {
    /// One input of a target: its bytes (a null pointer for no bytes) and their count.
    public typealias Target = @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt

    /// Runs libFuzzer's driver on a target with the program's arguments (libFuzzer's flags and
    /// corpus directories, or files to run once); returns its status.
    public static func drive(_ target: Target) -> Never {
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, target))
    }

    /// The input as bytes.
    public static func bytes(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
        guard let data, size > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: data, count: size))
    }

    /// Aborts with `message` when `condition` is false.
    public static func check(_ condition: Bool, _ message: @autoclosure () -> String, line: Int = #line) {
        guard !condition else { return }
        let text = Array("invariant failed (line \(line)): \(message())\n".utf8)
        _ = text.withUnsafeBufferPointer { write(2, $0.baseAddress, $0.count) }
        abort()
    }

    /// The repository's root, from this file's path (fuzz/Sources/FuzzSupport/FuzzSupport.swift).
    public static var repositoryRoot: String {
        var parts = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(4)
        return parts.joined(separator: "/")
    }
}

/// A small deterministic generator (SplitMix64), seeded from the input so that a run can be
/// repeated.
public struct SplitMix64 {
    var state: UInt64

    public init(seed: UInt64) { state = seed }

    /// A seed from bytes (FNV-1a).
    public init(hashing bytes: [UInt8], salt: UInt64 = 0) {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325 ^ salt
        for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        state = h
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }

    /// A number in 1...limit.
    public mutating func size(upTo limit: Int) -> Int { Int(next() % UInt64(max(1, limit))) + 1 }
}
