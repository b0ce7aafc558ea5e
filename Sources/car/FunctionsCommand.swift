import CarDefinition
import ArgumentParser
import CarEngine

struct Functions: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the reference of the expression language's functions (Markdown).")

    func run() {
        FileHandleOutput.standardOutput(FunctionReference.markdown, terminator: "")
    }
}
