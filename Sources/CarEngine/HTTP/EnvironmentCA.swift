/// The CA file a deployment names in the environment, used for the datasource when the
/// definition gives no `tls.ca_bundle` or `tls.ca_pem`.
///
/// Three variables are read, as the tools IBM's Python connectors run with read them:
/// `REQUESTS_CA_BUNDLE` (Python's requests, which the Python connectors use), then
/// `CURL_CA_BUNDLE` (curl's own, and requests' second choice), then `SSL_CERT_FILE` (OpenSSL's
/// default for every program on the machine). The most specific wins: a deployment that sets
/// `REQUESTS_CA_BUNDLE` meant it for the connector, while `SSL_CERT_FILE` may be set for the
/// whole image. requests reads its two in this order too. An empty value counts as unset.
public struct EnvironmentCA: Sendable, Hashable {
    /// The variable the file came from.
    public var variable: String
    /// The PEM file of CAs.
    public var path: String

    public static let variables = ["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"]

    public init(variable: String, path: String) {
        self.variable = variable
        self.path = path
    }

    /// The first of `variables` that is set and not empty.
    public static func from(_ environment: [String: String]) -> EnvironmentCA? {
        for name in variables {
            if let value = environment[name], !value.isEmpty { return EnvironmentCA(variable: name, path: value) }
        }
        return nil
    }
}
