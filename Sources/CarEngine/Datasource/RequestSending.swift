import CarDefinition
import Logging
import MappingDSL

/// The outcome of one request, after retries and error mappings.
struct Exchange: Sendable {
    var response: HTTPResponse
    /// The parsed body (null when ignored or empty).
    var body: JSON
    /// An error mapping said to ignore the failure: no records.
    var ignored: Bool
    var url: String
    var method = HTTPMethod.get
    /// Records handed on while the body arrived (streamed requests).
    var streamed = 0
}

/// Sending requests: auth, limits, retries and error mappings.
extension DatasourceClient {
    /// Sends a request with auth, limits, retries and error mappings.
    func execute(_ prepared: PreparedRequest, endpoint: Endpoint?, what: String, authenticate: Bool = true,
                 format: ResponseFormat = .json, expectStatus: [Int] = [], parseBody: Bool = true,
                 consume: ((BodyStream) async throws -> Int)? = nil) async throws -> Exchange
    {
        var reauthenticated = false
        let auth = endpoint.flatMap { endpointAuth[$0.name] } ?? self.auth
        // The time this request has waited between its attempts, for max_wait.
        var waitedMs: Int64 = 0
        let rules = (endpoint?.errors ?? []) + definition.datasource.errors
        return try await RetryLoop.run { retries in
            var request = prepared
            if authenticate { try await auth.apply(to: &request, client: self) }
            let url = request.fullURL
            let (result, streamed) = try await transfer(request, url: url, what: what, consume: consume)
            let outcome: ErrorPolicy.Outcome
            var parsed: JSON = .null
            switch result {
            case .failure(let error):
                if error.kind == .cancelled { throw CancellationError() }
                outcome = .transport(error)
            case .success(let response):
                if response.status == 401 && authenticate && !reauthenticated && auth.refreshable {
                    reauthenticated = true
                    await auth.invalidate()
                    logger.info("the datasource answered 401 for \(what); authenticating again", label: "datasource")
                    return .again(delayMs: 0, counted: false)
                }
                let success = expectStatus.isEmpty ? (200..<300).contains(response.status) : expectStatus.contains(response.status)
                if success && (!parseBody || consume != nil) {
                    outcome = .success
                } else if success {
                    if let body = Self.parse(response.body, format: format) {
                        parsed = body
                        outcome = .success
                    } else {
                        outcome = .unparseable(response)
                    }
                } else {
                    outcome = .status(response, Self.parse(response.body, format: format))
                }
            }
            if case .success = outcome, case .success(let response) = result {
                return .done(Exchange(response: response, body: parsed, ignored: false, url: url, method: request.method, streamed: streamed))
            }
            switch ErrorPolicy.decide(outcome, rules: rules, defaults: definition.datasource.retries, context: context()) {
            case .ignore:
                logger.info("ignored: \(describe(outcome, request: request, url: url, what: what)) (error mapping: ignore)", label: "datasource")
                let response: HTTPResponse
                if case .success(let r) = result { response = r } else { response = HTTPResponse(status: 0) }
                return .done(Exchange(response: response, body: .null, ignored: true, url: url, method: request.method))
            case .fail(let code, let message):
                let detail = describe(outcome, request: request, url: url, what: what)
                throw RunFailure(FailureClass(code: Int32(code)), message.map { "\($0): \(detail)" } ?? detail)
            case .retry(let policy, let code):
                guard retries < policy.retries else {
                    let detail = describe(outcome, request: request, url: url, what: what)
                    throw RunFailure(FailureClass(code: Int32(code)), "\(detail) (after \(retries) retr\(retries == 1 ? "y" : "ies"))")
                }
                let wait = Self.retryWait(policy, outcome: outcome, retries: retries, nowMs: WallClock.nowMs())
                if let maxWait = policy.maxWaitMs, waitedMs + wait.ms > maxWait {
                    let detail = describe(outcome, request: request, url: url, what: what)
                    let asked = wait.header.map { "the datasource asked (\($0)) to wait \(Self.seconds(wait.ms))" }
                        ?? "the next retry would wait \(Self.seconds(wait.ms))"
                    throw RunFailure(FailureClass(code: Int32(code)),
                                     "\(detail): \(asked), longer than max_wait \(Self.seconds(maxWait)) allows (waited \(Self.seconds(waitedMs)) so far, \(retries) retr\(retries == 1 ? "y" : "ies"))")
                }
                waitedMs += wait.ms
                let delay = wait.ms
                counters.withLock { $0.retries += 1 }
                logger.info("\(describe(outcome, request: request, url: url, what: what)); retry \(retries + 1) of \(policy.retries) in \(delay) ms", label: "datasource")
                return .again(delayMs: max(0, delay), counted: true)
            }
        }
    }

    /// How long to wait before the next retry, and the header that said so: the policy's
    /// `delay_from` header, else Retry-After (capped by max_delay), else the backoff with jitter.
    static func retryWait(_ policy: RetryPolicy, outcome: ErrorPolicy.Outcome, retries: Int, nowMs: Int64) -> (ms: Int64, header: String?) {
        var response: HTTPResponse?
        if case .status(let r, _) = outcome { response = r }
        if let from = policy.delayFrom, let value = response?.header(from.header),
            let ms = HeaderValues.delayMs(value, format: from.format, nowMs: nowMs)
        {
            return (ms, from.header)
        }
        if policy.respectRetryAfter, let header = response?.header("Retry-After"), let after = HeaderValues.retryAfterMs(header, nowMs: nowMs) {
            return (min(after, policy.maxDelayMs), "Retry-After")
        }
        var delay = policy.exponential ? policy.delayMs << min(retries, 20) : policy.delayMs
        delay = min(delay, policy.maxDelayMs)
        // Jitter: up to a fifth of the delay either way.
        if delay > 10 { delay += Int64.random(in: -(delay / 5)...(delay / 5)) }
        return (max(0, delay), nil)
    }

    /// "1.5 s", "300 s".
    static func seconds(_ ms: Int64) -> String {
        ms % 1000 == 0 ? "\(ms / 1000) s" : "\(Double(ms) / 1000) s"
    }

    /// One transfer within the concurrency and rate limits; a streamed body is consumed while
    /// it arrives. Returns the response or the transport's failure, and the records handed on.
    func transfer(_ request: PreparedRequest, url: String, what: String, consume: ((BodyStream) async throws -> Int)?) async throws
        -> (Result<HTTPResponse, TransportError>, Int)
    {
        let http = HTTPRequest(
            method: request.method, url: url, headers: request.headers, body: request.body, followRedirects: request.followRedirects,
            connectTimeoutMs: definition.datasource.connectTimeoutMs, timeoutMs: request.timeoutMs, tls: tls)
        await limiter.acquire()
        if let rate {
            do { try await rate.acquire() } catch {
                await limiter.release()
                throw error
            }
        }
        var result: Result<HTTPResponse, TransportError>
        var streamed = 0
        var received: Int
        if let consume {
            let stream = BodyStream()
            let transport = self.transport
            async let sent: Result<HTTPResponse, TransportError> = Self.send(transport, http, stream)
            do {
                streamed = try await consume(stream)
                result = await sent
            } catch {
                // A body that ended early (cut off, reset, a chunk missing, a timeout) is the
                // transport's failure, not a body that is not data: the reader saw the end
                // only because the transfer failed.
                let endedByTransport = stream.isFinished
                stream.cancel()
                let outcome = await sent
                guard endedByTransport, case .failure(let e) = outcome, e.kind != .cancelled else {
                    await limiter.release()
                    throw error
                }
                result = outcome
            }
            received = stream.bytesReceived
            if case .failure(let e) = result, streamed > 0 {
                await limiter.release()
                throw RunFailure(.datasourceUnavailable, redactor.redact("\(request.method) \(url) (\(what)): the connection failed after \(streamed) records: \(e.message)"))
            }
        } else {
            do { result = .success(try await transport.send(http)) } catch { result = .failure(error) }
            received = 0
        }
        await limiter.release()
        if case .success(let r) = result {
            received += r.body.count
            logger.debug("\(request.method) \(url) → \(r.status) (\(received) bytes received)", label: "datasource")
        }
        counters.withLock { c in
            c.requests += 1
            c.bytes += received
        }
        return (result, streamed)
    }

    static func send(_ transport: any HTTPTransport, _ request: HTTPRequest, _ stream: BodyStream) async -> Result<HTTPResponse, TransportError> {
        do {
            return .success(try await transport.send(request, streamingTo: stream))
        } catch {
            return .failure(error)
        }
    }

    static func parse(_ body: [UInt8], format: ResponseFormat) -> JSON? {
        if RecordShape.isBlank(body) { return .null }
        if format == .xml { return XMLToJSON.convert(body) }
        return try? JSONParser.parse(body)
    }

    /// "GET http://h/assets/ (endpoint assets): 403 Forbidden: {"detail": ...}", redacted.
    func describe(_ outcome: ErrorPolicy.Outcome, request: PreparedRequest, url: String, what: String) -> String {
        var text = "\(request.method) \(url) (\(what))"
        switch outcome {
        case .transport(let e): text += ": \(e.kind.rawValue == "other" ? "" : e.kind.rawValue + ": ")\(e.message)"
        case .status(let r, _):
            text += ": status \(r.status)"
            if let location = r.header("Location"), (300..<400).contains(r.status) {
                text += " (redirect to \(location); allow_redirects is off)"
            }
            let excerpt = Self.excerpt(r.body)
            if !excerpt.isEmpty { text += ": " + excerpt }
        case .unparseable(let r):
            text += ": status \(r.status), but the body is not valid JSON"
            let excerpt = Self.excerpt(r.body)
            if !excerpt.isEmpty { text += ": " + excerpt }
        case .success: break
        }
        return redactor.redact(text)
    }

    static func excerpt(_ body: [UInt8]) -> String {
        let text = String(decoding: body.prefix(240), as: UTF8.self).replacing("\n", with: " ").trimming(" ")
        return body.count > 240 ? text + "…" : text
    }
}
