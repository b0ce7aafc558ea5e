import CarDefinition
import ArgumentParser
import CarEngine
import CarSimulators

struct SimReference: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reference",
        abstract: "The reference datasource on 127.0.0.1, with a generated model.",
        discussion: """
            Routes as the original server: /assets/, /sites/, ... with Basic auth, /model_state_id/, \
            /delta/?from=&to=. Change records with 'car sim edit' or the admin API under /_admin/.
            """)

    @Option(help: "The port (0: any free port).")
    var port: UInt16 = 8000

    @Option(help: "Assets in the generated model.")
    var assets = 100

    @Option(help: "The generator's seed.")
    var seed: UInt64 = 1

    @Option(help: "The user name.")
    var username = "admin"

    @Option(help: "The password.")
    var password = "admin"

    func run() async throws {
        let simulator = try ReferenceSimulator(port: port, assets: assets, seed: seed, username: username, password: password)
        Console.out("reference datasource on \(simulator.baseURL) (\(assets) assets, model state \(simulator.modelStateID)); stop with Ctrl-C\n")
        while true { try await Task.sleep(for: .seconds(3600)) }
    }
}
