import CarSimulators
import LoopbackHTTP
import Synchronization
import Testing

@testable import CarDefinition
@testable import CarEngine
@testable import MappingDSL

/// Distinctive secrets, one of each kind a run holds, so that a scan finds any that leaks.
enum DistinctSecrets {
    static let password = "Dsrc-Pa55word!x9"
    static let token = "Tok3n/Q7zz+Bearer"
    static let carPassword = "Car-Pa55=K3y&zz"
    static let clientSecret = "OAuth2-Cl1ent:S3cret"
    static let fileValue = "F1le-Secret ?v4lue"
    static let all = [password, token, carPassword, clientSecret, fileValue]

    /// Every form a secret could take in a leak: plain, base64 (alone and in Basic
    /// credentials), percent-encoded.
    static var forms: [(secret: String, form: String)] {
        var out: [(String, String)] = []
        for s in all {
            out.append((s, s))
            out.append((s, Base64.encode(Array(s.utf8))))
            out.append((s, URLs.encodeQuery(s)))
            out.append((s, Network.percentEncode(s)))
        }
        for (user, s) in [("admin", password), ("car-key", carPassword), ("client-1", clientSecret)] {
            out.append((s, Base64.encode(Array("\(user):\(s)".utf8))))
            out.append((s, Base64.encode(Array("\(user):\(URLs.encodeQuery(s))".utf8))))
        }
        return out
    }

    /// The forms of secrets found in `text`.
    static func leaks(in text: String) -> [String] {
        forms.filter { text.contains($0.form) }.map { "\($0.secret) as \($0.form)" }
    }
}

/// One misbehaviour: the datasource's answers (and CAR's faults), the definition's parts, and
/// what the run must end with.
struct Misbehaving: Sendable, CustomTestStringConvertible {
    /// The servers a handler can point at: this datasource and another host.
    struct Servers: Sendable {
        let base: String
        let other: String
    }

    let name: String
    var auth = #"{type: basic, username: admin, password: "${password}"}"#
    var endpoint = "{path: /items/}"
    var datasource = ""
    var modelState = "current: run_start"
    /// Faults the CAR simulator starts the run with.
    var carFaults: JSON?
    var configure: @Sendable (inout RunOptions) -> Void = { _ in }
    let handler: @Sendable (HTTPServerRequest, Servers) -> HTTPServerResponse
    let code: Int32
    let message: String
    /// The full import ended in CAR (all was imported; only the model state save failed).
    var fullImportLeft = false
    /// The existing test that asserts this behaviour (the secrets scan still runs it).
    var testedBy: String?

    var testDescription: String { name }
}

/// What a misbehaving run left.
struct MisbehavedRun {
    let code: Int32
    let log: CapturedLog
    let output: String
    let source: JSON?
    let car: CARSimulator
    let datasource: HTTPServer
    /// Requests the other host received.
    let otherRequests: [HTTPServerRequest]
    /// The text of the files left in the export data directory.
    let exportFiles: String

    /// The exit code and message; no model state saved; no full import presented as complete.
    func expectFailed(_ m: Misbehaving, sourceLocation: Testing.SourceLocation = #_sourceLocation) {
        #expect(code == m.code, "\(log.text)", sourceLocation: sourceLocation)
        #expect(log.text.replacing("\\\"", with: "\"").contains(m.message), "expected '\(m.message)' in:\n\(log.text)", sourceLocation: sourceLocation)
        #expect(source?["model_state_id"] ?? .null == .null, "no model state is saved", sourceLocation: sourceLocation)
        if !m.fullImportLeft {
            #expect(source?["full_import_in_progress"] ?? .bool(true) == .bool(true), "no full import is completed", sourceLocation: sourceLocation)
        }
    }
}

/// Runs a one-endpoint definition that holds every kind of secret against a misbehaving
/// datasource and the CAR simulator.
enum MisbehaviourRig {
    static func yaml(_ m: Misbehaving, base: String) -> String {
        """
        format: 1
        connector: {name: t, version: 1.0.0}
        parameters:
          password: {type: password, section: auth}
          token: {type: password, section: auth}
          client_secret: {type: password, section: auth}
          file_secret: {type: password, section: auth}
        datasource:
          base_url: "\(base)"
          auth: \(m.auth)
          headers: {X-Api-Token: "${token}", X-File-Secret: "${file_secret}"}
          retries: {max: 1, delay: 10ms, max_delay: 20ms}
          timeouts: {request: 2s}
        \(m.datasource)
        endpoints:
          items: \(m.endpoint)
        vertices:
          asset: {from: items, fields: {external_id: str($.id), name: str($.id)}}
        edges:
          asset_vulnerability: {from: items, fields: {_from_external_id: str($.id), _to_external_id: "str('cve-' + str($.id))"}}
        model_state:
          \(m.modelState)
        """
    }

    /// A datasource that answers well: three items, the state and an empty delta.
    static func wellBehaved(_ r: HTTPServerRequest) -> HTTPServerResponse {
        .json(#"[{"id": 1}, {"id": 2}, {"id": 3}]"#)
    }

    static func run(_ m: Misbehaving, dryRun: Bool = false, debug: Bool = false, car existing: CARSimulator? = nil,
                    datasource existingServer: HTTPServer? = nil) async throws -> MisbehavedRun
    {
        let otherRequests = Recorder<HTTPServerRequest>()
        let other = try HTTPServer { r in
            otherRequests.append(r)
            return .json(#"[{"id": 9}]"#)
        }
        defer { other.stop() }
        let base = Shared("")
        let otherBase = other.baseURL
        let server = try existingServer ?? HTTPServer { r in m.handler(r, Misbehaving.Servers(base: base.get, other: otherBase)) }
        base.set(server.baseURL)
        var carOptions = CARSimulatorOptions()
        carOptions.password = DistinctSecrets.carPassword
        let car = try existing ?? CARSimulator(options: carOptions)
        if let faults = m.carFaults { car.setFaults(faults) }
        let path = Repo.temporaryPath("misbehaving-\(server.port)-\(Int.random(in: 0..<1_000_000)).yaml")
        try FileIO.write(Array(yaml(m, base: server.baseURL).utf8), to: path)
        let secrets = Repo.scratchDirectory("secrets")
        try FileIO.write(Array((DistinctSecrets.fileValue + "\n").utf8), to: secrets + "/CONFIGURATION_AUTH_FILE_SECRET")
        let export = Repo.scratchDirectory("export")
        var o = RunOptions(definitionPath: path)
        o.environment = [
            "CAR_SERVICE_URL": car.baseURL, "CAR_SERVICE_KEY": "car-key", "CAR_SERVICE_PASSWORD": DistinctSecrets.carPassword,
            "CONNECTION_NAME": "src", "CONFIGURATION_AUTH_PASSWORD": DistinctSecrets.password,
            "CONFIGURATION_AUTH_TOKEN": DistinctSecrets.token, "CONFIGURATION_AUTH_CLIENT_SECRET": DistinctSecrets.clientSecret,
        ]
        o.secretsDirectory = secrets
        o.carDelayMs = 2
        o.carJobWaitMs = 1000
        o.logFormat = .json
        o.debug = debug
        o.dryRun = dryRun
        if dryRun { o.source = "src" }
        o.edgeMemoryLimit = 1
        o.exportDataDirectory = export
        o.keepExportDataDirectory = true
        m.configure(&o)
        let log = CapturedLog()
        let output = Recorder<String>()
        let code = await runCar(o, sink: { line in log.lines.withLock { $0.append(line) } }, output: { output.append($0) })
        if existing == nil { car.stop() }
        if existingServer == nil { server.stop() }
        let files = DirectoryListing.names(export).compactMap { Repo.read(export + "/" + $0) }.joined(separator: "\n")
        return MisbehavedRun(code: code, log: log, output: output.all.joined(), source: car.graph["sources"]?["src"], car: car,
                             datasource: server, otherRequests: otherRequests.all, exportFiles: files)
    }
}
