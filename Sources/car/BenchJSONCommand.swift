import CarDefinition
import ArgumentParser
import CarEngine
import MappingDSL

struct BenchJSON: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "json", abstract: "JSON parse and serialize throughput beside Foundation's JSONSerialization.")

    @Option(help: "Size of the generated input in MB.")
    var size: Int = 50

    @Option(name: .customLong("repeat"), help: "Repetitions; the best run counts.")
    var repetitions: Int = 3

    func run() throws {
        FileHandleOutput.standardOutput(try JSONBenchmark.run(megabytes: size, repetitions: max(1, repetitions)))
    }
}
