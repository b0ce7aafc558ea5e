import Testing

@testable import MappingDSL

@Suite("as_list, merge, html_to_text")
struct ShapeFunctionTests {
    static let cases: [(String, JSON)] = [
        ("as_list(null)", []),
        ("as_list($.missing)", []),
        ("as_list([1, 2])", [1, 2]),
        ("as_list([])", []),
        ("as_list('a')", ["a"]),
        ("as_list({a: 1})", [["a": 1]]),
        ("as_list(0)", [0]),
        ("merge({a: 1, b: 2}, {b: 3, c: 4})", ["a": 1, "b": 3, "c": 4]),
        ("merge({a: 1}, null, $.missing, {b: 2})", ["a": 1, "b": 2]),
        ("merge($.nested, {z: 0})", ["x": ["y": 1], "z": 0]),
        ("merge(null)", [:]),
        ("merge({a: {x: 1}}, {a: {y: 2}})", ["a": ["y": 2]]),
        ("keys(merge({b: 1}, {a: 2}, {b: 3}))", ["b", "a"]),
    ]

    @Test(arguments: cases)
    func evaluates(text: String, expected: JSON) throws {
        #expect(try eval(text) == expected)
    }

    @Test func mergeRejectsAnArgumentThatIsNoObject() {
        #expect(compileErrors("merge({a: 1}, 'b')").count == 1)
        #expect(throws: EvalError.self) { try eval("merge({a: 1}, $.name)") }
        do {
            _ = try eval("merge({a: 1}, $.tags)")
            Issue.record("merge of a list did not fail")
        } catch {
            #expect("\(error)".contains("merge expects objects, found array as argument 2"))
        }
    }

    @Test(arguments: [
        ("<p>Hello <b>world</b></p>", "Hello world"),
        ("line one<br>line two<br/>line three<BR />", "line one\nline two\nline three"),
        ("<ul>\n  <li>first</li>\n  <li>second</li>\n</ul>", "first\nsecond"),
        ("<p>a</p>\n\n<p>b</p>", "a\nb"),
        ("Tom &amp; Jerry &lt;3 &quot;cats&quot; &apos;n&#39; &#x27;mice&#X27;", "Tom & Jerry <3 \"cats\" 'n' 'mice'"),
        ("caf&eacute; &euro;5 &copy; &#8364; &#128512;", "café €5 © € 😀"),
        ("a&nbsp;&nbsp;b", "a b"),
        ("AT&T &unknown; &#xZZ; & so", "AT&T &unknown; &#xZZ; & so"),
        ("&#0; &#x110000;", "\u{FFFD} \u{FFFD}"),
        ("  lots \t of\n\n   space  ", "lots of space"),
        ("<div>one</div><div>two</div>", "one\ntwo"),
        ("<script>var x = '<p>';</script>text<style>p {}</style>", "text"),
        ("before<!-- a <p> comment -->after", "beforeafter"),
        ("x < y and y > z", "x < y and y > z"),
        ("<a href=\"https://h/?a=1&amp;b=2\">link</a>", "link"),
        ("&lt;b&gt;not a tag&lt;/b&gt;", "<b>not a tag</b>"),
        ("", ""),
        ("<p></p>", ""),
    ])
    func htmlToText(html: String, text: String) throws {
        #expect(try eval("html_to_text(last_state)", variables: ["last_state": .string(html)]) == .string(text))
    }

    @Test func htmlToTextOfNullIsNull() throws {
        #expect(try eval("html_to_text($.missing)") == .null)
    }
}
