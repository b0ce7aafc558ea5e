import MappingDSL

/// Where an expression or template came from: its text and the YAML scalar that held it, so
/// that an offset inside the text maps back to a line and column of the file.
public struct SourceSpan: Sendable {
    /// The text as the expression language sees it (the scalar's value).
    public var text: String
    /// The scalar's location (its first character, or the quote or block indicator).
    public var location: SourceLocation
    /// The scalar's style.
    public var style: YAMLNode.Style

    public init(text: String, location: SourceLocation, style: YAMLNode.Style) {
        self.text = text
        self.location = location
        self.style = style
    }

    init(_ node: YAMLNode) {
        self.init(text: node.scalarText ?? "", location: node.location, style: node.style ?? .plain)
    }

    /// The file location of the UTF-8 byte `offset` of the text, with a length in scalars.
    ///
    /// Walks the source from the scalar's start and aligns it with the value: characters that
    /// match advance both; quotes, escapes, indentation and line breaks advance the source only.
    public func locate(offset: Int, length: Int, in source: SourceText) -> SourceLocation {
        let valueScalars = Array(text.unicodeScalars)
        // Offset in bytes -> offset in scalars.
        var byteCount = 0
        var target = valueScalars.count
        for (i, u) in valueScalars.enumerated() {
            if byteCount >= offset {
                target = i
                break
            }
            byteCount += UTF8.width(u)
        }
        var endByte = 0
        var targetEnd = valueScalars.count
        for (i, u) in valueScalars.enumerated() {
            if endByte >= offset + length {
                targetEnd = i
                break
            }
            endByte += UTF8.width(u)
        }
        let scalarLength = max(1, targetEnd - target)

        var line = location.line
        var column = location.column - 1
        var valueIndex = 0
        var budget = valueScalars.count * 4 + 400
        while budget > 0, let current = source.line(line) {
            let scalars = Array(current.unicodeScalars)
            while column < scalars.count {
                budget -= 1
                if valueIndex == target {
                    return SourceLocation(line: line, column: column + 1, length: min(scalarLength, max(1, scalars.count - column)))
                }
                if valueIndex < valueScalars.count && scalars[column] == valueScalars[valueIndex] {
                    valueIndex += 1
                }
                column += 1
            }
            if valueIndex == target && target == valueScalars.count {
                return SourceLocation(line: line, column: column + 1, length: 1)
            }
            // A line break in the source; in the value it is a newline (literal) or a space (folded).
            if valueIndex < valueScalars.count && (valueScalars[valueIndex] == "\n" || valueScalars[valueIndex] == " ") && valueIndex > 0 {
                valueIndex += 1
            }
            line += 1
            column = 0
        }
        return SourceLocation(line: location.line, column: location.column, length: 1)
    }
}
