import ArgumentParser
import CarEngine
import MappingDSL

@main
struct Car: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "car",
        abstract: "Runs declarative connectors for the CAR asset graph of IBM Cloud Pak for Security.",
        version: CarEngineVersion.current,
        subcommands: [Validate.self, Schema.self, Functions.self, Bench.self])

    /// Exit code 2 for usage errors, as the framework's deployments expect.
    static func main() async {
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

struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check connector definitions; every problem is reported as file:line:col.",
        discussion: "Exit status: 0 when every file is valid (warnings allowed), 1 when any has an error, 2 on usage errors.")

    @Option(name: .long, help: "Output format: text or json.")
    var format: String = "text"

    @Argument(help: "Definition files.")
    var files: [String]

    func validate() throws {
        guard ValidateCommand.Format(rawValue: format) != nil else {
            throw ValidationError("--format must be text or json")
        }
        if files.isEmpty { throw ValidationError("name at least one definition file") }
    }

    func run() throws {
        let (output, code) = ValidateCommand.run(paths: files, format: ValidateCommand.Format(rawValue: format) ?? .text)
        FileHandleOutput.standardOutput(output, terminator: "")
        if code != 0 { throw ExitCode(code) }
    }
}

struct Schema: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the JSON Schema of the definition format.")

    func run() {
        FileHandleOutput.standardOutput(DefinitionSchema.text, terminator: "")
    }
}

struct Functions: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the reference of the expression language's functions (Markdown).")

    func run() {
        FileHandleOutput.standardOutput(FunctionReference.markdown, terminator: "")
    }
}

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmarks.", subcommands: [BenchJSON.self])
}

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

enum FileHandleOutput {
    static func standardOutput(_ text: String, terminator: String = "\n") {
        Console.out(text + terminator)
    }
}
