/// The text of an HTML fragment, as a description field wants it: no markup, entities decoded,
/// whitespace collapsed, block elements on lines of their own.
enum HTMLText {
    /// Elements whose start or end begins a new line.
    static let breaking: Set<String> = [
        "br", "p", "li", "div", "tr", "ul", "ol", "table", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "hr", "dt", "dd",
    ]
    /// Elements whose content is not text.
    static let hidden: Set<String> = ["script", "style", "head", "title"]

    static func text(_ html: String) -> String {
        let s = Array(html.unicodeScalars)
        var lines: [String] = []
        var line = String.UnicodeScalarView()
        var raw = String.UnicodeScalarView()
        func flushText() {
            guard !raw.isEmpty else { return }
            line.append(contentsOf: decodeEntities(String(raw)).unicodeScalars)
            raw = String.UnicodeScalarView()
        }
        func newLine() {
            flushText()
            lines.append(String(line))
            line = String.UnicodeScalarView()
        }
        var i = 0
        while i < s.count {
            guard s[i] == "<", i + 1 < s.count, s[i + 1] == "/" || s[i + 1] == "!" || s[i + 1] == "?" || s[i + 1].properties.isAlphabetic else {
                raw.append(s[i])
                i += 1
                continue
            }
            if s[i + 1] == "!", starts(s, at: i, with: "<!--") {
                i = end(of: "-->", in: s, from: i + 4)
                continue
            }
            let close = s[(i + 1)...].firstIndex(of: ">") ?? s.count
            let inside = String(String.UnicodeScalarView(s[(i + 1)..<close]))
            i = min(close + 1, s.count)
            let name = tagName(inside)
            if breaking.contains(name) {
                newLine()
            } else if hidden.contains(name), !inside.hasPrefix("/") {
                i = end(of: "</" + name, in: s, from: i, caseInsensitive: true)
                i = i < s.count ? (s[i...].firstIndex(of: ">").map { $0 + 1 } ?? s.count) : s.count
            } else {
                // An inline tag separates words only where the source had space.
                flushText()
            }
        }
        newLine()
        return lines.map(collapse).filter { !$0.isEmpty }.joined(separator: "\n")
    }

    /// The lower-case element name of a tag's inside (`/p`, `br/`, `a href=...`).
    static func tagName(_ inside: String) -> String {
        var name = ""
        for c in inside.unicodeScalars.drop(while: { $0 == "/" }) {
            guard c.properties.isAlphabetic || ("0"..."9").contains(c) else { break }
            name.unicodeScalars.append(c)
        }
        return name.lowercased()
    }

    static func starts(_ s: [Unicode.Scalar], at i: Int, with prefix: String, caseInsensitive: Bool = false) -> Bool {
        let p = Array(prefix.unicodeScalars)
        guard i + p.count <= s.count else { return false }
        for (k, c) in p.enumerated() {
            let a = s[i + k]
            if caseInsensitive ? String(a).lowercased() != String(c).lowercased() : a != c { return false }
        }
        return true
    }

    /// The position after `marker` at or after `from`, or the end.
    static func end(of marker: String, in s: [Unicode.Scalar], from: Int, caseInsensitive: Bool = false) -> Int {
        var i = from
        let n = marker.unicodeScalars.count
        while i < s.count {
            if starts(s, at: i, with: marker, caseInsensitive: caseInsensitive) { return i + n }
            i += 1
        }
        return s.count
    }

    /// Runs of whitespace as one space, none at the ends.
    static func collapse(_ line: String) -> String {
        line.unicodeScalars.split(whereSeparator: { $0.properties.isWhitespace }).map { String(String.UnicodeScalarView($0)) }.joined(separator: " ")
    }

    static let entities: [String: String] = [
        "amp": "&", "lt": "<", "gt": ">", "quot": "\"", "apos": "'", "nbsp": " ", "copy": "©", "reg": "®", "trade": "™", "hellip": "…",
        "mdash": "—", "ndash": "–", "lsquo": "‘", "rsquo": "’", "ldquo": "“", "rdquo": "”", "laquo": "«", "raquo": "»", "bull": "•",
        "middot": "·", "euro": "€", "pound": "£", "yen": "¥", "cent": "¢", "deg": "°", "times": "×", "divide": "÷", "plusmn": "±",
        "sect": "§", "para": "¶", "shy": "", "zwnj": "", "zwj": "", "ensp": " ", "emsp": " ", "thinsp": " ", "iexcl": "¡", "iquest": "¿",
        "auml": "ä", "ouml": "ö", "uuml": "ü", "Auml": "Ä", "Ouml": "Ö", "Uuml": "Ü", "szlig": "ß", "eacute": "é", "egrave": "è",
        "ecirc": "ê", "aacute": "á", "agrave": "à", "acirc": "â", "iacute": "í", "oacute": "ó", "uacute": "ú", "ccedil": "ç", "ntilde": "ñ",
        "Eacute": "É", "Ccedil": "Ç", "Ntilde": "Ñ", "larr": "←", "rarr": "→", "uarr": "↑", "darr": "↓", "frac12": "½", "frac14": "¼",
        "frac34": "¾", "micro": "µ",
    ]

    /// `&amp;`, `&#39;`, `&#x27;` decoded; an unknown or unterminated reference stays as written;
    /// a number that is no character gives U+FFFD.
    static func decodeEntities(_ text: String) -> String {
        guard text.contains("&") else { return text }
        let s = Array(text.unicodeScalars)
        var out = String.UnicodeScalarView()
        var i = 0
        while i < s.count {
            guard s[i] == "&", let semicolon = s[(i + 1)...].prefix(32).firstIndex(of: ";") else {
                out.append(s[i])
                i += 1
                continue
            }
            let body = String(String.UnicodeScalarView(s[(i + 1)..<semicolon]))
            if let decoded = decode(body) {
                out.append(contentsOf: decoded.unicodeScalars)
                i = semicolon + 1
            } else {
                out.append(s[i])
                i += 1
            }
        }
        return String(out)
    }

    static func decode(_ body: String) -> String? {
        if body.hasPrefix("#") {
            let digits = body.dropFirst()
            let value: UInt32?
            if digits.first == "x" || digits.first == "X" {
                value = digits.count > 1 ? UInt32(digits.dropFirst(), radix: 16) : nil
            } else {
                value = digits.isEmpty ? nil : UInt32(digits, radix: 10)
            }
            guard let value else { return nil }
            guard value != 0, let scalar = Unicode.Scalar(value) else { return "\u{FFFD}" }
            return value == 0xA0 ? " " : String(scalar)
        }
        return entities[body]
    }
}
