import MappingDSL
import Yams

/// A YAML document that could not be loaded, with where.
public struct YAMLLoadError: Error, Sendable {
    public var message: String
    public var location: SourceLocation?
}

/// Loads YAML text into a located `YAMLNode` tree through libyaml (Yams).
///
/// Bounded: nesting deeper than `maxDepth` and documents that expand (through aliases) to more
/// than `maxNodes` nodes are errors, checked before and while composing, so that no input can
/// exhaust the stack or memory.
public enum YAMLLoader {
    public static let maxDepth = 200
    public static let maxNodes = 1_000_000

    /// Loads one document from raw bytes (which must be UTF-8). An empty document is `nil`.
    public static func load(bytes: [UInt8]) throws(YAMLLoadError) -> (YAMLNode?, String) {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            let (offset, line, column) = firstInvalidUTF8(bytes)
            throw YAMLLoadError(
                message: "the file is not UTF-8 text (invalid byte 0x\(String(bytes[offset], radix: 16, uppercase: true)))",
                location: SourceLocation(line: line, column: column))
        }
        return (try load(text: text), text)
    }

    /// Loads one document from text. An empty document is `nil`.
    public static func load(text: String) throws(YAMLLoadError) -> YAMLNode? {
        if let (line, column, lineBreak) = firstControlCharacter(text) {
            let message = lineBreak
                ? "line breaks other than \\n and \\r\\n (a lone \\r, U+0085, U+2028, U+2029) are not allowed in YAML"
                : "control characters are not allowed in YAML"
            throw YAMLLoadError(message: message, location: SourceLocation(line: line, column: column))
        }
        try checkDepth(text)
        let root: Node?
        do {
            let parser = try Parser(yaml: text)
            root = try parser.singleRoot()
        } catch let error as YamlError {
            throw convert(error, text: text)
        } catch {
            throw YAMLLoadError(message: "\(error)", location: nil)
        }
        guard let root else { return nil }
        var budget = maxNodes
        return try convert(root, budget: &budget, depth: 0)
    }

    private static func firstInvalidUTF8(_ bytes: [UInt8]) -> (Int, Int, Int) {
        let offset = UTF8Check.firstInvalid(in: bytes) ?? max(0, bytes.count - 1)
        // Line and column of the offset; the bytes before it are valid UTF-8.
        var position = TextPosition()
        for u in String(decoding: bytes[0..<offset], as: UTF8.self).unicodeScalars { position.advance(past: u) }
        return (offset, position.line, position.column)
    }

    /// The first control character, and whether it is a line break that libyaml counts as one
    /// but lines (split at \n) do not: its marks would then point at other lines.
    private static func firstControlCharacter(_ text: String) -> (Int, Int, Bool)? {
        var position = TextPosition()
        var afterCR = false
        for u in text.unicodeScalars {
            if afterCR && u != "\n" { return (position.line, position.column - 1, true) }
            afterCR = u == "\r"
            let control = (u.value < 0x20 && u != "\t" && u != "\r" && u != "\n") || u.value == 0x7F
            if control || u == "\u{FEFF}" && !(position.line == 1 && position.column == 1) { return (position.line, position.column, false) }
            if u.value == 0x85 || u.value == 0x2028 || u.value == 0x2029 { return (position.line, position.column, true) }
            position.advance(past: u)
        }
        return afterCR ? (position.line, position.column - 1, true) : nil
    }

    /// A line and column (1-based) in a text, scalar by scalar.
    struct TextPosition {
        var line = 1
        var column = 1

        mutating func advance(past u: Unicode.Scalar) {
            if u == "\n" {
                line += 1
                column = 1
            } else {
                column += 1
            }
        }
    }

    /// Rejects documents nested deeper than `maxDepth`, before libyaml and Yams (whose composer
    /// recurses) see them. Counts flow brackets outside quotes and comments, and block
    /// indentation levels.
    private static func checkDepth(_ text: String) throws(YAMLLoadError) {
        var flow = 0
        var indents: [Int] = []
        var line = 1
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            defer { line += 1 }
            let scalars = Array(rawLine.unicodeScalars)
            var col = 0
            while col < scalars.count, scalars[col] == " " { col += 1 }
            let content = col < scalars.count && scalars[col] != "#" && scalars[col] != "\r"
            if flow == 0 && content {
                while let last = indents.last, last >= col { indents.removeLast() }
                indents.append(col)
                // "- - - x" opens a level per dash.
                var k = col
                var dashes = 0
                while k + 1 < scalars.count, scalars[k] == "-", scalars[k + 1] == " " {
                    dashes += 1
                    k += 2
                    while k < scalars.count, scalars[k] == " " { k += 1 }
                }
                if indents.count + dashes > maxDepth {
                    throw YAMLLoadError(message: "nesting deeper than \(maxDepth) levels", location: SourceLocation(line: line, column: col + 1))
                }
            }
            var quote: Unicode.Scalar?
            var i = col
            while i < scalars.count {
                let c = scalars[i]
                if let q = quote {
                    if c == q {
                        if q == "'" && i + 1 < scalars.count && scalars[i + 1] == "'" {
                            i += 1
                        } else {
                            quote = nil
                        }
                    } else if c == "\\" && q == "\"" {
                        i += 1
                    }
                } else if c == "#" && (i == 0 || scalars[i - 1] == " " || scalars[i - 1] == "\t") {
                    break
                } else if (c == "\"" || c == "'") && (i == 0 || " \t[{,:-".unicodeScalars.contains(scalars[i - 1])) {
                    quote = c
                } else if c == "[" || c == "{" {
                    flow += 1
                    if flow + indents.count > maxDepth {
                        throw YAMLLoadError(message: "nesting deeper than \(maxDepth) levels", location: SourceLocation(line: line, column: i + 1))
                    }
                } else if c == "]" || c == "}" {
                    flow = max(0, flow - 1)
                }
                i += 1
            }
        }
    }

    private static func location(_ mark: Mark?) -> SourceLocation {
        guard let mark else { return SourceLocation(line: 1, column: 1) }
        return SourceLocation(line: mark.line, column: mark.column)
    }

    private static func convert(_ node: Node, budget: inout Int, depth: Int) throws(YAMLLoadError) -> YAMLNode {
        budget -= 1
        if budget < 0 {
            throw YAMLLoadError(message: "the document expands to more than \(maxNodes) nodes (through aliases?)", location: location(node.mark))
        }
        if depth > maxDepth {
            throw YAMLLoadError(message: "nesting deeper than \(maxDepth) levels", location: location(node.mark))
        }
        switch node {
        case .scalar(let scalar):
            let style: YAMLNode.Style
            switch scalar.style {
            case .singleQuoted: style = .singleQuoted
            case .doubleQuoted: style = .doubleQuoted
            case .literal: style = .literal
            case .folded: style = .folded
            default: style = .plain
            }
            let tag = scalar.tag.description
            let value: JSON
            if tag == "tag:yaml.org,2002:str" || (style != .plain && !tag.hasPrefix("tag:yaml.org,2002:")) {
                value = .string(scalar.string)
            } else {
                value = CoreSchema.resolve(scalar.string)
            }
            var loc = location(scalar.mark)
            loc.length = style == .plain ? max(1, scalar.string.unicodeScalars.count) : 1
            return YAMLNode(kind: .scalar(scalar.string, style, value), location: loc)
        case .sequence(let seq):
            var items: [YAMLNode] = []
            items.reserveCapacity(seq.count)
            for item in seq { items.append(try convert(item, budget: &budget, depth: depth + 1)) }
            return YAMLNode(kind: .sequence(items), location: location(seq.mark))
        case .mapping(let map):
            var pairs: [(key: YAMLNode, value: YAMLNode)] = []
            for (k, v) in map {
                if k.scalar?.string == "<<", k.scalar?.style == .plain, k.scalar?.tag.description != "tag:yaml.org,2002:str" {
                    throw YAMLLoadError(message: "merge keys ('<<') are not supported; write the keys out", location: location(k.mark))
                }
                pairs.append((try convert(k, budget: &budget, depth: depth + 1), try convert(v, budget: &budget, depth: depth + 1)))
            }
            return YAMLNode(kind: .mapping(pairs), location: location(map.mark))
        case .alias:
            throw YAMLLoadError(message: "unresolved alias", location: location(node.mark))
        }
    }

    private static func convert(_ error: YamlError, text: String) -> YAMLLoadError {
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            let source = SourceText(path: "", text: text)
            // At the end of a text without a final line break, libyaml's mark is on the line after
            // the last: the end of the last line.
            let loc = mark.line > source.lines.count
                ? SourceLocation(line: source.lines.count, column: (source.lines.last?.unicodeScalars.count ?? 0) + 1)
                : SourceLocation(line: mark.line, column: mark.column)
            if let line = source.line(mark.line) {
                let scalars = Array(line.unicodeScalars)
                let index = mark.column - 1
                if index >= 0 && index < scalars.count && scalars[index] == "\t" {
                    return YAMLLoadError(message: "tab characters cannot indent YAML; use spaces", location: loc)
                }
                if problem.contains("cannot start any token"), let tab = scalars.firstIndex(of: "\t") {
                    return YAMLLoadError(
                        message: "tab characters cannot indent YAML; use spaces", location: SourceLocation(line: mark.line, column: tab + 1))
                }
            }
            var message = "YAML syntax: " + problem
            if let context { message += " (" + context.text + " at line \(context.mark.line), column \(context.mark.column))" }
            if let (line, column) = unclosedQuote(before: mark.line, in: source) {
                message += "; the quoted string at line \(line), column \(column) may be missing its closing quote"
            }
            return YAMLLoadError(message: message, location: loc)
        case .duplicatedKeysInMapping(let duplicates, let context):
            let key = duplicates.first ?? ""
            let second = findDuplicate(key: key, after: context.mark, text: text)
            var message = "duplicate key '\(key)'"
            if second != nil { message += " (first defined at line \(context.mark.line), column \(context.mark.column))" }
            var loc = second ?? SourceLocation(line: context.mark.line, column: context.mark.column)
            loc.length = key.unicodeScalars.count
            return YAMLLoadError(message: message, location: loc)
        case .reader(let problem, _, _, _):
            return YAMLLoadError(message: "YAML: " + problem, location: nil)
        default:
            return YAMLLoadError(message: "YAML: \(error)", location: nil)
        }
    }

    /// The start of a double-quoted string left open on a line before `line`, if any.
    private static func unclosedQuote(before line: Int, in source: SourceText) -> (Int, Int)? {
        var n = line - 1
        while n >= max(1, line - 50) {
            defer { n -= 1 }
            guard let text = source.line(n) else { continue }
            let scalars = Array(text.unicodeScalars)
            var open: Int?
            var single = false
            var i = 0
            while i < scalars.count {
                let c = scalars[i]
                if open != nil {
                    if c == "\\" {
                        i += 1
                    } else if c == "\"" {
                        open = nil
                    }
                } else if single {
                    if c == "'" { single = false }
                } else if c == "#" && (i == 0 || scalars[i - 1] == " ") {
                    break
                } else if c == "\"" {
                    open = i
                } else if c == "'" && (i == 0 || " :[{,".unicodeScalars.contains(scalars[i - 1])) {
                    single = true
                }
                i += 1
            }
            if let open { return (n, open + 1) }
        }
        return nil
    }

    /// The place of the second occurrence of `key` as a mapping key after the first one.
    private static func findDuplicate(key: String, after first: Mark, text: String) -> SourceLocation? {
        let source = SourceText(path: "", text: text)
        let keyScalars = Array(key.unicodeScalars)
        var lineNumber = first.line
        var startColumn = first.column
        while let line = source.line(lineNumber) {
            let scalars = Array(line.unicodeScalars)
            var i = lineNumber == first.line ? startColumn : 0
            while i + keyScalars.count <= scalars.count {
                let boundaryBefore = i == 0 || " \t{,-".unicodeScalars.contains(scalars[i - 1])
                if boundaryBefore && Array(scalars[i..<(i + keyScalars.count)]) == keyScalars {
                    var j = i + keyScalars.count
                    while j < scalars.count, scalars[j] == " " { j += 1 }
                    if j < scalars.count, scalars[j] == ":" {
                        return SourceLocation(line: lineNumber, column: i + 1)
                    }
                }
                i += 1
            }
            lineNumber += 1
            startColumn = 0
        }
        return nil
    }
}
