import LoopbackHTTP
import Synchronization
import Testing

@testable import CarDefinition
@testable import CarEngine

@Suite("HTTP over libcurl")
struct CurlTransportTests {
    let transport = CurlTransport()

    @Test func getAndPostWithHeadersAndBody() async throws {
        let server = try HTTPServer { request in
            .json(#"{"method":"\#(request.method)","path":"\#(request.target)","x":"\#(request.header("X-Test") ?? "")","body":\#(request.body.count)}"#)
        }
        defer { server.stop() }
        let get = try await transport.send(HTTPRequest(url: server.baseURL + "/a/?q=1", headers: [("X-Test", "yes")]))
        #expect(get.status == 200)
        #expect(String(decoding: get.body, as: UTF8.self) == #"{"method":"GET","path":"/a/?q=1","x":"yes","body":0}"#)
        #expect(get.header("content-type") == "application/json")
        let post = try await transport.send(HTTPRequest(method: .post, url: server.baseURL + "/b", body: Array(repeating: 65, count: 5000)))
        #expect(String(decoding: post.body, as: UTF8.self) == #"{"method":"POST","path":"/b","x":"","body":5000}"#)
    }

    @Test func connectionsAreReused() async throws {
        let server = try HTTPServer { _ in .json("[]") }
        defer { server.stop() }
        for _ in 0..<5 { _ = try await transport.send(HTTPRequest(url: server.baseURL + "/x/")) }
        #expect(server.requestsServed == 5)
        #expect(server.connectionsAccepted == 1)
    }

    @Test func gzipBodiesAreDecoded() async throws {
        let text = String(repeating: #"{"a":1},"#, count: 10_000)
        let server = try HTTPServer { request in
            #expect(request.header("Accept-Encoding")?.contains("gzip") == true)
            return HTTPServerResponse(status: 200, headers: [("Content-Encoding", "gzip")], body: Gzip.wrap(Array(text.utf8)))
        }
        defer { server.stop() }
        let response = try await transport.send(HTTPRequest(url: server.baseURL + "/gz"))
        #expect(String(decoding: response.body, as: UTF8.self) == text)
    }

    @Test func redirectsAreNotFollowedUnlessAllowed() async throws {
        let server = try HTTPServer { request in
            request.path == "/old" ? HTTPServerResponse(status: 301, headers: [("Location", "/new/")]) : .json("\"new\"")
        }
        defer { server.stop() }
        #expect(try await transport.send(HTTPRequest(url: server.baseURL + "/old")).status == 301)
        let followed = try await transport.send(HTTPRequest(url: server.baseURL + "/old", followRedirects: true))
        #expect(followed.status == 200)
        #expect(followed.url == server.baseURL + "/new/")
    }

    @Test func refusedConnections() async throws {
        let closed = try RefusingPort()
        let url = closed.baseURL + "/"
        do {
            _ = try await transport.send(HTTPRequest(url: url))
            Issue.record("expected a failure")
        } catch {
            #expect(error.kind == .refused)
        }
    }

    @Test func timeouts() async throws {
        let server = try HTTPServer { _ in
            var r = HTTPServerResponse.json("[]")
            r.delayMs = 2000
            return r
        }
        defer { server.stop() }
        do {
            _ = try await transport.send(HTTPRequest(url: server.baseURL + "/slow", timeoutMs: 200))
            Issue.record("expected a timeout")
        } catch {
            #expect(error.kind == .timeout)
        }
    }

    @Test func droppedConnections() async throws {
        let server = try HTTPServer { _ in
            var r = HTTPServerResponse.json(String(repeating: "x", count: 1000))
            r.dropAfterBytes = 120
            return r
        }
        defer { server.stop() }
        do {
            let r = try await transport.send(HTTPRequest(url: server.baseURL + "/drop"))
            Issue.record("expected a failure, got \(r.status) with \(r.body.count) bytes")
        } catch {
            #expect(error.kind == .connection)
        }
    }

    @Test func cancellationAbortsTheTransfer() async throws {
        let server = try HTTPServer { _ in
            var r = HTTPServerResponse.json("[]")
            r.delayMs = 120_000
            return r
        }
        defer { server.stop() }
        let transport = self.transport
        let task = Task { try await transport.send(HTTPRequest(url: server.baseURL + "/slow", timeoutMs: 240_000)) }
        try await Task.sleep(for: .milliseconds(100))
        let start = ContinuousClock.now
        task.cancel()
        do {
            _ = try await task.value
            Issue.record("expected cancellation")
        } catch let error as TransportError {
            #expect(error.kind == .cancelled)
        }
        // Long before the 120 s answer (a generous bound: sanitizers and loaded machines are slow).
        #expect(ContinuousClock.now - start < .seconds(90))
    }
}
