import Testing

#if canImport(Glibc)
    import Glibc
#endif

import CarDefinition
@testable import CarEngine
@testable import MappingDSL

@Suite("The edge buffer")
struct EdgeBufferTests {
    /// Edges come back in the order added and as `JSONWriter` writes them, whether they stayed
    /// in memory or were spilled to disk past the limit.
    @Test(arguments: [1000, 3])
    func edgesComeBackAsTheWriterWritesThem(limit: Int) throws {
        func edge(_ from: String, _ to: String) -> JSONObject {
            var o = JSONObject()
            o.append("_from_external_id", .string(from))
            o.append("_to", .string(to))
            o.append("source", "conn \"1\"")
            o.append("active", true)
            o.append("timestamp", 1_790_000_000_123)
            return o
        }
        let objects = [edge("1", "ipaddress/10.0.0.1"), edge("é\n2", "ipaddress/10.0.0.2"), edge("3", "ipaddress/10.0.0.3"),
                       edge("4", "macaddress/00:50:56:a6:e2:1e"), edge("5", "ipaddress/10.0.0.5")]
        let collections = ["asset_ipaddress", "asset_ipaddress", "asset_ipaddress", "asset_macaddress", "asset_ipaddress"]
        let directory = "/tmp/car-edgebuffer-test-\(limit)"
        try FileIO.makeDirectories(directory)
        var buffer = EdgeBuffer(limit: limit, directory: directory)
        for (o, c) in zip(objects, collections) { try buffer.add(o, collectionIndex: buffer.index(of: c)) }
        #expect(buffer.count == 5)
        var back: [(String, [UInt8])] = []
        while case let next = try buffer.takeRaw(2), !next.isEmpty { back += next.map { (buffer.collections[$0.collection], Array($0.bytes)) } }
        buffer.close(keep: false)
        #expect(back.map(\.0) == collections)
        #expect(back.map(\.1) == objects.map { JSONWriter().bytes(.object($0)) })
    }

    /// A spill file damaged on disk fails the read-back with its path: no edge is dropped unseen.
    @Test func aDamagedSpillFileIsAnError() throws {
        let directory = "/tmp/car-edgebuffer-test-damaged"
        try FileIO.makeDirectories(directory)
        var buffer = EdgeBuffer(limit: 1, directory: directory)
        let index = buffer.index(of: "asset_ipaddress")
        for to in ["ipaddress/10.0.0.1", "ipaddress/10.0.0.2"] {
            var edge = JSONObject()
            edge.append("_from_external_id", "1")
            edge.append("_to", .string(to))
            try buffer.add(edge, collectionIndex: index)
        }
        let path = try #require(buffer.path)
        fflush(buffer.file)
        let appended = try #require(fopen(path, "a"))
        fputs("not an edge line\n", appended)
        fclose(appended)
        defer { buffer.close(keep: false) }
        #expect { _ = try buffer.takeRaw(10) } throws: { error in
            "\(error)".contains("have a damaged line") && "\(error)".contains(path)
        }
    }
}
