import CarEngine
import FuzzSupport
import MappingDSL

/// What `consumeArray` (Sources/CarEngine/Datasource/RecordReaders.swift) makes of a streamed
/// body fed in the given chunks: its records, or nil when it fails (an element that does not
/// parse, an unclosed array, data after it, or a body that is not an array).
func streamed(_ bytes: [UInt8], chunks: [Int]) -> [JSON]? {
    var splitter = ArrayElementSplitter()
    var records: [JSON] = []
    var start = 0
    for size in chunks {
        let end = min(bytes.count, start + size)
        for element in splitter.feed(Array(bytes[start..<end])) {
            guard let record = try? JSONParser.parse(element) else { return nil }
            records.append(record)
        }
        start = end
    }
    Fuzz.check(start == bytes.count, "the chunks do not cover the bytes")
    guard !splitter.notAnArray, splitter.complete else { return nil }
    return records
}

/// Chunk sizes covering `count` bytes.
func chunking(_ count: Int, _ random: inout SplitMix64, largest: Int) -> [Int] {
    var sizes: [Int] = []
    var left = count
    while left > 0 {
        let s = min(left, random.size(upTo: largest))
        sizes.append(s)
        left -= s
    }
    return sizes
}

/// JSON documents: what the parser accepts writes (compact and pretty) as bytes that parse to an
/// equal value; the streaming array splitter, fed the same bytes in any chunks, yields exactly
/// the records of the whole-document parse (and fails where it fails or finds no array); the
/// scanner finds the same elements.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Fuzz.bytes(data, size)
    let whole = try? JSONParser.parse(bytes)
    if let whole {
        for writer in [JSONWriter(), JSONWriter(pretty: true), JSONWriter(sortedKeys: true)] {
            let written = writer.bytes(whole)
            do {
                let again = try JSONParser.parse(written)
                if writer.sortedKeys {
                    Fuzz.check(JSONWriter().bytes(again) == JSONWriter(sortedKeys: true).bytes(whole), "sorted keys do not round-trip")
                } else {
                    Fuzz.check(again == whole, "'\(String(decoding: written, as: UTF8.self))' parses to another value")
                }
            } catch {
                Fuzz.check(false, "the writer's '\(String(decoding: written, as: UTF8.self))' does not parse: \(error)")
            }
        }
    }
    var expected: [JSON]?
    if case .array(let a)? = whole { expected = a }
    var random = SplitMix64(hashing: bytes)
    var chunkings = [[bytes.count], [Int](repeating: 1, count: bytes.count)]
    for largest in [2, 7, 64] { chunkings.append(chunking(bytes.count, &random, largest: largest)) }
    for chunks in chunkings {
        let records = streamed(bytes, chunks: chunks)
        let found = records.map { "\($0.count) records" } ?? "a failure"
        let wanted = expected.map { "\($0.count) records" } ?? "no array"
        Fuzz.check(records == expected, "chunks \(chunks.prefix(20)): the splitter gives \(found), the parser \(wanted)")
    }
    if let expected {
        do {
            let ranges = try JSONScanner.arrayElements(bytes)
            let elements = ranges?.map { try? JSONParser.parse(bytes[$0]) }
            Fuzz.check(elements == expected.map { Optional($0) }, "the scanner's elements differ from the parser's")
        } catch {
            Fuzz.check(false, "the scanner fails at \(error.offset) on an array the parser reads")
        }
    }
    return 0
}

@main
enum Main {
    static func main() { Fuzz.drive(fuzz) }
}
