import CarDefinition
import ArgumentParser
import CarEngine
import CarSimulators

struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The reference connector between the two simulators: a full import, changes, an incremental import, a check.",
        discussion: "Needs nothing but this repository (run it from the top folder); leaves nothing running.")

    @Option(help: "The size of the generated reference model.")
    var assets = 200

    @Option(help: "The generator's seed.")
    var seed: UInt64 = 7

    func run() async throws {
        let result = await DemoRun.run(assets: assets, seed: seed)
        Console.out(result.output)
        if result.exitCode != 0 { throw ExitCode(result.exitCode) }
    }
}
