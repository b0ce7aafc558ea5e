import CarDefinition
/// URL building.
enum URLs {
    /// Percent-encodes a query component, keeping unreserved characters and `,:/@`.
    static func encodeQuery(_ s: String) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        for c in s.utf8 {
            switch c {
            case 0x41...0x5A, 0x61...0x7A, 0x30...0x39, 0x2D, 0x2E, 0x5F, 0x7E, 0x2C, 0x3A, 0x2F, 0x40: out.append(c)
            default: out += [0x25, hex[Int(c >> 4)], hex[Int(c & 0xF)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func isAbsolute(_ s: String) -> Bool { s.hasPrefix("http://") || s.hasPrefix("https://") }

    /// `path` against `base`: absolute URLs stay, `/x` replaces the base's path after its own,
    /// anything else is appended.
    static func join(_ base: String, _ path: String) -> String {
        if isAbsolute(path) { return path }
        var b = base
        while b.hasSuffix("/") { b.removeLast() }
        return path.hasPrefix("/") ? b + path : b + "/" + path
    }

    /// A URL from a response (a next link) against the URL of the request.
    static func resolve(_ reference: String, against url: String) -> String {
        if isAbsolute(reference) { return reference }
        guard let schemeEnd = url.range(of: "://") else { return reference }
        let afterScheme = url[schemeEnd.upperBound...]
        let hostEnd = afterScheme.firstIndex(of: "/") ?? afterScheme.endIndex
        let origin = String(url[..<hostEnd])
        if reference.hasPrefix("/") { return origin + reference }
        if reference.hasPrefix("?") {
            let pathEnd = url.firstIndex(of: "?") ?? url.endIndex
            return String(url[..<pathEnd]) + reference
        }
        let pathEnd = url.firstIndex(of: "?") ?? url.endIndex
        let path = url[..<pathEnd]
        let dir = path.lastIndex(of: "/").map { String(path[...$0]) } ?? origin + "/"
        return dir + reference
    }

    /// The host of an http(s) URL (an IPv6 address in brackets), its port (the scheme's default
    /// when absent) and where the host is in the URL.
    static func authority(_ url: String) -> (host: String, port: Int, range: Range<String.Index>)? {
        let https = url.lowercased().hasPrefix("https://")
        guard https || url.lowercased().hasPrefix("http://"), let schemeEnd = url.range(of: "://") else { return nil }
        let rest = url[schemeEnd.upperBound...]
        let end = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        let authority = rest[..<end]
        let start = authority.lastIndex(of: "@").map { authority.index(after: $0) } ?? authority.startIndex
        let hostPort = authority[start...]
        var hostEnd = hostPort.endIndex
        if hostPort.hasPrefix("[") {
            guard let close = hostPort.firstIndex(of: "]") else { return nil }
            hostEnd = hostPort.index(after: close)
        } else if let colon = hostPort.firstIndex(of: ":") {
            hostEnd = colon
        }
        let host = hostPort[..<hostEnd]
        guard !host.isEmpty else { return nil }
        var port = https ? 443 : 80
        if hostEnd < hostPort.endIndex {
            guard let p = Int(hostPort[hostPort.index(after: hostEnd)...]), (1...65535).contains(p) else { return nil }
            port = p
        }
        return (String(host), port, hostPort.startIndex..<hostEnd)
    }

    /// Scheme, host and port: where credentials may go.
    static func origin(_ url: String) -> String? {
        guard let a = authority(url) else { return nil }
        let scheme = url.lowercased().hasPrefix("https://") ? "https" : "http"
        return "\(scheme)://\(a.host.lowercased()):\(a.port)"
    }

    /// Whether two URLs have the same origin (scheme, host and port).
    static func sameOrigin(_ a: String, _ b: String) -> Bool {
        guard let x = origin(a), let y = origin(b) else { return false }
        return x == y
    }

    static func formEncode(_ pairs: [(String, String)]) -> String {
        pairs.map { encodeQuery($0.0) + "=" + encodeQuery($0.1) }.joined(separator: "&")
    }
}
