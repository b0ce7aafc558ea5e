import MappingDSL

/// The outcome of loading a definition file: the definition when it has no errors, and every
/// diagnostic (errors and warnings).
public struct LoadResult: Sendable {
    public var definition: ConnectorDefinition?
    public var diagnostics: [Diagnostic]
    /// The file's text, for rendering snippets (nil when it could not be read).
    public var source: SourceText?

    public var hasErrors: Bool { diagnostics.contains { $0.severity == .error } }
}

/// Loads, checks and compiles connector definitions.
public enum DefinitionLoader {
    /// The largest definition file read.
    public static let maxFileSize = 64 << 20

    /// Loads the definition at `path` (as the user named it).
    public static func load(path: String) -> LoadResult {
        var collector = DiagnosticCollector(file: path)
        let bytes: [UInt8]
        do {
            bytes = try FileIO.read(path, limit: maxFileSize)
        } catch {
            collector.error(error.description, at: nil)
            return LoadResult(definition: nil, diagnostics: collector.sorted, source: nil)
        }
        return load(bytes: bytes, path: path)
    }

    /// Loads a definition from bytes; `path` names it in diagnostics.
    public static func load(bytes: [UInt8], path: String) -> LoadResult {
        var collector = DiagnosticCollector(file: path)
        let root: YAMLNode?
        let text: String
        do {
            (root, text) = try YAMLLoader.load(bytes: bytes)
        } catch {
            collector.error(error.message, at: error.location)
            let source = String(validating: bytes, as: UTF8.self).map { SourceText(path: path, text: $0) }
            return LoadResult(definition: nil, diagnostics: collector.sorted, source: source)
        }
        let source = SourceText(path: path, text: text)
        guard let root, !(root.scalarValue?.isNull ?? false) else {
            collector.error("the file is empty; a definition starts with 'format: 1' and 'connector:'", at: nil)
            return LoadResult(definition: nil, diagnostics: collector.sorted, source: source)
        }
        guard root.pairs != nil else {
            collector.error("a definition must be a mapping of keys (format, connector, datasource, endpoints, ...), found \(root.kindDescription)", at: root.location)
            return LoadResult(definition: nil, diagnostics: collector.sorted, source: source)
        }
        var shapes = ShapeChecker(diagnostics: collector)
        shapes.checkObject(root, DefinitionFormat.definition, path: "")
        var builder = DefinitionBuilder(path: path, source: source, diagnostics: shapes.diagnostics)
        let definition = builder.build(root)
        collector = builder.diagnostics
        return LoadResult(definition: collector.hasErrors ? nil : definition, diagnostics: collector.sorted, source: source)
    }
}
