import Crypto
import MappingDSL
import _CryptoExtras

/// A JWT signed with RS256 (RFC 7515, 7519), as the assertion of an OAuth 2.0 JWT bearer grant
/// (RFC 7523) that Google's service accounts make: `{"alg":"RS256","typ":"JWT"}` and the claims
/// google-auth sends (iss, sub when given, scope, aud, iat, exp). Verified in the tests with
/// PyJWT.
public struct JWTAssertion: Sendable {
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    public var issuer: String
    public var subject: String?
    public var audience: String
    public var scope: String?
    /// Seconds the assertion lives (Google allows at most an hour).
    public var lifetime: Int64 = 3600

    public init(issuer: String, subject: String? = nil, audience: String, scope: String? = nil) {
        self.issuer = issuer
        self.subject = subject
        self.audience = audience
        self.scope = scope
    }

    /// The signed token at `nowMs`, with a PEM RSA private key (PKCS#1 or PKCS#8; `\n` written as
    /// the two characters backslash and n, as key files pasted into a form have it, is read as a
    /// line break).
    public func signed(privateKeyPEM: String, nowMs: Int64) throws(Failure) -> String {
        let pem = privateKeyPEM.contains("\\n") ? privateKeyPEM.replacing("\\n", with: "\n") : privateKeyPEM
        let key: _RSA.Signing.PrivateKey
        do { key = try _RSA.Signing.PrivateKey(pemRepresentation: pem) } catch {
            throw Failure(description: "the private key is not an RSA private key in PEM form")
        }
        let iat = nowMs / 1000
        var claims = JSONObject()
        claims["iss"] = .string(issuer)
        if let subject, !subject.isEmpty { claims["sub"] = .string(subject) }
        if let scope, !scope.isEmpty { claims["scope"] = .string(scope) }
        claims["aud"] = .string(audience)
        claims["iat"] = .int(iat)
        claims["exp"] = .int(iat + lifetime)
        let header = Self.base64URL(Array(#"{"alg":"RS256","typ":"JWT"}"#.utf8))
        let payload = Self.base64URL(JSONWriter().bytes(.object(claims)))
        let input = header + "." + payload
        let signature: _RSA.Signing.RSASignature
        do { signature = try key.signature(for: Array(input.utf8), padding: .insecurePKCS1v1_5) } catch {
            throw Failure(description: "the assertion could not be signed with the private key")
        }
        return input + "." + Self.base64URL(Array(signature.rawRepresentation))
    }

    /// Base64url without padding.
    static func base64URL(_ bytes: [UInt8]) -> String {
        var s = Base64.encode(bytes)
        while s.hasSuffix("=") { s.removeLast() }
        return s.replacing("+", with: "-").replacing("/", with: "_")
    }
}
