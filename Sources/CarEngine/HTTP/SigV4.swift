import Crypto
import MappingDSL

/// AWS Signature Version 4, as botocore's `SigV4Auth` computes it (header auth): the headers to
/// add to a request as it goes on the wire. Tested against vectors botocore made
/// (scripts/gen-sigv4-vectors.py).
public struct SigV4Signer: Sendable {
    public var accessKeyID: String
    public var secretAccessKey: String
    public var sessionToken: String?
    public var region: String
    public var service: String

    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil, region: String, service: String) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
        self.region = region
        self.service = service
    }

    /// Headers botocore does not sign.
    static let unsigned: Set<String> = ["expect", "transfer-encoding", "user-agent", "x-amzn-trace-id", "authorization"]

    /// The headers to add (`X-Amz-Date`, `X-Amz-Security-Token`, `Authorization`) to a request
    /// with this method, URL (as sent: path and query percent-encoded), headers and body, at
    /// `timeMs` (epoch ms).
    public func headers(method: String, url: String, headers: [(name: String, value: String)], body: [UInt8], timeMs: Int64) -> [(name: String, value: String)] {
        let timestamp = Self.timestamp(timeMs)
        let date = String(timestamp.prefix(8))
        var added: [(name: String, value: String)] = [("X-Amz-Date", timestamp)]
        if let sessionToken, !sessionToken.isEmpty { added.append(("X-Amz-Security-Token", sessionToken)) }
        let canonical = canonicalRequest(method: method, url: url, headers: headers + added, body: body)
        let scope = "\(date)/\(region)/\(service)/aws4_request"
        let stringToSign = "AWS4-HMAC-SHA256\n\(timestamp)\n\(scope)\n" + Self.hex(Crypto.SHA256.hash(data: Array(canonical.request.utf8)))
        var key = SymmetricKey(data: Array(("AWS4" + secretAccessKey).utf8))
        for part in [date, region, service, "aws4_request"] {
            key = SymmetricKey(data: Array(HMAC<Crypto.SHA256>.authenticationCode(for: Array(part.utf8), using: key)))
        }
        let signature = Self.hex(HMAC<Crypto.SHA256>.authenticationCode(for: Array(stringToSign.utf8), using: key))
        added.append(("Authorization", "AWS4-HMAC-SHA256 Credential=\(accessKeyID)/\(scope), SignedHeaders=\(canonical.signedHeaders), Signature=\(signature)"))
        return added
    }

    /// The canonical request and its signed header names.
    func canonicalRequest(method: String, url: String, headers: [(name: String, value: String)], body: [UInt8]) -> (request: String, signedHeaders: String) {
        let parts = URLParts(url)
        var byName: [String: [String]] = [:]
        for h in headers {
            let name = h.name.lowercased()
            guard !Self.unsigned.contains(name) else { continue }
            byName[name, default: []].append(h.value.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }).joined(separator: " "))
        }
        if byName["host"] == nil { byName["host"] = [parts.canonicalHost] }
        let names = byName.keys.sorted()
        let canonicalHeaders = names.map { "\($0):\(byName[$0]?.joined(separator: ",") ?? "")" }.joined(separator: "\n")
        let signed = names.joined(separator: ";")
        let request = [
            method.uppercased(), Self.quote(Self.removeDotSegments(parts.path)), parts.canonicalQuery, canonicalHeaders + "\n", signed,
            Self.hex(Crypto.SHA256.hash(data: body)),
        ].joined(separator: "\n")
        return (request, signed)
    }

    /// `20261101T100000Z`.
    static func timestamp(_ ms: Int64) -> String {
        let iso = ISO8601.format(ms)  // 2026-11-01T10:00:00.000Z
        let digits = iso.prefix(19).filter { $0 != "-" && $0 != ":" }
        return digits + "Z"
    }

    static func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
        let chars = Array("0123456789abcdef")
        var out = ""
        for b in digest {
            out.append(chars[Int(b >> 4)])
            out.append(chars[Int(b & 0xF)])
        }
        return out
    }

    /// Python's `urllib.parse.quote(path, safe='/~')`: everything but letters, digits, `_.-~`
    /// and `/` percent-encoded (a `%` of the wire form too: AWS signs the path encoded twice).
    static func quote(_ path: String) -> String {
        var out = ""
        for b in path.utf8 {
            switch b {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "-"), UInt8(ascii: "~"), UInt8(ascii: "/"):
                out.append(Character(Unicode.Scalar(b)))
            default:
                out += "%" + String(b, radix: 16, uppercase: true).leftPadded(2)
            }
        }
        return out
    }

    /// RFC 3986 remove_dot_segments, as botocore's normalize_url_path; an empty path is `/`.
    static func removeDotSegments(_ path: String) -> String {
        guard !path.isEmpty else { return "/" }
        var output: [Substring] = []
        for segment in path.split(separator: "/", omittingEmptySubsequences: false).dropFirst() {
            switch segment {
            case ".": continue
            case "..": if !output.isEmpty { output.removeLast() }
            default: output.append(segment)
            }
        }
        let joined = "/" + output.joined(separator: "/")
        return path.hasSuffix("/") && !joined.hasSuffix("/") ? joined + "/" : joined
    }

    /// What the signer needs of a URL: scheme, host and port, path and query as sent.
    struct URLParts {
        var scheme = ""
        var host = ""
        var port: String?
        var path = ""
        var query = ""

        init(_ url: String) {
            var rest = Substring(url)
            if let r = rest.range(of: "://") {
                scheme = rest[..<r.lowerBound].lowercased()
                rest = rest[r.upperBound...]
            }
            let end = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? rest.endIndex
            var authority = rest[..<end]
            if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
            if let colon = authority.lastIndex(of: ":"), !authority.hasSuffix("]") {
                host = String(authority[..<colon])
                port = String(authority[authority.index(after: colon)...])
            } else {
                host = String(authority)
            }
            rest = rest[end...]
            if let hash = rest.firstIndex(of: "#") { rest = rest[..<hash] }
            if let q = rest.firstIndex(of: "?") {
                path = String(rest[..<q])
                query = String(rest[rest.index(after: q)...])
            } else {
                path = String(rest)
            }
        }

        /// The host with its port unless it is the scheme's default.
        var canonicalHost: String {
            guard let port, !(scheme == "https" && port == "443"), !(scheme == "http" && port == "80") else { return host }
            return host + ":" + port
        }

        /// The query's pairs (as sent) sorted by name, then value.
        var canonicalQuery: String {
            guard !query.isEmpty else { return "" }
            let pairs = query.split(separator: "&", omittingEmptySubsequences: false).map { pair -> (String, String) in
                let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                return (String(kv[0]), kv.count > 1 ? String(kv[1]) : "")
            }
            return pairs.sorted { $0.0 != $1.0 ? $0.0.unicodeScalars.lexicographicallyPrecedes($1.0.unicodeScalars) : $0.1.unicodeScalars.lexicographicallyPrecedes($1.1.unicodeScalars) }
                .map { "\($0.0)=\($0.1)" }.joined(separator: "&")
        }
    }
}
