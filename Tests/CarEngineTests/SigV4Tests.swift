import Testing

@testable import CarEngine
@testable import MappingDSL

/// Signature Version 4 against botocore's signer: the vectors in Fixtures/signing/sigv4.json
/// were made by scripts/gen-sigv4-vectors.py with botocore's SigV4Auth at a fixed time.
@Suite("AWS Signature Version 4")
struct SigV4Tests {
    static func vectors() throws -> (JSON, [JSON]) {
        let text = try #require(Repo.read(Repo.fixtures + "/signing/sigv4.json"))
        let json = try JSONParser.parse(text)
        return (json, json["vectors"]?.arrayValue ?? [])
    }

    @Test func everyVectorSignsAsBotocoreDoes() throws {
        let (file, vectors) = try Self.vectors()
        #expect(vectors.count >= 5)
        let time = try #require(ISO8601.parse(file["time"]?.stringValue ?? ""))
        for v in vectors {
            let signer = SigV4Signer(
                accessKeyID: file["access_key_id"]?.stringValue ?? "", secretAccessKey: file["secret_access_key"]?.stringValue ?? "",
                sessionToken: v["token"]?.stringValue, region: v["region"]?.stringValue ?? "", service: v["service"]?.stringValue ?? "")
            let headers = (v["headers"]?.objectValue ?? JSONObject()).map { (name: $0.key, value: $0.value.stringValue ?? "") }
            let body = Array((v["body"]?.stringValue ?? "").utf8)
            let canonical = signer.canonicalRequest(method: v["method"]?.stringValue ?? "", url: v["url"]?.stringValue ?? "",
                                                    headers: headers + [("X-Amz-Date", SigV4Signer.timestamp(time))]
                                                        + (v["token"]?.stringValue.map { [("X-Amz-Security-Token", $0)] } ?? []),
                                                    body: body)
            #expect(canonical.request == v["canonical_request"]?.stringValue, "\(v["name"]?.stringValue ?? "")")
            let added = signer.headers(method: v["method"]?.stringValue ?? "", url: v["url"]?.stringValue ?? "", headers: headers, body: body, timeMs: time)
            let expected = (v["added"]?.objectValue ?? JSONObject()).map { "\($0.key): \($0.value.stringValue ?? "")" }.sorted()
            #expect(added.map { "\($0.name): \($0.value)" }.sorted() == expected, "\(v["name"]?.stringValue ?? "")")
        }
    }

    @Test func theVectorsCoverWhatTheIssueNames() throws {
        let (_, vectors) = try Self.vectors()
        let names = Set(vectors.compactMap { $0["name"]?.stringValue })
        #expect(names.isSuperset(of: ["get with query", "post form (query protocol)", "post json 1.1", "non-ascii path", "session token"]))
    }
}
