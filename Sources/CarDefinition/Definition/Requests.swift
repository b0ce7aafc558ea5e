import MappingDSL

/// The body of a request.
public enum BodySpec: Sendable {
    case json(JSONTemplate)
    case form([(String, Template)])
    case raw(Template, contentType: String)
    case graphql(query: Template, variables: JSONTemplate?)
}

/// An HTTP request as declared.
public struct RequestSpec: Sendable {
    public var method = HTTPMethod.get
    public var path: Template?
    public var query: [(name: String, values: [Template])] = []
    public var headers: [(name: String, value: Template)] = []
    public var body: BodySpec?
    public var allowRedirects = false
    public var timeoutMs: Int64?
}

/// How a status is matched.
public enum StatusMatch: Sendable, Hashable {
    case code(Int)
    case range(ClosedRange<Int>)

    public func matches(_ status: Int) -> Bool {
        switch self {
        case .code(let c): return c == status
        case .range(let r): return r.contains(status)
        }
    }
}

/// A transport failure kind.
public enum TransportFailure: String, Sendable {
    case refused, dns, tls, timeout, any
}

/// Retry settings.
public struct RetryPolicy: Sendable, Hashable {
    public var retries: Int = 3
    public var exponential = true
    public var delayMs: Int64 = 1000
    public var maxDelayMs: Int64 = 60_000
    public var respectRetryAfter = true
    /// The wait from a response header, before the backoff.
    public var delayFrom: RetryDelayFrom?
    /// The most one request may wait over all its retries.
    public var maxWaitMs: Int64?
}

/// A retry wait the datasource gives in a response header.
public struct RetryDelayFrom: Sendable, Hashable {
    public enum Format: String, Sendable, CaseIterable {
        /// When to try again, in epoch seconds (Okta's X-Rate-Limit-Reset).
        case epochSeconds = "epoch_seconds"
        /// How long to wait, in seconds (Qualys's X-RateLimit-ToWait-Sec).
        case seconds
        /// When to try again, in epoch milliseconds.
        case epochMs = "epoch_ms"
    }

    public var header: String
    public var format: Format

    public init(header: String, format: Format) {
        self.header = header
        self.format = format
    }
}

/// An error mapping.
public struct ErrorRule: Sendable {
    public enum Action: Sendable {
        case retry(RetryPolicy, exitCode: Int)
        case fail(exitCode: Int, message: String?)
        case ignore
    }

    public var status: [StatusMatch] = []
    public var transport: TransportFailure?
    public var bodyContains: String?
    public var body: Expr?
    public var unparseableBody: Bool?
    public var action: Action = .fail(exitCode: 50, message: nil)
    public var location: SourceLocation
}

/// How requests authenticate.
public enum AuthSpec: Sendable {
    case none
    case basic(username: Template, password: Template)
    case bearer(token: Template)
    case apiKey(value: Template, header: String?, prefix: String, query: String?)
    case oauth2ClientCredentials(
        tokenURL: Template, clientID: Template, clientSecret: Template, scope: Template?, audience: Template?,
        credentialsInBody: Bool, extra: [(String, Template)])
    /// AWS Signature Version 4 on every request.
    case awsSigV4(accessKeyID: Template, secretAccessKey: Template, sessionToken: Template?, region: Template, service: Template)
    /// An OAuth 2.0 JWT bearer grant (RFC 7523) with an RS256 assertion, as Google's service
    /// accounts use.
    case oauth2JWTBearer(tokenURL: Template, issuer: Template, subject: Template?, privateKey: Template, scope: Template?, audience: Template?)
    /// `bodyIsToken`: the login answers the token itself as text (`token: text`).
    case session(login: RequestSpec, token: Expr?, cookie: String?, header: String?, prefix: String, query: String?, expiresIn: Expr?,
                 bodyIsToken: Bool)
}

/// How an endpoint is paged.
public struct Pagination: Sendable {
    public enum Kind: Sendable {
        case none
        case page(param: String?, start: Int, size: Int?, sizeParam: String?)
        case offset(offsetParam: String, limitParam: String, limit: Int)
        case cursor(next: Expr, param: String?)
        case nextURL(next: Expr)
        case linkHeader(rel: String)
        case timeWindow(start: Expr, stepMs: Int64)
    }

    public var kind: Kind = .none
    public var hasMore: Expr?
    public var total: Expr?
    public var stopOnShortPage: Bool?
    public var maxPages: Int?
    /// next_url, link_header: follow next links to another origin than the first page's.
    public var allowOtherHosts = false
    /// The page size (`size`, `limit`) from a template such as `${page_size}`, rendered once per run.
    public var sizeTemplate: Template?
}

/// How records of an endpoint are fetched by id.
public struct ByIDs: Sendable {
    public var path: Template?
    public var query: [(name: String, values: [Template])] = []
    public var body: BodySpec?
    public var maxIDs = 100
    public var maxURLLength = 2000
}

/// How a response body is read.
public enum ResponseFormat: String, Sendable, CaseIterable {
    case json, xml
}

/// A datasource endpoint.
public struct Endpoint: Sendable {
    public var name: String
    public var request: RequestSpec
    public var records: Expr?
    /// Each response is one record, not a list.
    public var single = false
    public var id: Expr?
    public var format = ResponseFormat.json
    public var pagination = Pagination()
    public var byIDs: ByIDs?
    public var forEach: (endpoint: String, variable: String)?
    public var updatedSinceQuery: [(name: String, values: [Template])] = []
    public var updatedSinceBody: JSONTemplate?
    public var errors: [ErrorRule] = []
    public var location: SourceLocation
    /// More indexes of the records (`lookup_by`, `lookup_all`): a key's name and its value in a
    /// record (a list gives the record several keys).
    public var keys: [(name: String, value: Expr)] = []
    /// An endpoint whose records are this one's ids (CrowdStrike's queries): the records are
    /// fetched by those ids, page by page.
    public var idsFrom: String?
    /// The endpoint's own base URL and auth, instead of the datasource's.
    public var baseURL: Template?
    public var auth: AuthSpec?
}

/// TLS settings.
public struct TLSSpec: Sendable {
    public var caBundle: Template?
    /// CA certificates as PEM text.
    public var caPEM: Template?
    /// The TLS name (SNI, verification) and Host of requests to the base URL's host.
    public var serverName: Template?
    public var clientCert: Template?
    public var clientKey: Template?
    public var insecureSkipVerify = false
}

/// The datasource's HTTP API.
public struct DatasourceSpec: Sendable {
    public enum ConnectionTest: Sendable {
        case endpoint(String)
        case request(RequestSpec, expectStatus: [Int])
    }

    public var baseURL: Template
    public var auth: AuthSpec = .none
    public var headers: [(name: String, value: Template)] = []
    public var query: [(name: String, values: [Template])] = []
    public var tls = TLSSpec()
    public var connectTimeoutMs: Int64 = 10_000
    public var requestTimeoutMs: Int64 = 60_000
    public var retries = RetryPolicy()
    public var requestsPerSecond: Double?
    public var burst = 1
    public var concurrency = 4
    public var connectionTest: ConnectionTest?
    public var errors: [ErrorRule] = []
}
