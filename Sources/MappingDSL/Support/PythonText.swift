/// Python's `str` operations on Unicode scalars (code points, as Python indexes text), for the
/// port of httpagentparser: its results depend on exactly how Python splits and strips.
struct PythonText: Equatable, Sendable {
    var scalars: [Unicode.Scalar]

    init(_ s: String) { scalars = Array(s.unicodeScalars) }
    init(_ scalars: ArraySlice<Unicode.Scalar>) { self.scalars = Array(scalars) }

    var string: String {
        var out = String.UnicodeScalarView()
        out.append(contentsOf: scalars)
        return String(out)
    }

    var isEmpty: Bool { scalars.isEmpty }

    /// The first position of `needle` at or after `from`.
    func find(_ needle: PythonText, from: Int = 0) -> Int? {
        let n = needle.scalars.count
        guard n > 0 else { return from <= scalars.count ? from : nil }
        guard scalars.count >= n else { return nil }
        var i = from
        while i + n <= scalars.count {
            if scalars[i] == needle.scalars[0] && scalars[i..<(i + n)].elementsEqual(needle.scalars) { return i }
            i += 1
        }
        return nil
    }

    /// `needle in self`.
    func contains(_ needle: String) -> Bool { find(PythonText(needle)) != nil }

    /// `self.startswith(prefix)`.
    func hasPrefix(_ prefix: String) -> Bool {
        let p = Array(prefix.unicodeScalars)
        return scalars.count >= p.count && scalars[0..<p.count].elementsEqual(p)
    }

    /// `self.split(sep)` (every occurrence), or `self.split(sep, 1)` with `maxSplits: 1`.
    func split(_ sep: String, maxSplits: Int = Int.max) -> [PythonText] {
        let s = PythonText(sep)
        var parts: [PythonText] = []
        var start = 0
        while parts.count < maxSplits, let at = find(s, from: start) {
            parts.append(PythonText(scalars[start..<at]))
            start = at + s.scalars.count
        }
        parts.append(PythonText(scalars[start...]))
        return parts
    }

    /// Characters Python's `str.isspace` accepts.
    static func isSpace(_ c: Unicode.Scalar) -> Bool {
        c.properties.isWhitespace || (0x1C...0x1F).contains(c.value)
    }

    /// `self.split()`: runs of whitespace separate, none at the ends.
    func splitWhitespace() -> [PythonText] {
        var parts: [PythonText] = []
        var current: [Unicode.Scalar] = []
        for c in scalars {
            if Self.isSpace(c) {
                if !current.isEmpty { parts.append(PythonText(current[...])) }
                current = []
            } else {
                current.append(c)
            }
        }
        if !current.isEmpty { parts.append(PythonText(current[...])) }
        return parts
    }

    /// `self.strip()`.
    func strip() -> PythonText {
        guard let first = scalars.firstIndex(where: { !Self.isSpace($0) }), let last = scalars.lastIndex(where: { !Self.isSpace($0) }) else {
            return PythonText("")
        }
        return PythonText(scalars[first...last])
    }

    /// `self[n:]`.
    func dropping(_ n: Int) -> PythonText { PythonText(scalars.dropFirst(n)) }

    /// `self[:n]`.
    func prefix(_ n: Int) -> PythonText { PythonText(scalars.prefix(n)) }

    /// `self[:-1]`.
    func droppingLast() -> PythonText { PythonText(scalars.dropLast()) }

    /// `self.replace(old, new)`.
    func replacing(_ old: String, with new: String) -> PythonText {
        PythonText(split(old).map(\.string).joined(separator: new))
    }
}

/// Python's IndexError: a port step that raises where Python would.
struct PythonIndexError: Error {}

extension Array {
    /// `self[i]` as Python indexes (negative from the end), raising IndexError when out of range.
    func python(_ i: Int) throws(PythonIndexError) -> Element {
        let j = i < 0 ? count + i : i
        guard j >= 0, j < count else { throw PythonIndexError() }
        return self[j]
    }
}
