import CarDefinition
import ArgumentParser

struct Sim: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Start a simulator on 127.0.0.1: the CAR service, or the reference datasource.",
        subcommands: [SimCAR.self, SimReference.self, SimEdit.self])
}
