import CarDefinition
import Foundation
import MappingDSL

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

    /// Milliseconds to wait from a header an API sets for retries: a time to try again
    /// (`epoch_seconds`, `epoch_ms`; a time passed is no wait) or a wait (`seconds`). Nil when
    /// the value is not a non-negative number.
    static func delayMs(_ value: String, format: RetryDelayFrom.Format, nowMs: Int64) -> Int64? {
        guard let number = Double(value.trimmingCharacters(in: .whitespaces)), number.isFinite, number >= 0 else { return nil }
        let ms = format == .epochMs ? number : number * 1000
        // Past any real date (year 2286 in ms): not a time or a wait this API means.
        guard ms < 1e16 else { return nil }
        switch format {
        case .seconds: return Int64(ms.rounded(.up))
        case .epochSeconds, .epochMs: return max(0, Int64(ms.rounded(.up)) - nowMs)
        }
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
