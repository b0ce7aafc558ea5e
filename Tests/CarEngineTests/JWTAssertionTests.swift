import Testing

@testable import CarEngine
@testable import MappingDSL

/// RS256 assertions of the JWT bearer grant against PyJWT: RSASSA-PKCS1-v1_5 is deterministic,
/// so car must produce PyJWT's token byte for byte (Fixtures/signing/jwt.json, made by
/// scripts/gen-jwt-vectors.py, which also decoded each token with PyJWT).
@Suite("JWT bearer assertions (RS256)")
struct JWTAssertionTests {
    static func file() throws -> JSON {
        try JSONParser.parse(try #require(Repo.read(Repo.fixtures + "/signing/jwt.json")))
    }

    @Test(arguments: ["private_key_pkcs1", "private_key_pkcs8"])
    func tokensEqualPyJWTs(keyForm: String) throws {
        let f = try Self.file()
        let pem = try #require(f[keyForm]?.stringValue)
        for v in f["vectors"]?.arrayValue ?? [] {
            let assertion = JWTAssertion(issuer: v["iss"]?.stringValue ?? "", subject: v["sub"]?.stringValue,
                                         audience: v["aud"]?.stringValue ?? "", scope: v["scope"]?.stringValue)
            let token = try assertion.signed(privateKeyPEM: pem, nowMs: Int64(v["now"]?.doubleValue ?? 0) * 1000)
            #expect(token == v["token"]?.stringValue, "\(v["name"]?.stringValue ?? "")")
        }
    }

    /// A key pasted into a one-line form field has its line breaks as the two characters \n.
    @Test func aKeyWithEscapedLineBreaksSignsTheSame() throws {
        let f = try Self.file()
        let pem = try #require(f["private_key_pkcs8"]?.stringValue)
        let v = try #require(f["vectors"]?.arrayValue?.first)
        let assertion = JWTAssertion(issuer: v["iss"]?.stringValue ?? "", audience: v["aud"]?.stringValue ?? "", scope: v["scope"]?.stringValue)
        let token = try assertion.signed(privateKeyPEM: pem.replacing("\n", with: "\\n"), nowMs: Int64(v["now"]?.doubleValue ?? 0) * 1000)
        #expect(token == v["token"]?.stringValue)
    }

    @Test func aKeyThatIsNotRSAIsAClearError() {
        let assertion = JWTAssertion(issuer: "a", audience: "b")
        #expect(throws: JWTAssertion.Failure.self) { try assertion.signed(privateKeyPEM: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----", nowMs: 0) }
    }
}
