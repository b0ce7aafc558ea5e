import CarDefinition
import MappingDSL

/// Credentials of the datasource: static ones rendered once; tokens from a token endpoint or a
/// login, cached until shortly before they expire and renewed once on a 401.
final class AuthSession: Sendable {
    enum Placement: Sendable {
        case header(String, prefix: String)
        case query(String)
        case cookie
    }

    enum Kind: Sendable {
        case none
        case fixed(Placement, String)
        case oauth2(tokenURL: Template, clientID: Template, clientSecret: Template, scope: Template?, audience: Template?, inBody: Bool,
                    extra: [(String, Template)])
        case session(login: RequestSpec, token: Expr?, cookie: String?, placement: Placement, expiresIn: Expr?, bodyIsToken: Bool)
        /// Every request signed (AWS SigV4).
        case sigv4(SigV4Signer)
        /// A token from a JWT bearer grant.
        case jwtBearer(tokenURL: Template, assertion: JWTAssertion, privateKey: String)
    }

    let kind: Kind
    let state: TokenState
    /// The time in epoch ms (token expiry; tests pass their own clock).
    let clock: @Sendable () -> Int64

    init(spec: AuthSpec, context: EvalContext, redactor: Redactor, clock: @escaping @Sendable () -> Int64 = WallClock.nowMs) throws(RunFailure) {
        self.clock = clock
        state = TokenState(clock: clock)
        func render(_ t: Template, _ what: String) throws(RunFailure) -> String {
            do { return try t.render(context) } catch {
                throw RunFailure(.invalidParameter, "auth \(what): \(error.message)")
            }
        }
        switch spec {
        case .none:
            kind = .none
        case .basic(let u, let p):
            let user = try render(u, "username")
            let password = try render(p, "password")
            let encoded = Base64.encode(Array("\(user):\(password)".utf8))
            redactor.add(password)
            redactor.add(encoded)
            kind = .fixed(.header("Authorization", prefix: "Basic "), encoded)
        case .bearer(let t):
            let token = try render(t, "token")
            redactor.add(token)
            kind = .fixed(.header("Authorization", prefix: "Bearer "), token)
        case .apiKey(let v, let header, let prefix, let query):
            let value = try render(v, "value")
            redactor.add(value)
            kind = .fixed(query.map { .query($0) } ?? .header(header ?? "Authorization", prefix: prefix), value)
        case .oauth2ClientCredentials(let url, let id, let secret, let scope, let audience, let inBody, let extra):
            redactor.add(try render(secret, "client_secret"))
            kind = .oauth2(tokenURL: url, clientID: id, clientSecret: secret, scope: scope, audience: audience, inBody: inBody, extra: extra)
        case .awsSigV4(let key, let secret, let token, let region, let service):
            let signer = SigV4Signer(
                accessKeyID: try render(key, "access_key_id"), secretAccessKey: try render(secret, "secret_access_key"),
                sessionToken: try token.map { t throws(RunFailure) in try render(t, "session_token") }, region: try render(region, "region"),
                service: try render(service, "service"))
            redactor.add(signer.secretAccessKey)
            if let t = signer.sessionToken { redactor.add(t) }
            kind = .sigv4(signer)
        case .oauth2JWTBearer(let url, let issuer, let subject, let privateKey, let scope, let audience):
            let key = try render(privateKey, "private_key")
            redactor.add(key)
            for line in key.replacing("\\n", with: "\n").split(separator: "\n") where !line.hasPrefix("-----") { redactor.add(String(line)) }
            let tokenURL = try render(url, "token_url")
            let assertion = JWTAssertion(
                issuer: try render(issuer, "issuer"), subject: try subject.map { t throws(RunFailure) in try render(t, "subject") },
                audience: try audience.map { t throws(RunFailure) in try render(t, "audience") } ?? tokenURL,
                scope: try scope.map { t throws(RunFailure) in try render(t, "scope") })
            kind = .jwtBearer(tokenURL: url, assertion: assertion, privateKey: key)
        case .session(let login, let token, let cookie, let header, let prefix, let query, let expiresIn, let bodyIsToken):
            let placement: Placement = cookie != nil && header == nil && query == nil
                ? .cookie : query.map { .query($0) } ?? .header(header ?? "Authorization", prefix: prefix)
            kind = .session(login: login, token: token, cookie: cookie, placement: placement, expiresIn: expiresIn, bodyIsToken: bodyIsToken)
        }
    }

    /// Whether a 401 can be cured by authenticating again.
    var refreshable: Bool {
        switch kind {
        case .oauth2, .session, .jwtBearer: return true
        default: return false
        }
    }

    func invalidate() async { await state.clear() }

    func apply(to request: inout PreparedRequest, client: DatasourceClient) async throws {
        switch kind {
        case .none: return
        case .fixed(let placement, let value): Self.place(value, placement, &request)
        case .sigv4(let signer):
            for (name, value) in signer.headers(method: request.method.rawValue, url: request.fullURL, headers: request.headers,
                                                body: request.body ?? [], timeMs: WallClock.nowMs()) {
                request.setHeader(name, value)
            }
        case .oauth2, .session, .jwtBearer:
            let credential = try await state.current { try await self.obtain(client) }
            Self.place(credential.value, credential.placement, &request)
        }
    }

    static func place(_ value: String, _ placement: Placement, _ request: inout PreparedRequest) {
        switch placement {
        case .header(let name, let prefix): request.setHeader(name, prefix + value)
        case .query(let name): request.query.append((name, value))
        case .cookie: request.setHeader("Cookie", value)
        }
    }

    /// Gets a new token or session.
    func obtain(_ client: DatasourceClient) async throws -> TokenState.Credential {
        let ctx = client.context()
        switch kind {
        case .oauth2(let urlTemplate, let id, let secret, let scope, let audience, let inBody, let extra):
            let clientID = try client.render(id, ctx, "auth client_id")
            let clientSecret = try client.render(secret, ctx, "auth client_secret")
            var form: [(String, String)] = [("grant_type", "client_credentials")]
            if let scope { form.append(("scope", try client.render(scope, ctx, "auth scope"))) }
            if let audience { form.append(("audience", try client.render(audience, ctx, "auth audience"))) }
            for (n, t) in extra { form.append((n, try client.render(t, ctx, "auth \(n)"))) }
            var request = try Self.tokenRequest(client, urlTemplate, ctx)
            if inBody {
                form += [("client_id", clientID), ("client_secret", clientSecret)]
            } else {
                let basic = Base64.encode(Array("\(URLs.encodeQuery(clientID)):\(URLs.encodeQuery(clientSecret))".utf8))
                client.redactor.add(basic)
                request.setHeader("Authorization", "Basic " + basic)
            }
            request.body = Array(URLs.formEncode(form).utf8)
            return try await bearerToken(client, request, "OAuth2 token request")
        case .jwtBearer(let urlTemplate, let assertion, let privateKey):
            let jwt: String
            do { jwt = try assertion.signed(privateKeyPEM: privateKey, nowMs: clock()) } catch {
                throw RunFailure(.invalidParameter, "auth private_key: \(error.description)")
            }
            client.redactor.add(jwt)
            var request = try Self.tokenRequest(client, urlTemplate, ctx)
            request.body = Array(URLs.formEncode([("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"), ("assertion", jwt)]).utf8)
            return try await bearerToken(client, request, "OAuth2 JWT bearer token request")
        case .session(let login, let tokenExpr, let cookieName, let placement, let expiresIn, let bodyIsToken):
            let request = try client.prepare(login, ctx, what: "session login")
            // A cookie login often answers an HTML page: its body is read only when the token
            // or the expiry comes from it.
            let exchange = try await authExchange(client, request, "session login", parseBody: (tokenExpr != nil || expiresIn != nil) && !bodyIsToken)
            var value: String?
            if bodyIsToken {
                let text = String(decoding: exchange.response.body, as: UTF8.self).trimming(" \n\r\t")
                value = text.contains(where: { $0 == "\n" || $0 == " " || $0 == "<" || $0 == "{" }) ? nil : text
            } else if let tokenExpr {
                var c = ctx
                c.document = exchange.body
                if let v = try? tokenExpr.evaluate(c), !v.isNull { value = renderString(v) }
            } else if let cookieName {
                value = HeaderValues.cookie(exchange.response.headerValues("Set-Cookie"), named: cookieName)
            }
            guard let value, !value.isEmpty else {
                throw RunFailure(.datasourceAuthentication, "the session login at \(client.redactor.redact(exchange.url)) gave no \(tokenExpr != nil || bodyIsToken ? "token" : "cookie '\(cookieName ?? "")'")")
            }
            client.redactor.add(value)
            var seconds: Double?
            if let expiresIn {
                var c = ctx
                c.document = exchange.body
                seconds = (try? expiresIn.evaluate(c))?.doubleValue
            }
            return TokenState.Credential(value: value, placement: placement, expiresAt: seconds.map(expiry))
        default:
            throw RunFailure(.general, "no credentials to obtain")
        }
    }

    /// A form POST to an OAuth 2.0 token endpoint (absolute, or relative to the base URL).
    static func tokenRequest(_ client: DatasourceClient, _ url: Template, _ ctx: EvalContext) throws(RunFailure) -> PreparedRequest {
        var request = PreparedRequest(
            method: .post, url: URLs.join(client.baseURL, try client.render(url, ctx, "auth token_url")),
            timeoutMs: client.definition.datasource.requestTimeoutMs, followRedirects: false)
        request.headers = client.defaultHeaders
        request.setHeader("Accept", "application/json")
        request.setHeader("Content-Type", "application/x-www-form-urlencoded")
        return request
    }

    /// An OAuth 2.0 token request's bearer token (`access_token`, `expires_in`, default an hour).
    func bearerToken(_ client: DatasourceClient, _ request: PreparedRequest, _ what: String) async throws -> TokenState.Credential {
        let exchange = try await authExchange(client, request, what)
        guard case .string(let token)? = exchange.body["access_token"], !token.isEmpty else {
            throw RunFailure(.datasourceAuthentication, "the OAuth2 token response of \(client.redactor.redact(exchange.url)) has no access_token")
        }
        client.redactor.add(token)
        let seconds = exchange.body["expires_in"]?.doubleValue ?? 3600
        return TokenState.Credential(value: token, placement: .header("Authorization", prefix: "Bearer "), expiresAt: expiry(seconds))
    }

    /// A token request; its refusals are authentication failures (52).
    func authExchange(_ client: DatasourceClient, _ request: PreparedRequest, _ what: String, parseBody: Bool = true) async throws -> Exchange {
        do {
            return try await client.execute(request, endpoint: nil, what: what, authenticate: false, parseBody: parseBody)
        } catch let failure as RunFailure where [.datasourceInvalidParameter, .datasourceForbidden].contains(failure.failureClass) {
            throw RunFailure(.datasourceAuthentication, failure.message)
        }
    }

    /// The time to renew a token that lives `seconds`: a minute early, or a tenth of its life.
    func expiry(_ seconds: Double) -> Int64 {
        let margin = min(60, seconds / 10)
        return clock() + Int64((seconds - margin) * 1000)
    }
}

/// The current token, obtained once even when many requests ask at the same time.
actor TokenState {
    struct Credential: Sendable {
        var value: String
        var placement: AuthSession.Placement
        var expiresAt: Int64?
    }

    private var credential: Credential?
    private var pending: Task<Credential, Error>?
    let clock: @Sendable () -> Int64

    init(clock: @escaping @Sendable () -> Int64) { self.clock = clock }

    func current(_ obtain: @Sendable @escaping () async throws -> Credential) async throws -> Credential {
        if let c = credential, c.expiresAt.map({ clock() < $0 }) ?? true { return c }
        if let pending { return try await pending.value }
        let task = Task { try await obtain() }
        pending = task
        defer { pending = nil }
        let c = try await task.value
        credential = c
        return c
    }

    func clear() { credential = nil }
}
