import CarDefinition
import ArgumentParser
import CarEngine

extension ValidateCommand.Format: ExpressibleByArgument {}

struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check connector definitions; every problem is reported as file:line:col.",
        discussion: "Exit status: 0 when every file is valid (warnings allowed), 1 when any has an error, 2 on usage errors.")

    @Option(name: .long, help: "Output format: text or json.")
    var format: ValidateCommand.Format = .text

    @Argument(help: "Definition files.")
    var files: [String]

    func validate() throws {
        if files.isEmpty { throw ValidationError("name at least one definition file") }
    }

    func run() throws {
        let (output, code) = ValidateCommand.run(paths: files, format: format)
        FileHandleOutput.standardOutput(output, terminator: "")
        if code != 0 { throw ExitCode(code) }
    }
}
