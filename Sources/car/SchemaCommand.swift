import CarDefinition
import ArgumentParser
import CarEngine
import MappingDSL

struct Schema: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the JSON Schema of the definition format.")

    func run() {
        FileHandleOutput.standardOutput(DefinitionSchema.text, terminator: "")
    }
}
