import CarDefinition
import ArgumentParser
import CarEngine
import CarSimulators
import MappingDSL

struct SimCAR: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "car",
        abstract: "A CAR service on 127.0.0.1: the calls of the CAR API, a graph per source, faults on demand.",
        discussion: """
            Give car -car-service-url http://127.0.0.1:PORT/api/car/v2 with -car-service-key and \
            -car-service-password (or -car-service-token). Admin routes, without auth: GET /admin/graph \
            (the whole graph), GET /admin/calls, POST /admin/faults, POST /admin/reset. Faults, as JSON \
            for --faults or POST /admin/faults: {"fail": [{"method": "POST", "path": "imports", \
            "status": 500, "count": 1, "after": 0}], "delay_ms": 0, "drop": 1, "incomplete_polls": 2, \
            "fail_import_jobs": {"status_code": 500, "count": 1}, "duplicate_job_ids": true, "no_database": true, \
            "clear": true}. "after" lets that many matching calls through first.
            """)

    @Option(help: "The port (0: any free port).")
    var port: UInt16 = 8088

    @Option(help: "Keep the graph in this directory, across restarts.")
    var data: String?

    @Option(help: "The service key for Basic auth.")
    var key = "car-key"

    @Option(help: "The service password for Basic auth.")
    var password = "car-password"

    @Option(help: "The token for car-token auth.")
    var token = "car-token-value"

    @Option(name: .customLong("import-schema"), help: "A JSON file with the import schema to validate against (default: car's catalogue).")
    var importSchema: String?

    @Flag(name: .customLong("database-ready"), help: "Start with a ready database (default: none, as a fresh instance).")
    var databaseReady = false

    @Option(help: "Faults to start with, as JSON.")
    var faults: String?

    @Option(name: .customLong("graphql-ops"),
            help: "The GraphQL operators read-back may use, comma-separated (default: all it implements); others get 400 with a GraphQL error. CAR's confirmed ones: _and,_eq,_lte.")
    var graphqlOps: String?

    /// The operators of --graphql-ops.
    var operators: Set<String>? {
        graphqlOps.map { Set($0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }) }
    }

    func validate() throws {
        let unknown = (operators ?? []).subtracting(CARSimulatorOptions.implementedOperators)
        if !unknown.isEmpty {
            throw ValidationError("--graphql-ops: unknown operator \(unknown.sorted().joined(separator: ", ")); known: \(CARSimulatorOptions.implementedOperators.sorted().joined(separator: ","))")
        }
    }

    func run() async throws {
        var options = CARSimulatorOptions()
        options.graphqlOperators = operators
        options.port = port
        options.dataDirectory = data
        options.key = key
        options.password = password
        options.token = token
        options.databaseReady = databaseReady
        if let importSchema {
            let doc = try JSONParser.parse(try FileIO.read(importSchema))
            options.importSchema = doc["schema"] ?? doc
        }
        let simulator = try CARSimulator(options: options)
        if let faults { simulator.setFaults(try JSONParser.parse(faults)) }
        Console.out("CAR simulator on \(simulator.baseURL) (admin: \(simulator.adminURL)/graph); stop with Ctrl-C\n")
        while true { try await Task.sleep(for: .seconds(3600)) }
    }
}
