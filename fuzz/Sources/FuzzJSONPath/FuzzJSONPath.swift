import FuzzSupport
import MappingDSL

/// The document queries run against.
let document: JSON = [
    "store": [
        "book": [
            ["category": "reference", "author": "Nigel Rees", "title": "Sayings", "price": 8.95],
            ["category": "fiction", "author": "Evelyn Waugh", "title": "Sword", "price": 12.99, "isbn": "0-553"],
            ["category": "fiction", "price": 8, "tags": [1, "x", .null, true, ["n": 1]]],
        ],
        "bicycle": ["color": "red", "price": 399],
    ],
    "a.b": 1, "": "empty", "é": ["'": "quote", "\"": "dq", "\\": "bs"], "n": .null, "list": [0, 1, 2, 3, 4, 5, 6],
]

/// JSONPath queries: errors carry offsets inside the text; a parsed query prints as a query that
/// parses to the same one; evaluation never fails and a singular query selects at most one node.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let text = String(validating: Fuzz.bytes(data, size), as: UTF8.self) else { return 0 }
    let count = text.utf8.count
    let path: JSONPath
    do {
        path = try JSONPath.parse(text)
    } catch {
        Fuzz.check(error.offset >= 0 && error.offset <= count, "offset \(error.offset) outside 0...\(count): \(error.message)")
        Fuzz.check(error.length >= 0 && error.offset + error.length <= max(count, error.offset + 1),
                   "span \(error.offset)+\(error.length) past \(count): \(error.message)")
        return 0
    }
    let printed = path.description
    do {
        let again = try JSONPath.parse(printed)
        Fuzz.check(again == path, "'\(text)' prints as '\(printed)', which parses to another query ('\(again)')")
    } catch {
        Fuzz.check(false, "'\(text)' prints as '\(printed)', which does not parse: \(error.message)")
    }
    for current in [document, document["store"] ?? .null, .null] {
        let nodes = path.select(document: document, current: current)
        if path.isSingular { Fuzz.check(nodes.count <= 1, "singular '\(text)' selected \(nodes.count) nodes") }
        let one = path.selectOne(document: document, current: current)
        Fuzz.check(one == nodes.first, "selectOne and select disagree on '\(text)'")
    }
    return 0
}

@main
enum Main {
    static func main() { Fuzz.drive(fuzz) }
}
