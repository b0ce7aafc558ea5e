import FuzzSupport
import MappingDSL

@testable import CarEngine

/// XML responses: the reader never fails on any bytes; what it makes of a document is an object
/// with one member (the root element), whose JSON writes and parses back equal.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let value = XMLToJSON.convert(Fuzz.bytes(data, size)) else { return 0 }
    Fuzz.check(value.objectValue?.count == 1, "the document is \(value.typeName), not an object of one member")
    let written = JSONWriter().bytes(value)
    Fuzz.check((try? JSONParser.parse(written)) == value, "the JSON does not parse back equal")
    return 0
}

@main
enum Main {
    static func main() { Fuzz.drive(fuzz) }
}
