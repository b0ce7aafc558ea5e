import CarDefinition
import MappingDSL

/// The protected header of a JWE token, the members car reads.
struct JWEHeader {
    var alg: String
    var enc: String
    var zip: String?
    /// The ephemeral public key of ECDH-ES.
    var epk: JSON?
    var apu: [UInt8] = []
    var apv: [UInt8] = []
    /// The `iv` and `tag` of AES GCM key encryption.
    var keyIV: [UInt8]?
    var keyTag: [UInt8]?

    init(_ json: JSON) throws(JWEError) {
        guard json.objectValue != nil else { throw JWEError("the protected header is not a JSON object") }
        guard let alg = json["alg"]?.stringValue else { throw JWEError("the protected header has no alg") }
        guard let enc = json["enc"]?.stringValue else { throw JWEError("the protected header has no enc") }
        self.alg = alg
        self.enc = enc
        if let crit = json["crit"] {
            // car implements no header extension, so any critical one is refused (RFC 7516 §4.1.13).
            let names = crit.arrayValue?.compactMap(\.stringValue).joined(separator: ", ") ?? "?"
            throw JWEError("the token has critical header parameters car does not implement (crit: \(names))")
        }
        if let zip = json["zip"] {
            guard let z = zip.stringValue, z == "DEF" else { throw JWEError("the token's zip is not supported (only DEF)") }
            self.zip = z
        }
        epk = json["epk"]
        for name in ["apu", "apv", "iv", "tag"] {
            guard let value = json[name] else { continue }
            guard let text = value.stringValue, let bytes = Base64.decodeURLSafe(text) else {
                throw JWEError("the protected header's \(name) is not base64url")
            }
            switch name {
            case "apu": apu = bytes
            case "apv": apv = bytes
            case "iv": keyIV = bytes
            default: keyTag = bytes
            }
        }
    }
}

/// JWE compact serialization (RFC 7516 §7.1) decryption with the algorithms of RFC 7518 that
/// jwcrypto uses for CP4S secret files: `alg` RSA-OAEP, RSA-OAEP-256, A128KW, A192KW, A256KW,
/// A128GCMKW, A192GCMKW, A256GCMKW, dir, ECDH-ES, ECDH-ES+A128KW, ECDH-ES+A192KW,
/// ECDH-ES+A256KW; `enc` A128GCM, A192GCM, A256GCM, A128CBC-HS256, A192CBC-HS384,
/// A256CBC-HS512; `zip` DEF.
enum JWE {
    /// The largest plaintext a `zip: DEF` token may inflate to.
    static let maximumPlaintext = 1 << 20

    /// Whether text has the shape of a JWE compact token: five dot-separated base64url parts,
    /// the first one starting with `eyJ` (the encoding of `{"`).
    static func looksLikeCompact(_ text: some StringProtocol) -> Bool {
        let parts = text.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        return parts.count == 5 && text.hasPrefix("eyJ") && parts.allSatisfy { $0.allSatisfy(Base64.isURLSafe) }
    }

    /// Decrypts a compact token with a key. The tag is checked before anything is returned.
    static func decrypt(_ token: String, key: JWK) throws(JWEError) -> [UInt8] {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 5 else { throw JWEError("not a JWE compact token (\(parts.count) parts where there are 5)") }
        guard let headerBytes = Base64.decodeURLSafe(parts[0]) else { throw JWEError("the protected header is not base64url") }
        let headerJSON: JSON
        do { headerJSON = try JSONParser.parse(headerBytes) } catch {
            throw JWEError("the protected header is not JSON (\(error.message))")
        }
        let header = try JWEHeader(headerJSON)
        guard let management = KeyManagement(header.alg) else {
            throw JWEError("the token's alg '\(header.alg)' is not supported (\(KeyManagement.supported.joined(separator: ", ")))")
        }
        guard let content = ContentEncryption(header.enc) else {
            throw JWEError("the token's enc '\(header.enc)' is not supported (\(ContentEncryption.supported.joined(separator: ", ")))")
        }
        var decoded: [[UInt8]] = []
        for (part, name) in zip(parts.dropFirst(), ["encrypted key", "IV", "ciphertext", "tag"]) {
            guard let bytes = Base64.decodeURLSafe(part) else { throw JWEError("the token's \(name) is not base64url") }
            decoded.append(bytes)
        }
        let cek = try management.contentKey(header, key: key, encryptedKey: decoded[0], length: content.keyLength)
        let plaintext = try content.decrypt(
            key: cek, iv: decoded[1], ciphertext: decoded[2], tag: decoded[3],
            aad: Array(parts[0].utf8), enc: header.enc)
        guard header.zip != nil else { return plaintext }
        do {
            return try RawInflate.inflate(plaintext, limit: maximumPlaintext)
        } catch {
            throw JWEError("the token's compressed plaintext cannot be inflated (\(error.reason))")
        }
    }

    /// Decrypts a compact token to UTF-8 text.
    static func decryptText(_ token: String, key: JWK) throws(JWEError) -> String {
        let bytes = try decrypt(token, key: key)
        guard let text = String(validating: bytes, as: UTF8.self) else { throw JWEError("the plaintext is not UTF-8") }
        return text
    }
}
