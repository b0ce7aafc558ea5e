import Foundation
import LoopbackHTTP
import Testing

@testable import CarDefinition
@testable import CarEngine
@testable import MappingDSL

/// Retry waits from the API's own headers (delay_from) and the bound on a request's total wait
/// (max_wait). Waits are kept to a second at most.
@Suite("Datasource: retry delays from headers")
struct RetryHeaderTests {
    /// A server that answers 429 with `headers` the first `limited` times, then records.
    static func limitedServer(_ limited: Int, headers: @escaping @Sendable () -> [(String, String)]) throws -> HTTPServer {
        let calls = Counter()
        return try HTTPServer { _ in
            calls.next() <= limited ? .json("{\"errorCode\": \"E0000047\"}", status: 429, headers: headers()) : .json("[{\"id\": 1}]")
        }
    }

    func harness(_ server: HTTPServer, rule: String) throws -> Harness {
        try Harness(definition(server.baseURL, endpoints: "  items: {path: /items}", extra: "  errors:\n    - \(rule)"))
    }

    @Test func anEpochSecondsResetIsWaitedFor() async throws {
        let reset = Shared<Int64>(0)
        let server = try Self.limitedServer(1) { [("X-Rate-Limit-Reset", String(reset.get))] }
        defer { server.stop() }
        let h = try harness(server, rule: "{when: {status: 429}, then: retry, retries: 3, delay: 10ms, delay_from: {header: X-Rate-Limit-Reset, format: epoch_seconds}, max_wait: 1m}")
        let now = WallClock.nowMs()
        reset.set(now / 1000 + 1)
        #expect(try await h.readAll("items") == [["id": 1]])
        // The reset is the next whole second: a wait of at most a second, whatever the 10 ms backoff says.
        let waited = try #require(h.log.text.firstMatch(of: /retry 1 of 3 in (\d+) ms/).flatMap { Int($0.1) })
        #expect(waited <= 1000)
        #expect(server.requestsServed == 2)
    }

    @Test func secondsToWaitAreWaited() async throws {
        let server = try Self.limitedServer(2) { [("X-RateLimit-ToWait-Sec", "0")] }
        defer { server.stop() }
        let h = try harness(server, rule: "{when: {status: 429}, then: retry, retries: 3, delay: 30s, delay_from: {header: X-RateLimit-ToWait-Sec, format: seconds}, max_wait: 1m}")
        // 0 s from the header, not the 30 s backoff.
        #expect(try await h.readAll("items") == [["id": 1]])
        #expect(h.log.text.contains("retry 2 of 3 in 0 ms"))
    }

    @Test func epochMillisecondsInThePastAreNoWait() async throws {
        let server = try Self.limitedServer(1) { [("X-Reset-Ms", "1000")] }
        defer { server.stop() }
        let h = try harness(server, rule: "{when: {status: 429}, then: retry, delay: 30s, delay_from: {header: X-Reset-Ms, format: epoch_ms}, max_wait: 1m}")
        #expect(try await h.readAll("items") == [["id": 1]])
        #expect(h.log.text.contains("retry 1 of 3 in 0 ms"))
    }

    @Test(arguments: [[], [("X-RateLimit-ToWait-Sec", "soon")], [("X-RateLimit-ToWait-Sec", "-5")]])
    func aMissingOrUnparseableHeaderFallsBackToTheBackoff(headers: [(String, String)]) async throws {
        let server = try Self.limitedServer(1) { headers }
        defer { server.stop() }
        let h = try harness(server, rule: "{when: {status: 429}, then: retry, backoff: constant, delay: 20ms, delay_from: {header: X-RateLimit-ToWait-Sec, format: seconds}, max_wait: 1m}")
        #expect(try await h.readAll("items") == [["id": 1]])
        #expect(h.log.text.range(of: #"retry 1 of 3 in 1\d ms|retry 1 of 3 in 2\d ms"#, options: .regularExpression) != nil, "\(h.log.text)")
    }

    @Test func aWaitLongerThanMaxWaitFailsWithTheMappingsCode() async throws {
        let server = try Self.limitedServer(5) { [("X-RateLimit-ToWait-Sec", "120")] }
        defer { server.stop() }
        let h = try harness(server, rule: "{when: {status: 429}, then: retry, retries: 5, exit_code: 10, delay_from: {header: X-RateLimit-ToWait-Sec, format: seconds}, max_wait: 5s}")
        await expectFailure(10, containing: "status 429: {\"errorCode\": \"E0000047\"}: the datasource asked (X-RateLimit-ToWait-Sec) to wait 120 s, longer than max_wait 5 s allows") {
            _ = try await h.readAll("items")
        }
        // Failed at once: one request, no retry (a wait would have ended in a second request).
        #expect(server.requestsServed == 1)
        #expect(!h.log.text.contains("retry 1 of"), "\(h.log.text)")
    }

    @Test func maxWaitBoundsTheWaitsOverAllRetries() async throws {
        let server = try Self.limitedServer(10) { [("X-RateLimit-ToWait-Sec", "0.4")] }
        defer { server.stop() }
        let h = try harness(server, rule: "{when: {status: 429}, then: retry, retries: 10, delay_from: {header: X-RateLimit-ToWait-Sec, format: seconds}, max_wait: 1s}")
        // 0.4 s twice fits in 1 s, a third would not.
        await expectFailure(51, containing: "longer than max_wait 1 s allows (waited 0.8 s so far, 2 retries)") { _ = try await h.readAll("items") }
        #expect(server.requestsServed == 3)
    }

    @Test func maxWaitBoundsRetryAfterToo() async throws {
        let server = try Self.limitedServer(5) { [("Retry-After", "30")] }
        defer { server.stop() }
        let h = try harness(server, rule: "{when: {status: 429}, then: retry, retries: 5, max_delay: 1m, max_wait: 10s}")
        await expectFailure(51, containing: "the datasource asked (Retry-After) to wait 30 s, longer than max_wait 10 s allows") {
            _ = try await h.readAll("items")
        }
        #expect(server.requestsServed == 1)
    }

    @Test func delayFromWithoutMaxWaitIsAWarning() {
        let yaml = definition("http://127.0.0.1:1", endpoints: "  items: {path: /items}",
                              extra: "  errors:\n    - {when: {status: 429}, then: retry, delay_from: {header: X-Rate-Limit-Reset, format: epoch_seconds}}")
        let result = DefinitionLoader.load(bytes: Array(yaml.utf8), path: "test.yaml")
        #expect(result.definition != nil)
        #expect(result.diagnostics.contains { $0.headline.contains("'delay_from' without 'max_wait'") })
        let bad = yaml.replacing("epoch_seconds", with: "minutes")
        #expect(DefinitionLoader.load(bytes: Array(bad.utf8), path: "test.yaml").definition == nil)
    }
}
