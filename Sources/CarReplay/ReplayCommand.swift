import CarDefinition
import CarEngine

/// What `car test` prints and its exit status: 0 when every case passes, 1 when a case fails or
/// does not read (or a definition has no cases), 2 when a definition does not load.
public enum ReplayCommand {
    public struct Options: Sendable {
        public var definitions: [String]
        public var caseName: String?
        public var update = false
        public var verbose = false

        public init(definitions: [String]) {
            self.definitions = definitions
        }
    }

    public static func run(_ options: Options, print: @escaping @Sendable (String) -> Void) async -> Int32 {
        var code: Int32 = 0
        var passed = 0
        var failed = 0
        for path in options.definitions {
            let loaded = DefinitionLoader.load(path: path)
            if loaded.definition == nil {
                let errors = loaded.diagnostics.filter { $0.severity == .error }
                print(DiagnosticRenderer.render(errors, sources: loaded.source.map { [path: $0] } ?? [:]))
                print("\(path): the definition does not load; run car validate \(path)")
                code = max(code, 2)
                continue
            }
            var runner = ReplayRunner(definitionPath: path)
            runner.update = options.update
            runner.verbose = options.verbose
            var cases = runner.casePaths()
            if let only = options.caseName { cases = cases.filter { ReplayCase.caseName($0) == only } }
            if cases.isEmpty {
                let folder = ReplayRunner.casesFolder(of: path)
                print(options.caseName.map { "\(path): no case \($0) in \(folder)" } ?? "\(path): no replay cases in \(folder)/ (one YAML file per case)")
                code = max(code, 1)
                continue
            }
            for casePath in cases {
                let replayCase: ReplayCase
                do { replayCase = try ReplayCase.load(path: casePath) } catch {
                    print(error.description)
                    print("FAIL \(casePath): the case does not read")
                    failed += 1
                    code = max(code, 1)
                    continue
                }
                let outcome = await runner.run(replayCase, log: print)
                if outcome.passed {
                    passed += 1
                    print("ok   \(casePath)" + (outcome.written.isEmpty ? "" : " (wrote \(outcome.written.count) expected graph\(outcome.written.count == 1 ? "" : "s"))"))
                    for f in outcome.figures { print("       \(f)") }
                } else {
                    failed += 1
                    code = max(code, 1)
                    print("FAIL \(casePath)")
                    for f in outcome.failures { print("     " + f) }
                }
            }
        }
        print("\(passed) passed, \(failed) failed")
        return code
    }
}
