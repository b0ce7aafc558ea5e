import Foundation
import LoopbackHTTP
import Testing

@testable import CarDefinition
@testable import CarEngine
@testable import MappingDSL

/// TLS as deployments give it: a CA as PEM text, the CA file from the environment, another
/// server name than the base URL's host.
@Suite("TLS from deployments", .enabled(if: TLSFixture.available, "openssl is not installed"))
struct TLSDeploymentTests {
    static let items = "  items: {path: /items}"

    func pem(_ tls: TLSFixture) throws -> String {
        try #require(Repo.read(tls.directory + "/ca.pem"))
    }

    @Test func aCAGivenAsPEMTextIsTrustedAndNeverLogged() async throws {
        let tls = try TLSFixture()
        defer { tls.stop() }
        let base = "https://127.0.0.1:\(tls.port)"
        let pem = try pem(tls)
        let trusted = try Harness(definition(base, endpoints: Self.items, extra: "  tls: {ca_pem: \"${secret}\"}"), values: ["secret": .string(pem)], secrets: [pem])
        #expect(try await trusted.readAll("items") == [["id": 7]])
        #expect(!trusted.log.text.contains("BEGIN CERTIFICATE"))
        // A PEM pasted into one line keeps its breaks as \n.
        let oneLine = pem.replacing("\n", with: "\\n")
        let pasted = try Harness(definition(base, endpoints: Self.items, extra: "  tls: {ca_pem: \"${secret}\"}"), values: ["secret": .string(oneLine)])
        #expect(try await pasted.readAll("items") == [["id": 7]])
    }

    @Test func anEmptyPEMIsUnsetAndTheServerIsNotTrusted() async throws {
        let tls = try TLSFixture()
        defer { tls.stop() }
        let h = try Harness(definition("https://127.0.0.1:\(tls.port)", endpoints: Self.items, extra: "  tls: {ca_pem: \"${secret}\"}"), values: ["secret": ""])
        await expectFailure(51, containing: "tls: ") { _ = try await h.readAll("items") }
    }

    @Test func textThatIsNoPEMFailsWithoutShowingIt() async throws {
        let yaml = definition("https://127.0.0.1:1", endpoints: Self.items, extra: "  tls: {ca_pem: \"${secret}\"}")
        do {
            _ = try Harness(yaml, values: ["secret": "hunter2-not-a-certificate"], secrets: ["hunter2-not-a-certificate"])
            Issue.record("a ca_pem without a certificate was accepted")
        } catch let failure as RunFailure {
            #expect(failure.exitCode == 2)
            #expect(failure.message.contains("tls.ca_pem holds no PEM certificate"))
            #expect(!failure.message.contains("hunter2"))
        }
    }

    /// A connection test of a definition file, with these environment variables.
    func connectionTest(_ base: String, environment: [String: String]) async throws -> (Int32, String) {
        let path = Repo.temporaryPath("tls-env-\(UInt32.random(in: 0...UInt32.max)).yaml")
        try definition(base, endpoints: Self.items, extra: "  connection_test: items").write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        var options = RunOptions(definitionPath: path)
        options.connectionTest = true
        options.environment = environment
        let log = CapturedLog()
        let code = await runCar(options, sink: { line in log.lines.withLock { $0.append(line) } })
        return (code, log.text)
    }

    @Test func theCAFileComesFromTheEnvironmentAsForRequestsAndCurl() async throws {
        let tls = try TLSFixture()
        defer { tls.stop() }
        let base = "https://127.0.0.1:\(tls.port)"
        let ca = tls.directory + "/ca.pem"
        #expect(try await connectionTest(base, environment: ["REQUESTS_CA_BUNDLE": ca]).0 == 0)
        #expect(try await connectionTest(base, environment: ["CURL_CA_BUNDLE": ca]).0 == 0)
        #expect(try await connectionTest(base, environment: ["SSL_CERT_FILE": ca]).0 == 0)
        // REQUESTS_CA_BUNDLE wins over the others; an empty value is unset.
        #expect(try await connectionTest(base, environment: ["REQUESTS_CA_BUNDLE": ca, "SSL_CERT_FILE": "/nonexistent/ca.pem"]).0 == 0)
        #expect(try await connectionTest(base, environment: ["REQUESTS_CA_BUNDLE": "", "CURL_CA_BUNDLE": ca]).0 == 0)
        let (code, log) = try await connectionTest(base, environment: [:])
        #expect(code == 51)
        #expect(log.contains("connection test failed"))
    }

    @Test func theEnvironmentsVariablesInOrder() {
        #expect(EnvironmentCA.from([:]) == nil)
        #expect(EnvironmentCA.from(["SSL_CERT_FILE": "/a", "CURL_CA_BUNDLE": "/b"]) == EnvironmentCA(variable: "CURL_CA_BUNDLE", path: "/b"))
        #expect(EnvironmentCA.from(["SSL_CERT_FILE": "/a", "CURL_CA_BUNDLE": "/b", "REQUESTS_CA_BUNDLE": "/c"])?.path == "/c")
        #expect(EnvironmentCA.from(["SSL_CERT_FILE": "/a", "REQUESTS_CA_BUNDLE": ""])?.variable == "SSL_CERT_FILE")
    }

    @Test func aCertificateForAnotherNameVerifiesWithServerName() async throws {
        let tls = try TLSFixture(subjectAltName: "DNS:asset.internal")
        defer { tls.stop() }
        let base = "https://127.0.0.1:\(tls.port)"
        let ca = tls.directory + "/ca.pem"
        let named = try Harness(definition(base, endpoints: Self.items, extra: "  tls: {ca_bundle: \(ca), server_name: asset.internal}"))
        #expect(try await named.readAll("items") == [["id": 7]])
        let unnamed = try Harness(definition(base, endpoints: Self.items, extra: "  tls: {ca_bundle: \(ca)}"))
        await expectFailure(51, containing: "tls: ") { _ = try await unnamed.readAll("items") }
        let emptyName = try Harness(definition(base, endpoints: Self.items, extra: "  tls: {ca_bundle: \(ca), server_name: \"${secret}\"}"), values: ["secret": ""])
        await expectFailure(51, containing: "tls: ") { _ = try await emptyName.readAll("items") }
    }

    @Test func serverNameIsTheHostHeaderAndLinksStayOnTheBaseURL() async throws {
        let hosts = Recorder<String>()
        let server = try HTTPServer { r in
            hosts.append(r.header("Host") ?? "")
            if r.target.contains("page=2") { return .json("[{\"id\": 2}]") }
            return .json("[{\"id\": 1}]", headers: [("Link", "</items?page=2>; rel=\"next\"")])
        }
        defer { server.stop() }
        let port = try #require(URLs.authority(server.baseURL)?.port)
        let h = try Harness(definition(server.baseURL, endpoints: "  items: {path: /items, pagination: {type: link_header}}",
                                       extra: "  tls: {server_name: asset.internal}"))
        #expect(try await h.readAll("items") == [["id": 1], ["id": 2]])
        #expect(hosts.all == ["asset.internal:\(port)", "asset.internal:\(port)"])
    }
}
