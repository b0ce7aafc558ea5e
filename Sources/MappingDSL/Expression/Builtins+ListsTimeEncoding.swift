extension Builtins {
    // MARK: Functions over lists with an expression per element

    static let lambdas: [FunctionSpec] = [
        FunctionSpec(
            "map", "map(list, expression) -> array", summary: "The expression evaluated for each element (as @); null results are kept.",
            example: "map([1, 2], @ * 10) → [10, 20]", arguments: 2...2, parameters: [.array, .any], lambda: [1], returns: [.array, .null],
            implementation: .lambda { subject, fns in
                if subject.isNull { return .null }
                return .array(try array(subject, "map").map { try fns[0]($0) })
            }),
        FunctionSpec(
            "filter", "filter(list, condition) -> array", summary: "The elements (as @) for which the condition is true.",
            example: "filter([1, 5, 9], @ > 3) → [5, 9]", arguments: 2...2, parameters: [.array, .bool], lambda: [1], returns: [.array, .null],
            implementation: .lambda { subject, fns in
                if subject.isNull { return .null }
                return .array(try array(subject, "filter").filter { try Ops.truth(try fns[0]($0), Span(0, 0)) })
            }),
        FunctionSpec(
            "any", "any(list, condition) -> boolean", summary: "Whether the condition holds for at least one element (as @).",
            example: "any([1, 5], @ > 3) → true", arguments: 2...2, parameters: [.array, .bool], lambda: [1], returns: [.bool, .null],
            implementation: .lambda { subject, fns in
                if subject.isNull { return .null }
                return .bool(try array(subject, "any").contains { try Ops.truth(try fns[0]($0), Span(0, 0)) })
            }),
        FunctionSpec(
            "all", "all(list, condition) -> boolean", summary: "Whether the condition holds for every element (as @).",
            example: "all([4, 5], @ > 3) → true", arguments: 2...2, parameters: [.array, .bool], lambda: [1], returns: [.bool, .null],
            implementation: .lambda { subject, fns in
                if subject.isNull { return .null }
                return .bool(try array(subject, "all").allSatisfy { try Ops.truth(try fns[0]($0), Span(0, 0)) })
            }),
        FunctionSpec(
            "map_values", "map_values(object, expression) -> object", summary: "The object with each member's value replaced by the expression evaluated on it (as @).",
            example: "map_values({a: 1}, str(@)) → {\"a\": \"1\"}", arguments: 2...2, parameters: [.object, .any], lambda: [1],
            returns: [.object, .null],
            implementation: .lambda { subject, fns in
                if subject.isNull { return .null }
                let o = try object(subject, "map_values")
                var out = JSONObject(minimumCapacity: o.count)
                for (k, v) in o { out.append(k, try fns[0](v)) }
                return .object(out)
            }),
    ]

    // MARK: Time

    static let time: [FunctionSpec] = [
        FunctionSpec(
            "now_ms", "now_ms() -> integer", summary: "The run's start time in epoch milliseconds (fixed for the whole run).",
            example: "now_ms() → 1732838400000", arguments: 0...0, parameters: [], returns: .int,
            implementation: .pure { _, ctx in .int(ctx.nowMs) }),
        FunctionSpec(
            "days_ago_ms", "days_ago_ms(days) -> integer", summary: "The run's start time minus the given number of days, in epoch milliseconds.",
            example: "days_ago_ms(30) → 1730246400000", arguments: 1...1, parameters: [.number], returns: [.int, .null],
            implementation: .pure { args, ctx in
                guard let d = args[0].doubleValue else {
                    if args[0].isNull { return .null }
                    throw fail("days_ago_ms expects a number")
                }
                return .int(ctx.nowMs - Int64(d * 86_400_000))
            }),
        FunctionSpec(
            "iso_to_epoch_ms", "iso_to_epoch_ms(text) -> integer", summary: "Epoch milliseconds from an ISO-8601 date or date-time (UTC unless it has an offset).",
            example: "iso_to_epoch_ms('2024-11-29T00:00:00Z') → 1732838400000", arguments: 1...1, parameters: [.string],
            returns: [.int, .null],
            implementation: pure1 { v in
                let s = try string(v, "iso_to_epoch_ms")
                guard let ms = ISO8601.parse(s) else { throw fail("iso_to_epoch_ms: '\(s)' is not an ISO-8601 date-time") }
                return .int(ms)
            }),
        FunctionSpec(
            "epoch_ms_to_iso", "epoch_ms_to_iso(ms) -> string", summary: "The ISO-8601 UTC date-time (with milliseconds) of epoch milliseconds.",
            example: "epoch_ms_to_iso(1732838400000) → \"2024-11-29T00:00:00.000Z\"", arguments: 1...1, parameters: [.number],
            returns: [.string, .null],
            implementation: pure1 { v in .string(ISO8601.format(try integer(v, "epoch_ms_to_iso"))) }),
        FunctionSpec(
            "epoch_s_to_ms", "epoch_s_to_ms(seconds) -> integer", summary: "Epoch milliseconds from epoch seconds (fractions kept to the millisecond).",
            example: "epoch_s_to_ms(1732838400) → 1732838400000", arguments: 1...1, parameters: [.number], returns: [.int, .null],
            implementation: pure1 { v in
                switch v {
                case .int(let i):
                    let (r, o) = i.multipliedReportingOverflow(by: 1000)
                    if o { throw fail("epoch_s_to_ms: \(i) is out of range") }
                    return .int(r)
                case .double(let d):
                    guard d.isFinite, abs(d) < 9e15 else { throw fail("epoch_s_to_ms: \(d) is out of range") }
                    return .int(Int64((d * 1000).rounded()))
                default: throw fail("epoch_s_to_ms expects a number")
                }
            }),
    ]

    // MARK: Network

    static let network: [FunctionSpec] = [
        FunctionSpec(
            "normalize_mac", "normalize_mac(text) -> string", summary: "A MAC address in lower-case colon form from colon, dash, dot or bare-hex notation; null when it is not a MAC address.",
            example: "normalize_mac('00-50-56-A6-E2-1E') → \"00:50:56:a6:e2:1e\"", arguments: 1...1, parameters: [.string],
            returns: [.string, .null],
            implementation: pure1 { v in Network.normalizeMAC(try string(v, "normalize_mac")).map(JSON.string) ?? .null }),
        FunctionSpec(
            "is_ipv4", "is_ipv4(text) -> boolean", summary: "Whether the text is a dotted-quad IPv4 address.",
            example: "is_ipv4('10.0.0.5') → true", arguments: 1...1, parameters: [.string], returns: [.bool, .null],
            implementation: pure1 { v in .bool(Network.isIPv4(try string(v, "is_ipv4"))) }),
        FunctionSpec(
            "is_ipv6", "is_ipv6(text) -> boolean", summary: "Whether the text is an IPv6 address (RFC 4291 text forms, with :: and embedded IPv4).",
            example: "is_ipv6('fe80::1') → true", arguments: 1...1, parameters: [.string], returns: [.bool, .null],
            implementation: pure1 { v in .bool(Network.isIPv6(try string(v, "is_ipv6"))) }),
        FunctionSpec(
            "url_encode", "url_encode(text) -> string", summary: "The text percent-encoded for use in a URL query or path segment.",
            example: "url_encode('a b/c') → \"a%20b%2Fc\"", arguments: 1...1, parameters: [.string], returns: [.string, .null],
            implementation: pure1 { v in .string(Network.percentEncode(try string(v, "url_encode"))) }),
    ]

    // MARK: Encoding

    static let encoding: [FunctionSpec] = [
        FunctionSpec(
            "base64_encode", "base64_encode(text) -> string", summary: "The UTF-8 bytes of the text in standard Base64.",
            example: "base64_encode('user:pw') → \"dXNlcjpwdw==\"", arguments: 1...1, parameters: [.string], returns: [.string, .null],
            implementation: pure1 { v in .string(Base64.encode(Array(try string(v, "base64_encode").utf8))) }),
        FunctionSpec(
            "base64_decode", "base64_decode(text) -> string", summary: "The text whose UTF-8 bytes the Base64 (standard or URL-safe, padding optional) encodes.",
            example: "base64_decode('dXNlcjpwdw==') → \"user:pw\"", arguments: 1...1, parameters: [.string], returns: [.string, .null],
            implementation: pure1 { v in
                guard let bytes = Base64.decode(try string(v, "base64_decode")) else { throw fail("base64_decode: not valid Base64") }
                guard let s = String(validating: bytes, as: UTF8.self) else { throw fail("base64_decode: the decoded bytes are not UTF-8 text") }
                return .string(s)
            }),
        FunctionSpec(
            "sha256", "sha256(text) -> string", summary: "The SHA-256 digest of the text's UTF-8 bytes, as lower-case hex.",
            example: "sha256('abc') → \"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\"", arguments: 1...1, parameters: [.string], returns: [.string, .null],
            implementation: pure1 { v in .string(SHA256.hex(Array(try string(v, "sha256").utf8))) }),
    ]
}
