/// Patterns of CAR's import schema that the regex engine is slow at, with a test that proves a
/// match for the common forms: a string the test does not accept still goes to the regex, so
/// the answer is always the regex's.
enum KnownPatterns {
    static let quickAccept: [String: @Sendable (String) -> Bool] = [
        // macaddress `_key`. JSON Schema patterns search (they are not anchored), and `^A|B$`
        // is `(^A)|(B$)`: a match is five `hh:` groups at the start, or `hhhh:hhhh:hhhh:hhhh`
        // at the end.
        #"^(?:[0-9A-Fa-f]{2}(:))(?:[0-9A-Fa-f]{2}\1){4,6}(?:[0-9A-Fa-f]{2,4}){0,1}|(?:[0-9A-Fa-f]{4}(:)){3}(?:[0-9A-Fa-f]{4})$"#:
            { s in startsWithColonHexGroups(s) },
    ]

    /// Whether the string starts with five groups of two hex digits and a colon.
    static func startsWithColonHexGroups(_ s: String) -> Bool {
        var position = 0
        for b in s.utf8 {
            if position % 3 == 2 {
                guard b == UInt8(ascii: ":") else { return false }
            } else {
                guard isHex(b) else { return false }
            }
            position += 1
            if position == 15 { return true }
        }
        return false
    }

    static func isHex(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66)
    }
}
