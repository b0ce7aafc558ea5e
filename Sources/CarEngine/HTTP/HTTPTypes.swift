import CarDefinition
/// An HTTP request to send.
public struct HTTPRequest: Sendable {
    public var method: HTTPMethod
    public var url: String
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]?
    public var followRedirects: Bool
    public var connectTimeoutMs: Int64
    public var timeoutMs: Int64
    public var tls: TLSOptions

    public init(method: HTTPMethod = .get, url: String, headers: [(name: String, value: String)] = [], body: [UInt8]? = nil,
                followRedirects: Bool = false, connectTimeoutMs: Int64 = 10_000, timeoutMs: Int64 = 60_000, tls: TLSOptions = TLSOptions())
    {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.followRedirects = followRedirects
        self.connectTimeoutMs = connectTimeoutMs
        self.timeoutMs = timeoutMs
        self.tls = tls
    }

    /// The first header with this name (case-insensitive).
    public func header(_ name: String) -> String? {
        let lower = name.lowercased()
        return headers.first { $0.name.lowercased() == lower }?.value
    }
}

/// TLS settings of a request.
public struct TLSOptions: Sendable, Hashable {
    /// A PEM file of CAs to trust.
    public var caBundle: String?
    /// CAs to trust as PEM text (trusted beside `caBundle` when both are given). Secret: never logged.
    public var caPEM: String?
    public var clientCert: String?
    public var clientKey: String?
    public var insecureSkipVerify = false
    /// Requests to `serverName.host` verify and send SNI for `serverName.name`, with that Host.
    public var serverName: ServerNameOverride?

    public init(caBundle: String? = nil, caPEM: String? = nil, clientCert: String? = nil, clientKey: String? = nil,
                insecureSkipVerify: Bool = false, serverName: ServerNameOverride? = nil)
    {
        self.caBundle = caBundle
        self.caPEM = caPEM
        self.clientCert = clientCert
        self.clientKey = clientKey
        self.insecureSkipVerify = insecureSkipVerify
        self.serverName = serverName
    }
}

/// Another name for a host: the connection goes to `host`, but TLS verifies and sends SNI for
/// `name`, and the Host header is `name`.
public struct ServerNameOverride: Sendable, Hashable {
    /// The name TLS verifies and the Host header carries.
    public var name: String
    /// The host (as in the base URL) the requests go to.
    public var host: String

    public init(name: String, host: String) {
        self.name = name
        self.host = host
    }
}

/// An HTTP response.
public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    /// The URL the response came from (after redirects).
    public var url: String

    public init(status: Int, headers: [(name: String, value: String)] = [], body: [UInt8] = [], url: String = "") {
        self.status = status
        self.headers = headers
        self.body = body
        self.url = url
    }

    /// The first header with this name (case-insensitive).
    public func header(_ name: String) -> String? {
        let lower = name.lowercased()
        return headers.first { $0.name.lowercased() == lower }?.value
    }

    /// Every header with this name.
    public func headerValues(_ name: String) -> [String] {
        let lower = name.lowercased()
        return headers.filter { $0.name.lowercased() == lower }.map(\.value)
    }
}

/// A failure to get a response at all.
public struct TransportError: Error, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        case refused, dns, tls, timeout, connection, cancelled, other
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}

/// Sends HTTP requests. The engine's datasource client talks to the network only through this.
public protocol HTTPTransport: Sendable {
    func send(_ request: HTTPRequest) async throws(TransportError) -> HTTPResponse
    /// Sends a request; a successful (2xx) body goes to `stream` as it arrives instead of into
    /// the response. The stream is finished when the transfer ends.
    func send(_ request: HTTPRequest, streamingTo stream: BodyStream) async throws(TransportError) -> HTTPResponse
}

extension HTTPTransport {
    public func send(_ request: HTTPRequest, streamingTo stream: BodyStream) async throws(TransportError) -> HTTPResponse {
        defer { stream.finish() }
        var response = try await send(request)
        if (200..<300).contains(response.status) {
            _ = stream.push(response.body)
            response.body = []
        }
        return response
    }
}
