import CarDefinition
import FuzzSupport
import MappingDSL

/// Definition files: YAML text in, diagnostics out. Every location is inside the file (line
/// 1...line count, column 1...the line's length + 1), rendering never fails, a definition comes
/// back only without errors.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Fuzz.bytes(data, size)
    let result = DefinitionLoader.load(bytes: bytes, path: "fuzz.yaml")
    Fuzz.check(result.definition == nil || !result.hasErrors, "a definition with errors")
    Fuzz.check(result.definition != nil || result.hasErrors, "no definition and no error")
    // Lines as the renderer counts them; without the text (not UTF-8), by newlines.
    let lines: [[Unicode.Scalar]]
    if let source = result.source {
        lines = source.lines.map { Array($0.unicodeScalars) }
    } else {
        lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false).map { Array(String(decoding: $0, as: UTF8.self).unicodeScalars) }
    }
    for d in result.diagnostics {
        Fuzz.check(!d.message.isEmpty, "an empty message")
        if let l = d.location {
            Fuzz.check(l.line >= 1 && l.line <= lines.count, "\(d.headline): line \(l.line) outside 1...\(lines.count)")
            if l.line >= 1 && l.line <= lines.count {
                let width = lines[l.line - 1].count
                Fuzz.check(l.column >= 1 && l.column <= width + 1, "\(d.headline): column \(l.column) outside 1...\(width + 1)")
            }
            Fuzz.check(l.length >= 1, "\(d.headline): length \(l.length)")
        }
        let rendered = DiagnosticRenderer.render(d, source: result.source)
        Fuzz.check(rendered.hasPrefix(d.headline), "the rendering does not start with the headline")
        let json = JSONWriter().bytes(d.json)
        Fuzz.check((try? JSONParser.parse(json)) == d.json, "the JSON form does not parse back")
    }
    _ = DiagnosticRenderer.render(result.diagnostics, sources: result.source.map { ["fuzz.yaml": $0] } ?? [:])
    return 0
}

@main
enum Main {
    static func main() { Fuzz.drive(fuzz) }
}
