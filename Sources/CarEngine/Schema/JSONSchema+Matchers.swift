import MappingDSL

/// What `JSONSchema`'s nodes match strings and types with: the regex engine only where no
/// cheaper test decides.
extension JSONSchema {
    /// A class, so that a node's `if let pattern` retains one reference instead of copying
    /// the pattern's four.
    final class SharedRegex: @unchecked Sendable {
        let source: String
        /// The compiled pattern; `nil` when `characterClass` decides every match (then it is
        /// valid, and never compiled: compiling is most of the cost of a schema's start).
        let regex: Regex<AnyRegexOutput>?
        /// The same pattern as a set of ASCII bytes, when it is `^[...]+$` or `^[^...]+$`.
        let characterClass: ASCIIClass?

        /// A test that proves a match without the regex engine (a `false` from it proves nothing).
        let quickAccept: (@Sendable (String) -> Bool)?

        init(source: String) throws {
            self.source = source
            characterClass = ASCIIClass(pattern: source)
            quickAccept = KnownPatterns.quickAccept[source]
            regex = characterClass == nil ? try Regex(source) : nil
        }

        func matches(_ s: String) -> Bool {
            if let characterClass { return characterClass.matchesWhole(s) }
            if let quickAccept, quickAccept(s) { return true }
            guard let regex else { return false }
            return (try? regex.firstMatch(in: s)) != nil
        }
    }

    /// `^[a-z0-9_.\-]+$` (or negated, `^[^&#]+$`) as a 128-bit set: the patterns of CAR's import
    /// schema for keys and names, matched without the regex engine.
    struct ASCIIClass: Sendable {
        var bits: (UInt64, UInt64) = (0, 0)
        var negated = false

        init?(pattern: String) {
            var chars = Array(pattern.unicodeScalars)
            guard chars.count >= 6, chars.first == "^", chars.last == "$", chars[1] == "[" else { return nil }
            guard chars[chars.count - 2] == "+", chars[chars.count - 3] == "]" else { return nil }
            chars = Array(chars[2..<(chars.count - 3)])
            var i = 0
            if chars.first == "^" {
                negated = true
                i = 1
            }
            var members: [UInt8] = []
            while i < chars.count {
                var c = chars[i]
                if c == "\\" {
                    i += 1
                    guard i < chars.count, chars[i].isASCII, !chars[i].properties.isAlphabetic else { return nil }
                    c = chars[i]
                } else if c == "[" || c == "]" {
                    return nil
                }
                guard c.isASCII else { return nil }
                if i + 2 < chars.count, chars[i + 1] == "-", chars[i + 2] != "\\", chars[i + 2].isASCII {
                    let hi = chars[i + 2]
                    guard c.value <= hi.value else { return nil }
                    for v in c.value...hi.value { members.append(UInt8(v)) }
                    i += 3
                    continue
                }
                members.append(UInt8(c.value))
                i += 1
            }
            // An empty class (`[]`, `[^]`) is left to the regex engine (and its errors).
            guard !members.isEmpty else { return nil }
            for m in members {
                if m < 64 { bits.0 |= 1 << UInt64(m) } else { bits.1 |= 1 << UInt64(m - 64) }
            }
        }

        func contains(_ b: UInt8) -> Bool {
            guard b < 128 else { return false }
            return b < 64 ? bits.0 & (1 << UInt64(b)) != 0 : bits.1 & (1 << UInt64(b - 64)) != 0
        }

        /// Whether every character of a non-empty string is in (or, negated, out of) the class.
        func matchesWhole(_ s: String) -> Bool {
            var any = false
            for b in s.utf8 {
                any = true
                if negated {
                    // A non-ASCII byte is outside any ASCII class.
                    if b < 128 && contains(b) { return false }
                } else if !contains(b) {
                    return false
                }
            }
            return any
        }
    }

    /// JSON Schema's type names as bits: a value's type is checked without comparing strings.
    struct TypeMask: OptionSet, Sendable {
        let rawValue: UInt8
        static let null = TypeMask(rawValue: 1), boolean = TypeMask(rawValue: 2), string = TypeMask(rawValue: 4)
        static let array = TypeMask(rawValue: 8), object = TypeMask(rawValue: 16), integer = TypeMask(rawValue: 32)
        static let number = TypeMask(rawValue: 64)

        init(rawValue: UInt8) { self.rawValue = rawValue }

        init(names: Set<String>) {
            var m: TypeMask = []
            for n in names {
                switch n {
                case "null": m.insert(.null)
                case "boolean": m.insert(.boolean)
                case "string": m.insert(.string)
                case "array": m.insert(.array)
                case "object": m.insert(.object)
                case "integer": m.insert(.integer)
                case "number": m.insert([.number, .integer])
                default: break
                }
            }
            self = m
        }

        func admits(_ v: JSON) -> Bool {
            switch v {
            case .null: return contains(.null)
            case .bool: return contains(.boolean)
            case .string: return contains(.string)
            case .array: return contains(.array)
            case .object: return contains(.object)
            case .int: return contains(.integer)
            case .double(let d): return contains(.number) || (contains(.integer) && d.rounded() == d && d.isFinite)
            }
        }
    }
}
