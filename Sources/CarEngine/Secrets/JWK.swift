import CarDefinition
import Crypto
import MappingDSL
import _CryptoExtras

/// Why a JWE token or a JWK cannot be used. The reason never holds key material or plaintext.
public struct JWEError: Error, Sendable, Equatable, CustomStringConvertible {
    public var reason: String

    public init(_ reason: String) {
        self.reason = reason
    }

    public var description: String { reason }

    /// The one reason given for every failure that depends on secret data (a wrong key, an
    /// altered token): no detail that could serve as a padding or MAC oracle.
    static let decryptionFailed = JWEError("decryption failed (a wrong key or an altered token)")
}

/// A private JSON Web Key (RFC 7517, RFC 7518 §6) as CP4S mounts it at `.jwk/key.jwk` and
/// jwcrypto's `JWK.from_json` reads it: RSA (n, e, d and p, q when present), oct (k), or EC
/// on P-256, P-384 or P-521 (crv, x, y, d).
enum JWK {
    case rsa(_RSA.Encryption.PrivateKey)
    case octet([UInt8])
    case ec(ECKey)

    /// The key's `kty`.
    var keyType: String {
        switch self {
        case .rsa: "RSA"
        case .octet: "oct"
        case .ec: "EC"
        }
    }

    /// Parses a JWK from its JSON text.
    static func parse(_ text: String) throws(JWEError) -> JWK {
        let json: JSON
        do { json = try JSONParser.parse(text) } catch { throw JWEError("the key is not JSON (\(error.message))") }
        return try parse(json: json)
    }

    /// Reads a JWK from its JSON value.
    static func parse(json: JSON) throws(JWEError) -> JWK {
        guard json.objectValue != nil else { throw JWEError("the key is not a JSON object") }
        if json["keys"] != nil { throw JWEError("the key is a JWK set; a single JWK is expected") }
        guard let kty = json["kty"]?.stringValue else { throw JWEError("the key has no kty") }
        switch kty {
        case "RSA": return .rsa(try rsaKey(json))
        case "oct":
            let k = try field(json, "k", of: "oct")
            guard !k.isEmpty else { throw JWEError("the oct key's k is empty") }
            return .octet(k)
        case "EC": return .ec(try ECKey(jwk: json))
        default: throw JWEError("the key's kty '\(kty)' is not supported (RSA, oct or EC)")
        }
    }

    private static func rsaKey(_ json: JSON) throws(JWEError) -> _RSA.Encryption.PrivateKey {
        let n = try field(json, "n", of: "RSA")
        let e = try field(json, "e", of: "RSA")
        guard json["d"] != nil else { throw JWEError("the RSA key is a public key (it has no d)") }
        let d = try field(json, "d", of: "RSA")
        do {
            if json["p"] != nil || json["q"] != nil {
                // dp, dq and qi follow from n, e, d, p and q; BoringSSL computes them.
                return try _RSA.Encryption.PrivateKey(
                    n: n, e: e, d: d, p: try field(json, "p", of: "RSA"), q: try field(json, "q", of: "RSA"))
            }
            return try _RSA.Encryption.PrivateKey._createFromNumbers(n: n, e: e, d: d)
        } catch let error as JWEError {
            throw error
        } catch {
            throw JWEError("the RSA key is not valid (its parts do not fit together, or it is under 2048 bits)")
        }
    }

    /// The base64url member `name` of a key of type `kty`.
    static func field(_ json: JSON, _ name: String, of kty: String) throws(JWEError) -> [UInt8] {
        guard let text = json[name]?.stringValue else { throw JWEError("the \(kty) key has no \(name)") }
        guard let bytes = Base64.decodeURLSafe(text) else { throw JWEError("the \(kty) key's \(name) is not base64url") }
        return bytes
    }
}

/// An EC private key for ECDH-ES (RFC 7518 §4.6).
enum ECKey {
    case p256(P256.KeyAgreement.PrivateKey)
    case p384(P384.KeyAgreement.PrivateKey)
    case p521(P521.KeyAgreement.PrivateKey)

    var curve: String {
        switch self {
        case .p256: "P-256"
        case .p384: "P-384"
        case .p521: "P-521"
        }
    }

    /// The bytes of a coordinate (and of d) on a curve.
    static func coordinateSize(_ curve: String) -> Int? {
        switch curve {
        case "P-256": 32
        case "P-384": 48
        case "P-521": 66
        default: nil
        }
    }

    init(jwk json: JSON) throws(JWEError) {
        guard let crv = json["crv"]?.stringValue else { throw JWEError("the EC key has no crv") }
        guard let size = Self.coordinateSize(crv) else {
            throw JWEError("the EC key's curve '\(crv)' is not supported (P-256, P-384 or P-521)")
        }
        guard json["d"] != nil else { throw JWEError("the EC key is a public key (it has no d)") }
        let d = try JWK.field(json, "d", of: "EC")
        let point = try Self.point(json, size: size, of: "EC key")
        guard d.count == size else { throw JWEError("the EC key's d has \(d.count) bytes; \(crv) needs \(size)") }
        do {
            switch crv {
            case "P-256": self = .p256(try P256.KeyAgreement.PrivateKey(rawRepresentation: d))
            case "P-384": self = .p384(try P384.KeyAgreement.PrivateKey(rawRepresentation: d))
            default: self = .p521(try P521.KeyAgreement.PrivateKey(rawRepresentation: d))
            }
        } catch {
            throw JWEError("the EC key's d is not a valid \(crv) private key")
        }
        guard publicPoint == point else { throw JWEError("the EC key's x and y are not the public point of its d") }
    }

    /// x ‖ y of the public key.
    private var publicPoint: [UInt8] {
        switch self {
        case .p256(let k): Array(k.publicKey.rawRepresentation)
        case .p384(let k): Array(k.publicKey.rawRepresentation)
        case .p521(let k): Array(k.publicKey.rawRepresentation)
        }
    }

    /// x ‖ y of a JWK's public point, each coordinate checked for the curve's size.
    static func point(_ json: JSON, size: Int, of what: String) throws(JWEError) -> [UInt8] {
        let x = try JWK.field(json, "x", of: what)
        let y = try JWK.field(json, "y", of: what)
        guard x.count == size, y.count == size else { throw JWEError("the \(what)'s x and y must have \(size) bytes each") }
        return x + y
    }

    /// The ECDH shared secret Z with an ephemeral public key (`epk`, a JWK of the same curve).
    func sharedSecret(epk: JSON) throws(JWEError) -> [UInt8] {
        guard epk["kty"]?.stringValue == "EC" else { throw JWEError("the header's epk is not an EC key") }
        guard let crv = epk["crv"]?.stringValue, crv == curve else {
            throw JWEError("the header's epk is on curve '\(epk["crv"]?.stringValue ?? "")'; the key is on \(curve)")
        }
        guard let size = Self.coordinateSize(crv) else { throw JWEError("the header's epk curve is not supported") }
        let raw = try Self.point(epk, size: size, of: "header's epk")
        do {
            // The public key initialisers check that the point is on the curve.
            switch self {
            case .p256(let k):
                return try Self.bytes(k.sharedSecretFromKeyAgreement(with: P256.KeyAgreement.PublicKey(rawRepresentation: raw)))
            case .p384(let k):
                return try Self.bytes(k.sharedSecretFromKeyAgreement(with: P384.KeyAgreement.PublicKey(rawRepresentation: raw)))
            case .p521(let k):
                return try Self.bytes(k.sharedSecretFromKeyAgreement(with: P521.KeyAgreement.PublicKey(rawRepresentation: raw)))
            }
        } catch {
            throw JWEError("the header's epk is not a point of \(curve)")
        }
    }

    private static func bytes(_ secret: SharedSecret) -> [UInt8] {
        secret.withUnsafeBytes { Array($0) }
    }
}
