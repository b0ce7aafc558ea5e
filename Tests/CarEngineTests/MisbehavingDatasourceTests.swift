import CarSimulators
import LoopbackHTTP
import Testing

@testable import CarDefinition
@testable import CarEngine
@testable import MappingDSL

/// A datasource that misbehaves in every way real ones do (docs/reliability.md).
enum DatasourceMisbehaviours {
    static let page1 = #"{"items": [{"id": 1}, {"id": 2}], "next": "#
    static let items = #"[{"id": 1}, {"id": 2}, {"id": 3}]"#

    /// An answer that echoes what it was sent, credentials and all, as some error pages do.
    static func echo(_ r: HTTPServerRequest, status: Int = 200, prefix: String = "") -> HTTPServerResponse {
        let auth = r.header("Authorization") ?? ""
        let token = r.header("X-Api-Token") ?? ""
        let file = r.header("X-File-Secret") ?? ""
        return .json("\(prefix){\"detail\": \"you sent \(auth) \(token) \(file) to \(r.target)\"}", status: status)
    }

    static let all: [Misbehaving] = [
        Misbehaving(name: "a body cut off before its Content-Length", handler: { _, _ in
            Misbehaviour.truncated(#"[{"id": 1}, {"id""#, declaredLength: 400)
        }, code: 51, message: "(endpoint items): connection: transfer closed with 383 bytes remaining to read (after 1 retry)"),
        Misbehaving(name: "a connection reset mid-body", handler: { _, _ in
            Misbehaviour.resetMidBody(#"[{"id": 1}, {"id""#, declaredLength: 400)
        }, code: 51, message: "(endpoint items): connection: Recv failure: Connection reset by peer (after 1 retry)"),
        Misbehaving(name: "chunked encoding that stops", handler: { _, _ in
            Misbehaviour.chunkedThatStops([#"[{"id": 1},"#, #" {"id": 2}"#])
        }, code: 51, message: "(endpoint items): connection: transfer closed with outstanding read data remaining (after 1 retry)"),
        Misbehaving(name: "an error object under 200", handler: { r, _ in echo(r) },
                    code: 55, message: "status 200: expected a list of records at `$`, found an object with key detail",
                    testedBy: "NotDataTests.aWholeListRead(bad:) errorObject"),
        Misbehaving(name: "an HTML page under 200", handler: { r, _ in
            HTTPServerResponse(status: 200, headers: [("Content-Type", "text/html")], body: Array("<html>Sign in as \(r.header("Authorization") ?? "")</html>".utf8))
        }, code: 55, message: "status 200, but the body is not valid JSON: <html>Sign in as ***</html>", testedBy: "NotDataTests.aWholeListRead(bad:) html"),
        Misbehaving(name: "an empty 200", handler: { _, _ in Misbehaviour.bytes([]) },
                    code: 55, message: "status 200: expected a list of records at `$`, found an empty body", testedBy: "NotDataTests.aWholeListRead(bad:) emptyBody"),
        Misbehaving(name: "JSON nested 200,000 deep", handler: { _, _ in
            Misbehaviour.bytes(Array(repeating: UInt8(ascii: "["), count: 200_000) + Array(repeating: UInt8(ascii: "]"), count: 200_000))
        }, code: 55, message: "nesting deeper than"),
        Misbehaving(name: "invalid UTF-8 in a string", handler: { _, _ in
            Misbehaviour.bytes(Array(#"[{"id": 1, "name": "caf"#.utf8) + [0xC3, 0x28] + Array(#""}]"#.utf8))
        }, code: 55, message: "invalid UTF-8 in a string"),
        Misbehaving(name: "a number beyond Double's range", handler: { _, _ in .json(#"[{"id": 1e400}]"#) },
                    code: 55, message: "a number out of range: 1e400"),
        Misbehaving(name: "an integer beyond Int64", handler: { _, _ in .json(#"[{"id": 12345678901234567890123}]"#) },
                    code: 55, message: "an integer beyond 64 bits: 12345678901234567890123"),
        Misbehaving(name: "a 10 GB Content-Length", handler: { _, _ in
            Misbehaviour.declaresLength(10 << 30, thenSends: "[")
        }, code: 51, message: "the response is larger than the 512 MB limit (Content-Length: 10737418240 bytes); refused"),
        Misbehaving(name: "a body that trickles a byte a second past the timeout", datasource: "", handler: { _, _ in
            Misbehaviour.trickle(items, everyMs: 1000)
        }, code: 51, message: "(endpoint items): timeout: Operation timed out after"),
        Misbehaving(name: "a redirect loop", endpoint: "{path: /items/, allow_redirects: true}", handler: { r, _ in
            Misbehaviour.redirect(to: r.path == "/items/" ? "/loop/" : "/items/")
        }, code: 51, message: "more than 10 redirects (a redirect loop?), the last to /loop/"),
        Misbehaving(name: "a 429 storm with Retry-After", handler: { r, _ in
            var e = echo(r, status: 429)
            e.headers.append(("Retry-After", "3600"))
            return e
        }, code: 51, message: "status 429: {\"detail\": \"you sent Basic *** *** *** to /items/\"} (after 1 retry)"),
        Misbehaving(name: "a 503 storm without Retry-After", handler: { r, _ in echo(r, status: 503) },
                    code: 51, message: "status 503: {\"detail\": \"you sent Basic *** *** *** to /items/\"} (after 1 retry)"),
        Misbehaving(name: "a page repeating the previous page", endpoint: "{path: /items/, pagination: {type: page, size: 2}}", handler: { _, _ in
            .json(#"[{"id": 1}, {"id": 2}]"#)
        }, code: 55, message: "endpoint items: the datasource returned the same page twice (page 2)", testedBy: "PaginationTests.anIdenticalPageIsAnError"),
        Misbehaving(name: "a cursor that cycles", endpoint: "{path: /items/, records: $.items, pagination: {type: cursor, next: $.next, param: after}}",
                    handler: { r, _ in
            let next = ["a": "b", "b": "a"][r.queryValue("after") ?? ""] ?? "a"
            return .json(#"{"items": [{"id": "\#(r.queryValue("after") ?? "0")"}], "next": "\#(next)"}"#)
        }, code: 55, message: "endpoint items: the datasource repeated the cursor 'a'; its pagination does not advance"),
        Misbehaving(name: "a next link to another host", endpoint: "{path: /items/, records: $.items, pagination: {type: next_url, next: $.next}}",
                    handler: { _, s in .json(#"{"items": [{"id": 1}], "next": "\#(s.other)/items/?page=2"}"#) },
                    code: 55, message: "leaves http://127.0.0.1:"),
        Misbehaving(name: "an OAuth2 token endpoint answering 500", auth: oauth2, handler: { r, _ in
            r.path == "/token" ? .json(#"{"error": "server_error"}"#, status: 500) : .json(items)
        }, code: 51, message: "/token (OAuth2 token request): status 500: {\"error\": \"server_error\"} (after 1 retry)"),
        Misbehaving(name: "an expired token every time", auth: oauth2, handler: { r, _ in
            r.path == "/token" ? .json(#"{"access_token": "Expired-T0ken-\#(Int.random(in: 1000...9999))", "expires_in": 3600}"#)
                : .json(#"{"error": "invalid_token", "error_description": "The access token expired"}"#, status: 401)
        }, code: 52, message: "status 401: {\"error\": \"invalid_token\", \"error_description\": \"The access token expired\"}"),
    ]

    static let oauth2 = #"{type: oauth2_client_credentials, token_url: /token, client_id: client-1, client_secret: "${client_secret}"}"#
}

@Suite("A datasource that misbehaves")
struct MisbehavingDatasourceTests {
    @Test(arguments: DatasourceMisbehaviours.all.filter { $0.testedBy == nil })
    func misbehaves(_ m: Misbehaving) async throws {
        let run = try await MisbehaviourRig.run(m)
        run.expectFailed(m)
    }

    @Test func aRedirectToAnotherHostGetsNoCredentials() async throws {
        let m = Misbehaving(name: "redirect to another host", endpoint: "{path: /items/, allow_redirects: true}", handler: { r, s in
            Misbehaviour.redirect(to: s.other + "/moved/")
        }, code: 0, message: "")
        let run = try await MisbehaviourRig.run(m)
        #expect(run.code == 0, "\(run.log.text)")
        let moved = try #require(run.otherRequests.first)
        #expect(moved.path == "/moved/")
        for name in ["Authorization", "X-Api-Token", "X-File-Secret", "Cookie"] {
            #expect(moved.header(name) == nil, "\(name) is not forwarded to another host")
        }
        #expect(run.source?["vertices"]?["asset"] == [["external_id": "9", "name": "9"]])
    }

    @Test func aRedirectOnTheSameHostKeepsTheCredentials() async throws {
        let m = Misbehaving(name: "redirect on the same host", endpoint: "{path: /items/, allow_redirects: true}", handler: { r, _ in
            r.path == "/items/" ? Misbehaviour.redirect(to: "/moved/")
                : r.header("X-Api-Token") == DistinctSecrets.token ? .json(DatasourceMisbehaviours.items) : .json("{}", status: 401)
        }, code: 0, message: "")
        let run = try await MisbehaviourRig.run(m)
        #expect(run.code == 0, "\(run.log.text)")
    }

    @Test func aNextLinkToAnotherHostIsFollowedWhenTheDefinitionAllowsIt() async throws {
        let m = Misbehaving(name: "allowed next link to another host",
                            endpoint: "{path: /items/, records: $.items, pagination: {type: next_url, next: $.next, allow_other_hosts: true}}",
                            handler: { _, s in .json(#"{"items": [{"id": 1}], "next": "\#(s.other)/items/?page=2"}"#) }, code: 0, message: "")
        let run = try await MisbehaviourRig.run(m)
        // The other host answers a list, not an object with items: 55, but it was asked.
        #expect(run.otherRequests.count >= 1, "\(run.log.text)")
    }
}
