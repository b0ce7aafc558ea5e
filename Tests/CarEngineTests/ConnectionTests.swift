import Foundation
import LoopbackHTTP
import Testing

@testable import CarDefinition
@testable import CarEngine
@testable import MappingDSL

/// A stand-in for the reference datasource's auth behaviour: Basic auth, 403 on wrong
/// credentials, slashed routes.
func referenceAuthServer() throws -> HTTPServer {
    try HTTPServer { r in
        guard r.path.hasSuffix("/") else {
            return HTTPServerResponse(status: 301, headers: [("Location", r.path + "/")])
        }
        guard r.header("Authorization") == "Basic " + Base64.encode(Array("admin:admin".utf8)) else {
            return .json(#"{"detail": "Invalid username/password."}"#, status: 403)
        }
        return .json("[]")
    }
}

@Suite("Connection test")
struct ConnectionTestTests {
    func run(_ server: HTTPServer, password: String) async -> (Int32, [String]) {
        var options = RunOptions(definitionPath: Repo.root + "/connectors/reference.yaml")
        options.connectionTest = true
        options.environment = ["CONFIGURATION_AUTH_URL": server.baseURL, "CONFIGURATION_AUTH_PASSWORD": password]
        let log = CapturedLog()
        let code = await runCar(options, sink: { line in log.lines.withLock { $0.append(line) } })
        return (code, log.all)
    }

    @Test func theReferenceConnectorPassesWithTheRightCredentials() async throws {
        let server = try referenceAuthServer()
        defer { server.stop() }
        let (code, log) = await run(server, password: "admin")
        #expect(code == 0)
        #expect(log.last?.contains("connection test passed") == true)
        #expect(server.requestsServed == 1)
    }

    @Test func wrongCredentialsGiveTheForbiddenCode() async throws {
        let server = try referenceAuthServer()
        defer { server.stop() }
        let (code, log) = await run(server, password: "wrong-password")
        #expect(code == 53)
        let line = try #require(log.last)
        #expect(line.contains("connection test failed: GET \(server.baseURL)/sites/?pk=0 (connection test): status 403"))
        #expect(!line.contains("wrong-password"))
        #expect(line.contains("\"level\":\"ERROR\""))
        #expect(line.contains("\"connector\":\"reference\""))
    }

    @Test func anUnreachableDatasourceGives51() async throws {
        let closed = try RefusingPort()
        var options = RunOptions(definitionPath: Repo.root + "/connectors/reference.yaml")
        options.environment = ["CONFIGURATION_AUTH_URL": closed.baseURL, "CONFIGURATION_AUTH_PASSWORD": "admin", "DATASOURCE_CONNECTION_TEST": "true"]
        let code = await runCar(options, sink: { _ in })
        #expect(code == 51)
    }

    @Test func aMissingParameterGives2() async throws {
        var options = RunOptions(definitionPath: Repo.root + "/connectors/reference.yaml")
        options.connectionTest = true
        let log = CapturedLog()
        let code = await runCar(options, sink: { line in log.lines.withLock { $0.append(line) } })
        #expect(code == 2)
        #expect(log.text.contains("missing parameter: 'password' (-password VALUE or CONFIGURATION_AUTH_PASSWORD)"))
    }
}

/// A TLS server: `openssl s_server -HTTP` with a certificate from a CA made for the test.
final class TLSFixture {
    let directory: String
    let port: UInt16
    let process: ChildProcess

    static var available: Bool { FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl") }

    static func openssl(_ args: [String], in directory: String) throws {
        if try ChildProcess.run(["/usr/bin/openssl"] + args, directory: directory) != 0 {
            throw ServerError("openssl \(args.first ?? "") failed")
        }
    }

    /// A CA, and a server certificate for `subjectAltName` (127.0.0.1 by default) signed by it.
    static func makeCertificates(in directory: String, subjectAltName: String = "IP:127.0.0.1") throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        try openssl(["req", "-x509"] + ec + ["-keyout", "ca.key", "-out", "ca.pem", "-days", "1", "-subj", "/CN=car test CA"], in: directory)
        try openssl(["req"] + ec + ["-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1"], in: directory)
        try "subjectAltName=\(subjectAltName)\nbasicConstraints=CA:FALSE\n".write(toFile: directory + "/ext.cnf", atomically: true, encoding: .utf8)
        try openssl(["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.pem",
                     "-days", "1", "-extfile", "ext.cnf"], in: directory)
        // s_server -HTTP serves files holding whole HTTP responses.
        try "HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n[{\"id\": 7}]".write(toFile: directory + "/items", atomically: true, encoding: .utf8)
    }

    init(subjectAltName: String = "IP:127.0.0.1") throws {
        directory = Repo.temporaryPath("tls-\(UInt32.random(in: 0...UInt32.max))")
        try Self.makeCertificates(in: directory, subjectAltName: subjectAltName)
        var chosen: UInt16 = 0
        do {
            let probe = try RefusingPort()
            chosen = probe.port
        }
        port = chosen
        // Under timeout(1): the server stops by itself even if this process dies.
        process = try ChildProcess(
            ["/usr/bin/timeout", "120", "/usr/bin/openssl", "s_server", "-accept", "127.0.0.1:\(port)", "-cert", "server.pem", "-key",
             "server.key", "-HTTP", "-quiet"], directory: directory)
        // Wait until it accepts connections (at most 5 s).
        for _ in 0..<100 {
            if Loopback.accepts(port: port) { return }
            usleep(50_000)
        }
        throw ServerError("openssl s_server did not start")
    }


    func stop() {
        process.stop()
        try? FileManager.default.removeItem(atPath: directory)
    }
}

@Suite("TLS", .enabled(if: TLSFixture.available, "openssl is not installed"))
struct TLSTests {
    @Test func aPrivateCAIsTrustedWithCABundleAndRefusedWithout() async throws {
        let tls = try TLSFixture()
        defer { tls.stop() }
        let base = "https://127.0.0.1:\(tls.port)"
        let trusted = try Harness(definition(base, endpoints: "  items: {path: /items}", extra: "  tls: {ca_bundle: \(tls.directory)/ca.pem}"))
        #expect(try await trusted.readAll("items") == [["id": 7]])
        let untrusted = try Harness(definition(base, endpoints: "  items: {path: /items}"))
        await expectFailure(51, containing: "tls: ") { _ = try await untrusted.readAll("items") }
        let skipping = try Harness(definition(base, endpoints: "  items: {path: /items}", extra: "  tls: {insecure_skip_verify: true}"))
        #expect(try await skipping.readAll("items") == [["id": 7]])
        #expect(skipping.log.text.contains("TLS certificate verification is off"))
    }
}
