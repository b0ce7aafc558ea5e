import MappingDSL

/// A place in a source file: 1-based line and column (columns count Unicode scalars, as
/// libyaml does), and the length of the offending token.
public struct SourceLocation: Sendable, Hashable, Comparable {
    public var line: Int
    public var column: Int
    public var length: Int

    public init(line: Int, column: Int, length: Int = 1) {
        self.line = line
        self.column = column
        self.length = max(1, length)
    }

    public static func < (a: SourceLocation, b: SourceLocation) -> Bool {
        (a.line, a.column) < (b.line, b.column)
    }
}

/// A problem found in a definition (or in another input file), with where it is.
public struct Diagnostic: Sendable, Hashable {
    /// How bad it is.
    public enum Severity: String, Sendable, Hashable, Comparable {
        case error, warning, note

        var rank: Int {
            switch self {
            case .error: return 0
            case .warning: return 1
            case .note: return 2
            }
        }

        public static func < (a: Severity, b: Severity) -> Bool { a.rank < b.rank }
    }

    public var severity: Severity
    public var message: String
    /// The file, as the user named it.
    public var file: String
    /// Where in the file; `nil` for problems of the file as a whole.
    public var location: SourceLocation?

    public init(_ severity: Severity, _ message: String, file: String, at location: SourceLocation?) {
        self.severity = severity
        self.message = message
        self.file = file
        self.location = location
    }

    /// `file:line:col: severity: message`.
    public var headline: String {
        if let l = location { return "\(file):\(l.line):\(l.column): \(severity.rawValue): \(message)" }
        return "\(file): \(severity.rawValue): \(message)"
    }

    /// The diagnostic as a JSON object, for `--format json`.
    public var json: JSON {
        var o = JSONObject()
        o["file"] = .string(file)
        if let l = location {
            o["line"] = .int(Int64(l.line))
            o["column"] = .int(Int64(l.column))
            o["length"] = .int(Int64(l.length))
        }
        o["severity"] = .string(severity.rawValue)
        o["message"] = .string(message)
        return .object(o)
    }
}

/// Collects diagnostics for one file.
public struct DiagnosticCollector: Sendable {
    public let file: String
    public private(set) var diagnostics: [Diagnostic] = []

    public init(file: String) { self.file = file }

    public mutating func error(_ message: String, at location: SourceLocation?) {
        diagnostics.append(Diagnostic(.error, message, file: file, at: location))
    }

    public mutating func warning(_ message: String, at location: SourceLocation?) {
        diagnostics.append(Diagnostic(.warning, message, file: file, at: location))
    }

    public mutating func append(_ other: [Diagnostic]) { diagnostics.append(contentsOf: other) }

    public var hasErrors: Bool { diagnostics.contains { $0.severity == .error } }

    /// The diagnostics in file order, duplicates removed.
    public var sorted: [Diagnostic] {
        var seen: Set<Diagnostic> = []
        return diagnostics.filter { seen.insert($0).inserted }.sorted { a, b in
            switch (a.location, b.location) {
            case (nil, nil): return a.severity < b.severity
            case (nil, _): return true
            case (_, nil): return false
            case (let x?, let y?): return x == y ? a.severity < b.severity : x < y
            }
        }
    }
}

/// The text of a source file with its lines, for rendering snippets.
public struct SourceText: Sendable {
    public let path: String
    public let lines: [Substring]

    /// Lines end at `\n` or `\r\n`, as the loader counts them. Split by scalars: as a
    /// `Character`, `\r\n` is one grapheme that is not `\n`.
    public init(path: String, text: String) {
        self.path = path
        self.lines = text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            Substring(line.last == "\r" ? line.dropLast() : line)
        }
    }

    /// The line with the given 1-based number.
    public func line(_ number: Int) -> Substring? {
        number >= 1 && number <= lines.count ? lines[number - 1] : nil
    }
}

/// Renders diagnostics for people: the headline, the source line, a caret under the column.
public enum DiagnosticRenderer {
    /// One diagnostic, with a snippet when the source is known.
    public static func render(_ d: Diagnostic, source: SourceText?) -> String {
        var out = d.headline
        guard let loc = d.location, let line = source?.line(loc.line) else { return out }
        let scalars = Array(line.unicodeScalars)
        // Tabs are shown as one space so that the caret lines up.
        let shown = String(String.UnicodeScalarView(scalars.map { $0 == "\t" ? " " : $0 }))
        let number = String(loc.line)
        let gutter = String(repeating: " ", count: number.count)
        let caretStart = min(max(loc.column - 1, 0), scalars.count)
        let caretLength = max(1, min(loc.length, max(1, scalars.count - caretStart)))
        out += "\n \(number) | \(shown)"
        out += "\n \(gutter) | " + String(repeating: " ", count: caretStart) + "^" + String(repeating: "~", count: caretLength - 1)
        return out
    }

    /// All diagnostics, then a summary line when there are any.
    public static func render(_ diagnostics: [Diagnostic], sources: [String: SourceText]) -> String {
        diagnostics.map { render($0, source: sources[$0.file]) }.joined(separator: "\n")
    }
}
