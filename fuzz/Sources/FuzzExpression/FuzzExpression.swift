import FuzzSupport
import MappingDSL

/// The record compiled expressions run against.
let document: JSON = [
    "id": 7, "name": "host-1", "score": 7.5, "up": true, "none": .null, "tags": ["a", "b", "c"],
    "ips": [["a": "10.0.0.1", "up": true], ["a": "10.0.0.2", "up": false]], "when": "2024-01-02T03:04:05Z",
]

/// Scopes expressions are compiled in: a mapping field's, an `each` mapping's, a request's.
let scopes: [Scope] = {
    var field = Scope()
    field.declare("url")
    field.declare("page", type: .int)
    var each = Scope(allowsDocument: true, allowsCurrent: true)
    each.declare("host")
    let request = Scope(allowsDocument: false, allowsCurrent: false)
    return [field, each, request]
}()

/// Expressions: parse and compile errors carry offsets inside the text (0...its UTF-8 length)
/// and lengths that end inside it (or one past the end, for "expected more"); the parser and
/// the compiler agree on what parses. Compiled expressions are evaluated against a record and
/// their values written as JSON.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let text = String(validating: Fuzz.bytes(data, size), as: UTF8.self) else { return 0 }
    let count = text.utf8.count
    func checkSpan(_ offset: Int, _ length: Int, _ message: String) {
        Fuzz.check(offset >= 0 && offset <= count, "offset \(offset) outside 0...\(count): \(message)")
        Fuzz.check(length >= 0 && offset + length <= max(count, offset + 1), "span \(offset)+\(length) past \(count): \(message)")
    }
    let parsed: Bool
    do {
        _ = try ExpressionParser.parse(text)
        parsed = true
    } catch {
        checkSpan(error.offset, error.length, error.message)
        parsed = false
    }
    for (n, scope) in scopes.enumerated() {
        let result = ExpressionCompiler.compile(text, scope: scope)
        Fuzz.check((result.expression == nil) == !result.errors.isEmpty, "a compiled expression and errors")
        for error in result.errors { checkSpan(error.offset, error.length, error.message) }
        if !parsed { Fuzz.check(result.expression == nil, "compiled what does not parse") }
        guard let expression = result.expression else { continue }
        let context = EvalContext(document: document, current: document["ips"]?[0] ?? .null,
                                  variables: scope.values(["url": "http://h/x/1/", "page": 2, "host": "h1"]), nowMs: 1_700_000_000_000)
        do {
            let value = try expression.evaluate(context)
            let bytes = JSONWriter().bytes(value)
            Fuzz.check((try? JSONParser.parse(bytes)) != nil, "scope \(n): the value does not write as JSON")
            if let constant = expression.constant { Fuzz.check(constant == value, "scope \(n): the constant is not the value") }
        } catch {
            checkSpan(error.span.start, error.span.length, error.message)
        }
    }
    return 0
}

@main
enum Main {
    static func main() { Fuzz.drive(fuzz) }
}
