import CarDefinition
import ArgumentParser
import CarEngine

@main
struct Car: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "car",
        abstract: "Runs declarative connectors for the CAR asset graph of IBM Cloud Pak for Security.",
        version: CarEngineVersion.current,
        subcommands: [Demo.self, Validate.self, Test.self, Catalogue.self, Package.self, Run.self, Map.self, Sim.self, Schema.self, Functions.self, Bench.self])

    /// Exit code 2 for usage errors, as the framework's deployments expect.
    static func main() async {
        ProcessTuning.limitMallocArenas()
        do {
            var command = try parseAsRoot()
            if var async = command as? AsyncParsableCommand {
                try await async.run()
            } else {
                try command.run()
            }
        } catch {
            let code = exitCode(for: error)
            if code == .validationFailure {
                Console.err(fullMessage(for: error) + "\n")
                Console.exitProcess(2)
            }
            exit(withError: error)
        }
    }
}

enum FileHandleOutput {
    static func standardOutput(_ text: String, terminator: String = "\n") {
        Console.out(text + terminator)
    }
}

/// A long option that also answers to a single dash, as the framework's deployments spell it.
func both(_ name: String) -> NameSpecification {
    [.customLong(name), .customLong(name, withSingleDash: true)]
}
