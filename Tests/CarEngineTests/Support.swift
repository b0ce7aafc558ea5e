import Locking
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@testable import CarDefinition
@testable import CarEngine
@testable import MappingDSL

/// Paths of the repository, found from this file's location.
enum Repo {
    static let testsDirectory: String = {
        var parts = String(#filePath).split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast()
        return parts.joined(separator: "/")
    }()

    static let fixtures = testsDirectory + "/Fixtures"
    static let root: String = {
        var parts = testsDirectory.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(2)
        return parts.joined(separator: "/")
    }()

    /// The files in a directory with the given suffix, sorted.
    static func files(in directory: String, suffix: String) -> [String] {
        DirectoryListing.names(directory).filter { $0.hasSuffix(suffix) }.sorted()
    }

    /// A path for a scratch file of this test process, outside the repository.
    static func temporaryPath(_ name: String) -> String {
        "/tmp/car-tests-\(TestProcess.id)-\(name)"
    }

    /// A new scratch directory of this test process (created).
    static func scratchDirectory(_ name: String) -> String {
        let n = scratchCount.withLock { c in
            c += 1
            return c
        }
        let path = temporaryPath("\(name)-\(n)")
        try? FileIO.makeDirectories(path)
        return path
    }

    static let scratchCount = Locked(0)

    static func read(_ path: String) -> String? {
        guard let bytes = try? FileIO.read(path) else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }
}

enum TestProcess {
    static let id = Int(getpid())
}

/// Compares `actual` with the golden file at `path`; with CAR_RECORD_GOLDENS=1 it writes the
/// file instead. A mismatch records an issue that shows both texts.
func expectGolden(_ actual: String, path: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) {
    if ProcessEnvironment.get("CAR_RECORD_GOLDENS") == "1" {
        do {
            try FileIO.write(Array(actual.utf8), to: path)
        } catch {
            Issue.record("cannot record \(path): \(error)", sourceLocation: sourceLocation)
        }
        return
    }
    guard let expected = Repo.read(path) else {
        Issue.record("missing golden file \(path); run the tests with CAR_RECORD_GOLDENS=1 to record it", sourceLocation: sourceLocation)
        return
    }
    if expected != actual {
        Issue.record("output differs from \(path)\n--- expected\n\(expected)\n--- actual\n\(actual)", sourceLocation: sourceLocation)
    }
}

/// A `car run` as the command line makes it: the outcome mapped to its exit code.
func runCar(_ options: RunOptions, transport: any HTTPTransport = CurlTransport(), sink: @escaping FrameworkLogHandler.Sink = { _ in },
            output: @escaping @Sendable (String) -> Void = { _ in }) async -> Int32
{
    // Runs of a test keep their state apart from other tests' (they share source names).
    var options = options
    if options.stateDirectory == nil { options.stateDirectory = Repo.scratchDirectory("state") }
    return await ConnectorRun.execute(options, transport: transport, sink: sink, output: output).exitCode
}
