/// One step of a raw answer: what a datasource that misbehaves on the wire does.
public enum RawStep: Sendable {
    /// Writes these bytes as they are.
    case send([UInt8])
    /// Waits this long.
    case pause(ms: Int)
    /// Closes the connection (FIN): what is missing stays missing.
    case close
    /// Resets the connection (RST).
    case reset
}

/// Answers that break HTTP the ways real datasources do, for the tests of every connector:
/// `HTTPServer { _ in Misbehaviour.truncated(...) }`.
public enum Misbehaviour {
    static func head(_ status: Int, _ headers: [(name: String, value: String)]) -> [UInt8] {
        var out = Array("HTTP/1.1 \(status) \(Reason.phrase(status))\r\n".utf8)
        for (n, v) in headers { out += Array("\(n): \(v)\r\n".utf8) }
        return out + [13, 10]
    }

    static func raw(_ steps: [RawStep]) -> HTTPServerResponse {
        var r = HTTPServerResponse()
        r.raw = steps
        return r
    }

    /// A body cut off: `Content-Length` says `declaredLength`, the server sends `body` and closes.
    public static func truncated(_ body: String, declaredLength: Int) -> HTTPServerResponse {
        raw([.send(head(200, [("Content-Type", "application/json"), ("Content-Length", String(declaredLength))]) + Array(body.utf8)), .close])
    }

    /// The head and part of the body, then a connection reset.
    public static func resetMidBody(_ body: String, declaredLength: Int) -> HTTPServerResponse {
        raw([.send(head(200, [("Content-Type", "application/json"), ("Content-Length", String(declaredLength))]) + Array(body.utf8)),
             .pause(ms: 50), .reset])
    }

    /// Chunked encoding that sends these chunks and then stops: no last chunk, the connection closes.
    public static func chunkedThatStops(_ chunks: [String]) -> HTTPServerResponse {
        var bytes = head(200, [("Content-Type", "application/json"), ("Transfer-Encoding", "chunked")])
        for c in chunks { bytes += Array((String(c.utf8.count, radix: 16) + "\r\n" + c + "\r\n").utf8) }
        return raw([.send(bytes), .close])
    }

    /// Headers that declare `declaredLength` bytes, a few bytes, then silence until the
    /// client gives up (for a size limit checked before anything is read).
    public static func declaresLength(_ declaredLength: Int64, thenSends body: String, holdMs: Int = 3000) -> HTTPServerResponse {
        raw([.send(head(200, [("Content-Type", "application/json"), ("Content-Length", String(declaredLength))]) + Array(body.utf8)),
             .pause(ms: holdMs), .close])
    }

    /// A complete, valid answer sent one byte every `everyMs` milliseconds.
    public static func trickle(_ body: String, everyMs: Int = 1000) -> HTTPServerResponse {
        let bytes = Array(body.utf8)
        var steps: [RawStep] = [.send(head(200, [("Content-Type", "application/json"), ("Content-Length", String(bytes.count))]))]
        for b in bytes { steps += [.send([b]), .pause(ms: everyMs)] }
        return raw(steps)
    }

    /// A JSON answer whose body bytes are given exactly (invalid UTF-8, say).
    public static func bytes(_ body: [UInt8], status: Int = 200, contentType: String = "application/json") -> HTTPServerResponse {
        HTTPServerResponse(status: status, headers: [("Content-Type", contentType)], body: body)
    }

    /// A redirect.
    public static func redirect(to location: String, status: Int = 302) -> HTTPServerResponse {
        HTTPServerResponse(status: status, headers: [("Location", location)])
    }
}
