import Testing

@testable import MappingDSL

/// The example document of RFC 9535, section 1.5.
let bookstore: JSON = (try? JSONParser.parse(
    """
    { "store": {
        "book": [
          { "category": "reference", "author": "Nigel Rees", "title": "Sayings of the Century", "price": 8.95 },
          { "category": "fiction", "author": "Evelyn Waugh", "title": "Sword of Honour", "price": 12.99 },
          { "category": "fiction", "author": "Herman Melville", "title": "Moby Dick", "isbn": "0-553-21311-3", "price": 8.99 },
          { "category": "fiction", "author": "J. R. R. Tolkien", "title": "The Lord of the Rings", "isbn": "0-395-19395-8", "price": 22.99 }
        ],
        "bicycle": { "color": "red", "price": 399 }
      }
    }
    """)) ?? .null

@Suite("JSONPath (RFC 9535)")
struct JSONPathTests {
    func select(_ path: String, _ doc: JSON = bookstore) throws -> [JSON] {
        try JSONPath.parse(path).select(document: doc, current: doc)
    }

    @Test func rfcExamples() throws {
        #expect(try select("$.store.book[*].author") == ["Nigel Rees", "Evelyn Waugh", "Herman Melville", "J. R. R. Tolkien"])
        #expect(try select("$..author").count == 4)
        #expect(try select("$.store.*").count == 2)
        #expect(try select("$.store..price") == [8.95, 12.99, 8.99, 22.99, 399])
        #expect(try select("$..book[2].title") == ["Moby Dick"])
        #expect(try select("$..book[-1].title") == ["The Lord of the Rings"])
        #expect(try select("$..book[0,1].title") == ["Sayings of the Century", "Sword of Honour"])
        #expect(try select("$..book[:2].title") == ["Sayings of the Century", "Sword of Honour"])
        #expect(try select("$..book[?@.isbn].title") == ["Moby Dick", "The Lord of the Rings"])
        #expect(try select("$..book[?@.price<10].title") == ["Sayings of the Century", "Moby Dick"])
        #expect(try select("$..*").count == 27)
        #expect(try select("$['store']['bicycle'][\"color\"]") == ["red"])
    }

    @Test func filters() throws {
        #expect(try select("$.store.book[?@.category == 'fiction' && @.price > 10].title") == ["Sword of Honour", "The Lord of the Rings"])
        #expect(try select("$.store.book[?!@.isbn].title") == ["Sayings of the Century", "Sword of Honour"])
        #expect(try select("$.store.book[?(@.price < 9 || @.price > 20)].price") == [8.95, 8.99, 22.99])
        #expect(try select("$.store.book[?length(@.author) == 10].author") == ["Nigel Rees"])
        #expect(try select("$.store.book[?match(@.isbn, '0-553-.*')].title") == ["Moby Dick"])
        #expect(try select("$.store.book[?search(@.title, 'Lord')].title") == ["The Lord of the Rings"])
        #expect(try select("$.store.book[?@.price == $.store.book[0].price].title") == ["Sayings of the Century"])
        #expect(try select("$.store[?@.color == 'red'].price") == [399])
    }

    @Test func slices() throws {
        let doc: JSON = [0, 1, 2, 3, 4, 5, 6]
        #expect(try select("$[1:3]", doc) == [1, 2])
        #expect(try select("$[5:]", doc) == [5, 6])
        #expect(try select("$[1:5:2]", doc) == [1, 3])
        #expect(try select("$[5:1:-2]", doc) == [5, 3])
        #expect(try select("$[::-1]", doc) == [6, 5, 4, 3, 2, 1, 0])
        #expect(try select("$[-2:]", doc) == [5, 6])
        #expect(try select("$[::0]", doc) == [])
    }

    @Test func singular() throws {
        #expect(try JSONPath.parse("$.a.b[0]").isSingular)
        #expect(try !JSONPath.parse("$.a[*]").isSingular)
        #expect(try !JSONPath.parse("$..a").isSingular)
        let doc: JSON = ["a": ["b": [7]]]
        #expect(try JSONPath.parse("$.a.b[0]").selectOne(document: doc, current: doc) == 7)
        #expect(try JSONPath.parse("$.a.c").selectOne(document: doc, current: doc) == nil)
    }

    @Test(arguments: [
        ("$.", "2: expected a member name or '*' after '.'"),
        ("$[", "2: expected a selector"),
        ("$[a]", "2: a name inside brackets needs quotes: ['a']"),
        ("$[01]", "2: leading zeros are not allowed"),
        ("$[?@.a == ]", "10: unexpected ']' in filter"),
        ("$[?@.a[*] == 1]", "3: only singular queries (names and indices) can be compared"),
        ("$[?foo(@)]", "3: unknown JSONPath function 'foo' (known: count, length, match, search, value)"),
        ("$[?length(@.a)]", "3: function 'length' gives a value, not a test; compare it"),
        ("$[?match(@.a)]", "3: 'match' takes 2 arguments, found 1"),
        ("$['a'", "1: unclosed '['"),
        ("$x", "1: unexpected 'x' in JSONPath"),
        ("$[?@.a == 1", "1: unclosed '['"),
    ])
    func errors(text: String, expected: String) {
        do {
            let p = try JSONPath.parse(text)
            Issue.record("parsed \(p)")
        } catch {
            #expect(error.description == expected)
        }
    }

    @Test func descriptionRoundTrips() throws {
        for text in ["$.a.b", "$['a b'][0]", "$..c[*]", "$[1:2:3]", "$[?@.a == 1 && @.b]", "@.x"] {
            let p = try JSONPath.parse(text)
            #expect(try JSONPath.parse(p.description) == p)
        }
    }
}
