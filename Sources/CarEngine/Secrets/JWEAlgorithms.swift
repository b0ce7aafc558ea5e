import CarDefinition
import Crypto
import MappingDSL
import _CryptoExtras

/// A JWE content encryption algorithm (`enc`, RFC 7518 §5).
enum ContentEncryption {
    /// AES GCM with a key of `bits` (A128GCM, A192GCM, A256GCM).
    case gcm(bits: Int)
    /// AES CBC with HMAC SHA-2 (A128CBC-HS256, A192CBC-HS384, A256CBC-HS512); `bits` is the
    /// AES key size, the content key is twice as long.
    case cbcHMAC(bits: Int)

    init?(_ enc: String) {
        switch enc {
        case "A128GCM": self = .gcm(bits: 128)
        case "A192GCM": self = .gcm(bits: 192)
        case "A256GCM": self = .gcm(bits: 256)
        case "A128CBC-HS256": self = .cbcHMAC(bits: 128)
        case "A192CBC-HS384": self = .cbcHMAC(bits: 192)
        case "A256CBC-HS512": self = .cbcHMAC(bits: 256)
        default: return nil
        }
    }

    static let supported = ["A128GCM", "A192GCM", "A256GCM", "A128CBC-HS256", "A192CBC-HS384", "A256CBC-HS512"]

    /// The bytes of the content encryption key.
    var keyLength: Int {
        switch self {
        case .gcm(let bits): bits / 8
        case .cbcHMAC(let bits): bits / 4
        }
    }

    /// Checks the tag, then decrypts. `aad` is the ASCII of the encoded protected header.
    func decrypt(key cek: [UInt8], iv: [UInt8], ciphertext: [UInt8], tag: [UInt8], aad: [UInt8], enc: String) throws(JWEError) -> [UInt8] {
        guard cek.count == keyLength else { throw JWEError.decryptionFailed }
        switch self {
        case .gcm:
            guard iv.count == 12 else { throw JWEError("the token's IV has \(iv.count) bytes; \(enc) needs 12") }
            guard tag.count == 16 else { throw JWEError("the token's tag has \(tag.count) bytes; \(enc) needs 16") }
            do {
                let box = try AES.GCM.SealedBox(nonce: AES.GCM.Nonce(data: iv), ciphertext: ciphertext, tag: tag)
                return Array(try AES.GCM.open(box, using: SymmetricKey(data: cek), authenticating: aad))
            } catch {
                throw JWEError.decryptionFailed
            }
        case .cbcHMAC(let bits):
            // RFC 7518 §5.2.2.2: MAC_KEY ‖ ENC_KEY; the tag is the first half of
            // HMAC(MAC_KEY, A ‖ IV ‖ E ‖ AL), AL the bit length of A as 64-bit big-endian.
            let half = cek.count / 2
            guard iv.count == 16 else { throw JWEError("the token's IV has \(iv.count) bytes; \(enc) needs 16") }
            guard tag.count == half else { throw JWEError("the token's tag has \(tag.count) bytes; \(enc) needs \(half)") }
            let macKey = SymmetricKey(data: cek[0..<half])
            let bitLength = UInt64(aad.count) * 8
            let al = (0..<8).map { UInt8(truncatingIfNeeded: bitLength >> (56 - 8 * UInt64($0))) }
            let input = aad + iv + ciphertext + al
            let mac: [UInt8]
            switch bits {
            case 128: mac = HMAC<Crypto.SHA256>.authenticationCode(for: input, using: macKey).withUnsafeBytes { Array($0) }
            case 192: mac = HMAC<Crypto.SHA384>.authenticationCode(for: input, using: macKey).withUnsafeBytes { Array($0) }
            default: mac = HMAC<Crypto.SHA512>.authenticationCode(for: input, using: macKey).withUnsafeBytes { Array($0) }
            }
            guard Self.constantTimeEqual(Array(mac[0..<half]), tag) else { throw JWEError.decryptionFailed }
            do {
                return Array(try AES._CBC.decrypt(ciphertext, using: SymmetricKey(data: cek[half...]), iv: AES._CBC.IV(ivBytes: iv)))
            } catch {
                throw JWEError.decryptionFailed
            }
        }
    }

    /// Equal bytes, compared in a time that depends on the length only.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var diff: UInt8 = 0
        for i in a.indices { diff |= a[i] ^ b[i] }
        return diff == 0
    }
}

/// A JWE key management algorithm (`alg`, RFC 7518 §4).
enum KeyManagement {
    case rsaOAEP
    case rsaOAEP256
    /// AES Key Wrap with a key of `bits` (A128KW, A192KW, A256KW).
    case aesKeyWrap(bits: Int)
    /// AES GCM key encryption with a key of `bits` (A128GCMKW, A192GCMKW, A256GCMKW; RFC 7518
    /// §4.7): the header's `iv` and `tag`.
    case aesGCMKeyWrap(bits: Int)
    case direct
    /// ECDH-ES with Concat KDF; `wrapBits` is the AES Key Wrap size of ECDH-ES+AxxxKW, `nil`
    /// for direct key agreement.
    case ecdhES(wrapBits: Int?)

    init?(_ alg: String) {
        switch alg {
        case "RSA-OAEP": self = .rsaOAEP
        case "RSA-OAEP-256": self = .rsaOAEP256
        case "A128KW": self = .aesKeyWrap(bits: 128)
        case "A192KW": self = .aesKeyWrap(bits: 192)
        case "A256KW": self = .aesKeyWrap(bits: 256)
        case "A128GCMKW": self = .aesGCMKeyWrap(bits: 128)
        case "A192GCMKW": self = .aesGCMKeyWrap(bits: 192)
        case "A256GCMKW": self = .aesGCMKeyWrap(bits: 256)
        case "dir": self = .direct
        case "ECDH-ES": self = .ecdhES(wrapBits: nil)
        case "ECDH-ES+A128KW": self = .ecdhES(wrapBits: 128)
        case "ECDH-ES+A192KW": self = .ecdhES(wrapBits: 192)
        case "ECDH-ES+A256KW": self = .ecdhES(wrapBits: 256)
        default: return nil
        }
    }

    static let supported = [
        "RSA-OAEP", "RSA-OAEP-256", "A128KW", "A192KW", "A256KW", "A128GCMKW", "A192GCMKW", "A256GCMKW", "dir", "ECDH-ES", "ECDH-ES+A128KW",
        "ECDH-ES+A192KW", "ECDH-ES+A256KW",
    ]

    /// The key type the algorithm needs.
    var keyType: String {
        switch self {
        case .rsaOAEP, .rsaOAEP256: "RSA"
        case .aesKeyWrap, .aesGCMKeyWrap, .direct: "oct"
        case .ecdhES: "EC"
        }
    }

    /// The content encryption key of a token.
    func contentKey(_ header: JWEHeader, key: JWK, encryptedKey: [UInt8], length: Int) throws(JWEError) -> [UInt8] {
        switch (self, key) {
        case (.rsaOAEP, .rsa(let rsa)), (.rsaOAEP256, .rsa(let rsa)):
            guard encryptedKey.count * 8 == rsa.keySizeInBits else {
                throw JWEError("the token's encrypted key has \(encryptedKey.count) bytes; the RSA key needs \(rsa.keySizeInBits / 8)")
            }
            do {
                let padding: _RSA.Encryption.Padding = self.isOAEP256 ? .PKCS1_OAEP_SHA256 : .PKCS1_OAEP
                return Array(try rsa.decrypt(encryptedKey, padding: padding))
            } catch {
                throw JWEError.decryptionFailed
            }
        case (.aesKeyWrap(let bits), .octet(let k)):
            guard k.count * 8 == bits else { throw JWEError("the oct key has \(k.count * 8) bits; \(header.alg) needs \(bits)") }
            return try Self.unwrap(encryptedKey, kek: k)
        case (.aesGCMKeyWrap(let bits), .octet(let k)):
            guard k.count * 8 == bits else { throw JWEError("the oct key has \(k.count * 8) bits; \(header.alg) needs \(bits)") }
            guard let iv = header.keyIV, let tag = header.keyTag else {
                throw JWEError("the header has no iv and tag; \(header.alg) needs them")
            }
            guard iv.count == 12, tag.count == 16 else { throw JWEError("the header's iv must have 12 bytes and its tag 16") }
            do {
                let box = try AES.GCM.SealedBox(nonce: AES.GCM.Nonce(data: iv), ciphertext: encryptedKey, tag: tag)
                return Array(try AES.GCM.open(box, using: SymmetricKey(data: k)))
            } catch {
                throw JWEError.decryptionFailed
            }
        case (.direct, .octet(let k)):
            guard encryptedKey.isEmpty else { throw JWEError("the token has an encrypted key; alg dir has none") }
            guard k.count == length else { throw JWEError("the oct key has \(k.count * 8) bits; enc \(header.enc) needs \(length * 8)") }
            return k
        case (.ecdhES(let wrapBits), .ec(let ec)):
            guard let epk = header.epk else { throw JWEError("the header has no epk; \(header.alg) needs one") }
            let z = try ec.sharedSecret(epk: epk)
            guard let wrapBits else {
                guard encryptedKey.isEmpty else { throw JWEError("the token has an encrypted key; alg ECDH-ES has none") }
                return Self.concatKDF(z: z, bits: length * 8, algorithmID: header.enc, apu: header.apu, apv: header.apv)
            }
            let kek = Self.concatKDF(z: z, bits: wrapBits, algorithmID: header.alg, apu: header.apu, apv: header.apv)
            return try Self.unwrap(encryptedKey, kek: kek)
        default:
            throw JWEError("the key is an \(key.keyType) key; alg \(header.alg) needs an \(keyType) key")
        }
    }

    private var isOAEP256: Bool {
        if case .rsaOAEP256 = self { return true }
        return false
    }

    /// AES Key Wrap (RFC 3394) unwrapping.
    static func unwrap(_ wrapped: [UInt8], kek: [UInt8]) throws(JWEError) -> [UInt8] {
        guard wrapped.count >= 24, wrapped.count % 8 == 0 else {
            throw JWEError("the token's encrypted key has \(wrapped.count) bytes; AES Key Wrap gives a multiple of 8, at least 24")
        }
        do {
            return try AES.KeyWrap.unwrap(wrapped, using: SymmetricKey(data: kek)).withUnsafeBytes { Array($0) }
        } catch {
            throw JWEError.decryptionFailed
        }
    }

    /// The Concat KDF of NIST SP 800-56A §5.8.1 with SHA-256, as RFC 7518 §4.6.2 uses it:
    /// OtherInfo = AlgorithmID ‖ PartyUInfo ‖ PartyVInfo (each length-prefixed) ‖ keydatalen.
    static func concatKDF(z: [UInt8], bits: Int, algorithmID: String, apu: [UInt8], apv: [UInt8]) -> [UInt8] {
        func prefixed(_ bytes: [UInt8]) -> [UInt8] { bigEndian32(bytes.count) + bytes }
        let otherInfo = prefixed(Array(algorithmID.utf8)) + prefixed(apu) + prefixed(apv) + bigEndian32(bits)
        let length = bits / 8
        var out: [UInt8] = []
        var counter = 1
        while out.count < length {
            out += Crypto.SHA256.hash(data: bigEndian32(counter) + z + otherInfo).withUnsafeBytes { Array($0) }
            counter += 1
        }
        return Array(out[0..<length])
    }

    static func bigEndian32(_ n: Int) -> [UInt8] {
        let v = UInt32(truncatingIfNeeded: n)
        return [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)]
    }
}
