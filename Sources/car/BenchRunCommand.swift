import CarDefinition
import ArgumentParser
import CarEngine
import CarSimulators

struct BenchRun: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Full and incremental imports against the simulators at 1k, 10k and 100k assets; figures per run.",
        discussion: "Build with -c release first. --quick runs 200 assets only (the CI smoke test).")

    @Flag(help: "A quick run at 200 assets.")
    var quick = false

    @Option(help: "Comma-separated model sizes (assets).", transform: BenchRun.sizes)
    var sizes: [Int] = [1000, 10000, 100000]

    static func sizes(_ text: String) throws -> [Int] {
        let list = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        let sizes = list.compactMap { Int($0) }.filter { $0 > 0 }
        guard sizes.count == list.count, !sizes.isEmpty else { throw ValidationError("--sizes takes positive whole numbers separated by commas, found '\(text)'") }
        return sizes
    }

    @Option(help: "The definition.")
    var definition = "connectors/reference.yaml"

    func run() async throws {
        let list = quick ? [200] : sizes
        let report = try await Benchmark.run(sizes: list, definition: definition)
        Console.out(report.text)
        if !report.failures.isEmpty { throw ExitCode(1) }
    }
}
