import Testing

@testable import MappingDSL

let record: JSON = [
    "pk": 17, "name": "web-1", "type": .null, "price": 2.5, "site": "http://127.0.0.1:8000/sites/2/",
    "vulnerabilities": ["http://h/vulnerabilities/3/", "http://h/vulnerabilities/5/"],
    "tags": ["a", "b", "a"], "nested": ["x": ["y": 1]], "flag": true,
]

func scope(current: Bool = false) -> Scope {
    var s = Scope(allowsCurrent: current)
    s.declare("last_state", type: .string)
    s.declare("days", type: .int)
    return s
}

func eval(_ text: String, current: JSON = .null, variables: [String: JSON] = [:]) throws -> JSON {
    let sc = scope(current: true)
    let result = ExpressionCompiler.compile(text, scope: sc)
    guard let compiled = result.expression else {
        throw EvalError(result.errors.map(\.description).joined(separator: "; "), span: Span(0, 0))
    }
    return try compiled.evaluate(EvalContext(document: record, current: current, variables: sc.values(variables), nowMs: 1_732_838_400_000))
}

func compileErrors(_ text: String, current: Bool = false) -> [String] {
    ExpressionCompiler.compile(text, scope: scope(current: current)).errors.map(\.description)
}

@Suite("Expressions")
struct ExpressionTests {
    @Test(arguments: [
        ("str($.pk)", JSON.string("17")),
        ("$.pk", .int(17)),
        ("$.missing", .null),
        ("$.nested.x.y + 1", .int(2)),
        ("$.price * 2", .double(5)),
        ("7 / 2", .double(3.5)),
        ("7 % 3", .int(1)),
        ("-$.pk", .int(-17)),
        ("'a' + 'b'", .string("ab")),
        ("$.type ?? 'Other'", .string("Other")),
        ("$.name ?? 'Other'", .string("web-1")),
        ("$.pk > 10 ? 'big' : 'small'", .string("big")),
        ("$.pk == 17 and not $.flag", .bool(false)),
        ("$.pk == 17 && !($.pk == 3) || false", .bool(true)),
        ("$.pk != 17.0", .bool(false)),
        ("[1, 'a', null]", .array([1, "a", .null])),
        ("{a: 1, 'b c': $.pk, d: null}", ["a": 1, "b c": 17]),
        ("{'low': 1, 'high': 8}[lower('HIGH')] ?? 0", .int(8)),
        ("$.vulnerabilities[*]", .array(["http://h/vulnerabilities/3/", "http://h/vulnerabilities/5/"])),
        ("map($.vulnerabilities, last_segment(@))", .array(["3", "5"])),
        ("map($.vulnerabilities, int(last_segment(@)))", .array([3, 5])),
        ("filter([1, 5, 9], @ > 3)", .array([5, 9])),
        ("any([1, 5], @ > 3)", .bool(true)),
        ("all([4, 5], @ > 3)", .bool(true)),
        ("last_segment($.site)", .string("2")),
        ("unique($.tags)", .array(["a", "b"])),
        ("join(unique($.tags), ',')", .string("a,b")),
        ("join([1, null, 2], '|')", .string("1|2")),
        ("split('a,b,,c', ',')", .array(["a", "b", "", "c"])),
        ("replace('a-b-c', '-', '.')", .string("a.b.c")),
        ("regex_match('web-01', '^web-[0-9]+$')", .bool(true)),
        ("regex_extract('CVE-2024-1234 fixed', 'CVE-(\\\\d+)-(\\\\d+)', 2)", .string("1234")),
        ("regex_extract('abc', 'x(y)')", .null),
        ("regex_replace('a1b22', '[0-9]+', '#')", .string("a#b#")),
        ("len('héllo')", .int(5)),
        ("len($.tags)", .int(3)),
        ("coalesce(null, $.missing, 3)", .int(3)),
        ("first($.tags)", .string("a")),
        ("last($.tags)", .string("a")),
        ("keys($.nested)", .array(["x"])),
        ("values({a: 1, b: 2})", .array([1, 2])),
        ("to_object([['a', 1], ['b', 2]])", ["a": 1, "b": 2]),
        ("pick({a: 1, b: 2, c: 3}, 'a', 'c')", ["a": 1, "c": 3]),
        ("omit({pk: 1, b: 2}, 'pk')", ["b": 2]),
        ("map_values({a: 1, b: true}, str(@))", ["a": "1", "b": "true"]),
        ("upper(trim('  web '))", .string("WEB")),
        ("concat('ipaddress/', '10.0.0.5')", .string("ipaddress/10.0.0.5")),
        ("concat('a', $.missing)", .null),
        ("concat([1], [2])", .array([1, 2])),
        ("int('42')", .int(42)),
        ("int(2.9)", .int(2)),
        ("float('2.5')", .double(2.5)),
        ("bool('True')", .bool(true)),
        ("str(2.0)", .string("2")),
        ("str(true)", .string("true")),
        ("str($.nested)", .string("{\"x\":{\"y\":1}}")),
        ("now_ms()", .int(1_732_838_400_000)),
        ("days_ago_ms(1)", .int(1_732_752_000_000)),
        ("iso_to_epoch_ms('2024-11-29T00:00:00Z')", .int(1_732_838_400_000)),
        ("iso_to_epoch_ms('2024-11-29T01:30:00.250+01:30')", .int(1_732_838_400_250)),
        ("iso_to_epoch_ms('2024-11-29')", .int(1_732_838_400_000)),
        ("epoch_ms_to_iso(1732838400123)", .string("2024-11-29T00:00:00.123Z")),
        ("epoch_ms_to_iso(-1)", .string("1969-12-31T23:59:59.999Z")),
        ("epoch_s_to_ms(1732838400)", .int(1_732_838_400_000)),
        ("epoch_s_to_ms(1.5)", .int(1500)),
        ("normalize_mac('00-50-56-A6-E2-1E')", .string("00:50:56:a6:e2:1e")),
        ("normalize_mac('0050.56a6.e21e')", .string("00:50:56:a6:e2:1e")),
        ("normalize_mac('nope')", .null),
        ("is_ipv4('10.0.0.5')", .bool(true)),
        ("is_ipv4('10.0.0.256')", .bool(false)),
        ("is_ipv4('10.0.0')", .bool(false)),
        ("is_ipv6('fe80::1')", .bool(true)),
        ("is_ipv6('::ffff:10.0.0.1')", .bool(true)),
        ("is_ipv6('1:2:3:4:5:6:7:8')", .bool(true)),
        ("is_ipv6('1:2:3:4:5:6:7:8:9')", .bool(false)),
        ("is_ipv6('10.0.0.1')", .bool(false)),
        ("base64_encode('user:pw')", .string("dXNlcjpwdw==")),
        ("base64_decode('dXNlcjpwdw')", .string("user:pw")),
        ("sha256('abc')", .string("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")),
        ("sha256('')", .string("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")),
        ("url_encode('a b/c')", .string("a%20b%2Fc")),
        ("round(2.345, 2)", .double(2.35)),
        ("round(2.5)", .int(3)),
        ("floor(2.7) + ceil(2.1)", .int(5)),
        ("max(3, 1, 2)", .int(3)),
        ("min([3, 1, 2])", .int(1)),
        ("sum([1, 2.5])", .double(3.5)),
        ("sort(['b', 'a'])", .array(["a", "b"])),
        ("contains('abc', 'b')", .bool(true)),
        ("substring('abcdef', 1, 3)", .string("bc")),
        ("substring('abcdef', -2)", .string("ef")),
        ("get({a: 1}, 'b', 0)", .int(0)),
        ("type(1.5)", .string("number")),
        ("parse_json('[1,2]')", .array([1, 2])),
        ("flatten([[1], [2, 3]])", .array([1, 2, 3])),
        ("$.nested['x'].y", .int(1)),
        ("get($, 'nested').x.y", .int(1)),
    ] as [(String, JSON)])
    func evaluates(text: String, expected: JSON) throws {
        #expect(try eval(text) == expected)
    }

    @Test func currentItemAndVariables() throws {
        #expect(try eval("str(@.id)", current: ["id": 5]) == "5")
        #expect(try eval("last_state", variables: ["last_state": "41"]) == "41")
        #expect(try eval("days * 2", variables: ["days": 3]) == 6)
    }

    @Test(arguments: [
        ("lower(5)", "6: argument 1 of 'lower' must be string, found integer: lower(text) -> string"),
        ("lowr($.name)", "0: unknown function 'lowr' (did you mean 'lower'?)"),
        ("join($.tags)", "0: 'join' takes 2 arguments, found 1: join(list, separator) -> string"),
        ("last_stat", "0: unknown variable 'last_stat' (did you mean 'last_state'?)"),
        ("now_ms", "0: unknown variable 'now_ms' ('now_ms' is a function: call it as now_ms(...))"),
        ("'a' + 1", "4: '+' cannot add string and integer; convert first (str(), int(), float())"),
        ("str($.pk) * 2", "0: '*' needs numbers, found string"),
        ("@.x", "0: '@' (the current item) is only available inside 'each' mappings and function arguments such as map(list, @...)"),
        ("regex_match($.name, '(')", "20: invalid regular expression '('"),
        ("$.a == ", "7: unexpected end of expression, expected a value"),
        ("$.a = 1", "4: '=' is not an operator; compare with '=='"),
        ("1 < 2 < 3", "6: comparisons do not chain; combine them with 'and'"),
        ("f(", "1: unclosed '(' of the call to 'f'"),
        ("", "0: empty expression"),
        ("$.a b", "4: unexpected 'b' after the end of the expression"),
        ("'abc", "0: unterminated string"),
        ("true ? 1", "8: expected ':' in a conditional 'condition ? then : else'"),
        ("'x' < 1", "4: '<' cannot order string and integer"),
        ("not 'x'", "4: 'not' needs a boolean, found string"),
        ("{a: 1, a: 2}", "10: duplicate member 'a' in object"),
    ])
    func compileTimeErrors(text: String, expected: String) {
        let errors = compileErrors(text)
        #expect(errors.first.map { String($0.prefix(expected.count)) } == expected, "\(errors)")
    }

    @Test func everyErrorIsReported() {
        let errors = compileErrors("concat(lowr($.a), upr($.b), lower(1))")
        #expect(errors.count == 3)
    }

    @Test func staticTypes() {
        let s = scope()
        #expect(ExpressionCompiler.compile("str($.pk)", scope: s).expression?.type == [.string, .null])
        #expect(ExpressionCompiler.compile("$.pk", scope: s).expression?.type == .any)
        #expect(ExpressionCompiler.compile("$.a[*]", scope: s).expression?.type == .array)
        #expect(ExpressionCompiler.compile("1 + 2", scope: s).expression?.type == [.int, .null])
        #expect(ExpressionCompiler.compile("$.a ?? 'x'", scope: s).expression?.type == .any.nonNull.union(.string))
    }

    @Test(arguments: [
        ("int('abc')", "int: 'abc' is not an integer"),
        ("lower($.pk)", "lower expects a string as its argument, found integer"),
        ("$.name + $.pk", "'+' cannot add string and integer"),
        ("1 / 0", "division by zero"),
        ("iso_to_epoch_ms('yesterday')", "iso_to_epoch_ms: 'yesterday' is not an ISO-8601 date-time"),
        ("9223372036854775807 + 1", "integer overflow in '+'"),
        ("$.name ? 1 : 2", "expected a boolean, found string \"web-1\""),
    ])
    func runtimeErrors(text: String, message: String) {
        do {
            let v = try eval(text)
            Issue.record("evaluated to \(v)")
        } catch {
            #expect("\(error)".hasSuffix(message), "\(error)")
        }
    }
}
