import Foundation
import FoundationXML
import MappingDSL

/// Limits how many requests are in flight at once (FIFO).
actor AsyncLimiter {
    private var available: Int
    private var waiters: [CheckedContinuation<Void, Never>] = []
    private(set) var inFlight = 0
    private(set) var maxInFlight = 0

    init(permits: Int) { available = max(1, permits) }

    func acquire() async {
        if available > 0 {
            available -= 1
        } else {
            await withCheckedContinuation { waiters.append($0) }
        }
        inFlight += 1
        maxInFlight = max(maxInFlight, inFlight)
    }

    func release() {
        inFlight -= 1
        if waiters.isEmpty {
            available += 1
        } else {
            waiters.removeFirst().resume()
        }
    }
}

/// A token bucket: at most `rate` requests a second on average, `burst` at once.
actor RateLimiter {
    private let rate: Double
    private let burst: Double
    private var tokens: Double
    private var last: ContinuousClock.Instant

    init(requestsPerSecond: Double, burst: Int) {
        rate = requestsPerSecond
        self.burst = Double(max(1, burst))
        tokens = self.burst
        last = .now
    }

    func acquire() async throws {
        while true {
            let now = ContinuousClock.now
            let elapsed = now - last
            last = now
            tokens = min(burst, tokens + (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18) * rate)
            if tokens >= 1 {
                tokens -= 1
                return
            }
            let wait = (1 - tokens) / rate
            try await Task.sleep(for: .milliseconds(Int64(wait * 1000) + 1))
        }
    }
}

/// Parsing of HTTP header values the client acts on.
enum HeaderValues {
    /// The URL of the `rel` relation of an RFC 8288 Link header.
    static func link(_ header: String, rel: String) -> String? {
        for part in header.split(separator: ",") {
            let pieces = part.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            guard let first = pieces.first, first.hasPrefix("<"), first.hasSuffix(">") else { continue }
            for p in pieces.dropFirst() {
                let kv = p.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                guard kv.count == 2, kv[0].lowercased() == "rel" else { continue }
                let rels = kv[1].trimmingCharacters(in: CharacterSet(charactersIn: "\"")).split(separator: " ")
                if rels.contains(where: { $0.lowercased() == rel.lowercased() }) {
                    return String(first.dropFirst().dropLast())
                }
            }
        }
        return nil
    }

    /// Milliseconds to wait from a Retry-After header (seconds or an HTTP date).
    static func retryAfterMs(_ value: String, nowMs: Int64) -> Int64? {
        let t = value.trimmingCharacters(in: .whitespaces)
        if let s = Int64(t) { return max(0, s * 1000) }
        // IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
        let parts = t.split(separator: " ")
        guard parts.count == 6, parts[5] == "GMT" else { return nil }
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        guard let day = Int(parts[1]), let m = months.firstIndex(of: String(parts[2])), let year = Int(parts[3]) else { return nil }
        let time = parts[4].split(separator: ":").compactMap { Int($0) }
        guard time.count == 3 else { return nil }
        let iso = String(format: "%04d-%02d-%02dT%02d:%02d:%02dZ", year, m + 1, day, time[0], time[1], time[2])
        guard let at = ISO8601.parse(iso) else { return nil }
        return max(0, at - nowMs)
    }

    /// `name=value` of a Set-Cookie header with the given cookie name.
    static func cookie(_ headers: [String], named name: String) -> String? {
        for h in headers {
            let pair = h.split(separator: ";", maxSplits: 1).first.map(String.init) ?? h
            let kv = pair.split(separator: "=", maxSplits: 1)
            if kv.count == 2, kv[0].trimmingCharacters(in: .whitespaces) == name {
                return name + "=" + kv[1].trimmingCharacters(in: .whitespaces)
            }
        }
        return nil
    }
}

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

    static func formEncode(_ pairs: [(String, String)]) -> String {
        pairs.map { encodeQuery($0.0) + "=" + encodeQuery($0.1) }.joined(separator: "&")
    }
}

/// XML responses as JSON: an element becomes an object with `@attribute` members, child
/// elements by name (repeated names become lists) and `#text`; an element with only text
/// becomes that text. The document is `{root-name: value}`.
final class XMLToJSON: NSObject, XMLParserDelegate {
    private final class Node {
        var name: String
        var attributes: [(String, String)]
        var children: [(String, JSON)] = []
        var text = ""
        init(name: String, attributes: [(String, String)]) {
            self.name = name
            self.attributes = attributes
        }
    }

    private var stack: [Node] = []
    private var result: JSON?

    static func convert(_ bytes: [UInt8]) -> JSON? {
        let parser = XMLParser(data: Data(bytes))
        let delegate = XMLToJSON()
        parser.delegate = delegate
        parser.shouldResolveExternalEntities = false
        guard parser.parse() else { return nil }
        return delegate.result
    }

    func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName qName: String?,
                attributes attributeDict: [String: String] = [:])
    {
        stack.append(Node(name: elementName, attributes: attributeDict.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }))
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        stack.last?.text += string
    }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName qName: String?) {
        guard let node = stack.popLast() else { return }
        let text = node.text.trimmingCharacters(in: .whitespacesAndNewlines)
        let value: JSON
        if node.attributes.isEmpty && node.children.isEmpty {
            value = .string(text)
        } else {
            var o = JSONObject()
            for (k, v) in node.attributes { o["@" + k] = .string(v) }
            var order: [String] = []
            var grouped: [String: [JSON]] = [:]
            for (k, v) in node.children {
                if grouped[k] == nil { order.append(k) }
                grouped[k, default: []].append(v)
            }
            for k in order {
                let values = grouped[k] ?? []
                o[k] = values.count == 1 ? values[0] : .array(values)
            }
            if !text.isEmpty { o["#text"] = .string(text) }
            value = .object(o)
        }
        if let parent = stack.last {
            parent.children.append((node.name, value))
        } else {
            result = [node.name: value]
        }
    }
}
