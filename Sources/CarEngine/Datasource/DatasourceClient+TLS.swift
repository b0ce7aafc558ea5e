import CarDefinition
import Logging
import MappingDSL

extension DatasourceClient {
    /// The TLS options of the datasource's requests from the definition's `tls` (templates
    /// rendered by `render`, empty values as unset) and the environment's CA file.
    static func tlsOptions(_ spec: TLSSpec, baseURL: String, environmentCA: EnvironmentCA?, logger: Logger,
                           render: (Template?, String) throws(RunFailure) -> String?) throws(RunFailure) -> TLSOptions
    {
        var options = TLSOptions(
            caBundle: try render(spec.caBundle, "tls.ca_bundle"), clientCert: try render(spec.clientCert, "tls.client_cert"),
            clientKey: try render(spec.clientKey, "tls.client_key"), insecureSkipVerify: spec.insecureSkipVerify)
        if var pem = try render(spec.caPEM, "tls.ca_pem") {
            // A PEM pasted into one line of a form or a variable keeps its line breaks as \n.
            if !pem.contains("\n") && pem.contains("\\n") { pem = pem.replacing("\\n", with: "\n") }
            guard pem.contains("-----BEGIN CERTIFICATE-----") else {
                // Never the text itself: it may be a secret parameter.
                throw RunFailure(.invalidParameter, "datasource tls.ca_pem holds no PEM certificate (no -----BEGIN CERTIFICATE----- line)")
            }
            if let file = options.caBundle {
                // Both: trust both (libcurl takes one source, so the file joins the text).
                let bytes: [UInt8]
                do { bytes = try FileIO.read(file, limit: 16 << 20) } catch {
                    throw RunFailure(.invalidParameter, "datasource tls.ca_bundle: \(error.description)")
                }
                pem = String(decoding: bytes, as: UTF8.self) + "\n" + pem
                options.caBundle = nil
            }
            options.caPEM = pem
        } else if options.caBundle == nil, let environmentCA {
            options.caBundle = environmentCA.path
            logger.debug("TLS: the datasource's CAs are those of \(environmentCA.path) (\(environmentCA.variable))", label: "datasource")
        }
        if let name = try render(spec.serverName, "tls.server_name") {
            guard let authority = URLs.authority(baseURL) else {
                throw RunFailure(.invalidParameter, "datasource tls.server_name: the base URL has no host")
            }
            guard !name.contains(where: { $0 == ":" || $0 == "/" || $0 == "@" || $0 == " " }) else {
                throw RunFailure(.invalidParameter, "datasource tls.server_name '\(name)' is not a host name")
            }
            options.serverName = ServerNameOverride(name: name, host: authority.host)
        }
        return options
    }
}
