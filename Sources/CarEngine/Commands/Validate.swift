import CarDefinition
import MappingDSL

/// `car validate`: checks definition files and reports every problem.
public enum ValidateCommand {
    /// How diagnostics are printed.
    public enum Format: String, Sendable, CaseIterable {
        case text, json
    }

    /// The output and the exit code of validating `paths`: 0 when every file is valid
    /// (warnings allowed), 1 when any has an error.
    public static func run(paths: [String], format: Format) -> (output: String, exitCode: Int32) {
        var results: [(String, LoadResult)] = []
        for path in paths { results.append((path, DefinitionLoader.load(path: path))) }
        let invalid = results.filter { $0.1.hasErrors }.count
        let exitCode: Int32 = invalid > 0 ? 1 : 0
        switch format {
        case .json:
            var files: [JSON] = []
            for (path, r) in results {
                files.append([
                    "file": .string(path), "valid": .bool(!r.hasErrors),
                    "diagnostics": .array(r.diagnostics.map(\.json)),
                ])
            }
            let doc: JSON = ["valid": .bool(invalid == 0), "files": .array(files)]
            return (JSONWriter(pretty: true).string(doc) + "\n", exitCode)
        case .text:
            var out = ""
            for (path, r) in results {
                if !r.diagnostics.isEmpty {
                    let sources = r.source.map { [path: $0] } ?? [:]
                    out += DiagnosticRenderer.render(r.diagnostics, sources: sources) + "\n"
                }
                let errors = r.diagnostics.filter { $0.severity == .error }.count
                let warnings = r.diagnostics.filter { $0.severity == .warning }.count
                if errors == 0 {
                    out += "\(path): valid" + (warnings > 0 ? " (\(plural(warnings, "warning")))" : "") + "\n"
                } else {
                    out += "\(path): \(plural(errors, "error"))" + (warnings > 0 ? ", \(plural(warnings, "warning"))" : "") + "\n"
                }
            }
            if paths.count > 1 {
                out += "\(paths.count - invalid) of \(paths.count) definitions valid\n"
            }
            return (out, exitCode)
        }
    }

    static func plural(_ n: Int, _ word: String) -> String { "\(n) \(word)\(n == 1 ? "" : "s")" }
}
