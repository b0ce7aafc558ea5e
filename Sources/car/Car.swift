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
            var command = try parseAsRoot(FrameworkArguments.normalized(Array(CommandLine.arguments.dropFirst())))
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

/// IBM's deployments give parameters with one dash (`-password x`, `-auth_token x`), which
/// argument-parser would read as bundled short flags (-p -a -s ...). For `car run`, a single-dash
/// word becomes a double-dash one (car's own flags answer to both; `-version`, the connector's
/// version, stays), so that it reaches the flags named after the definition's parameters.
enum FrameworkArguments {
    static func normalized(_ arguments: [String]) -> [String] {
        guard arguments.first == "run" else { return arguments }
        var out = [arguments[0]]
        var i = 1
        while i < arguments.count {
            let arg = arguments[i]
            if arg == "--" {
                out += arguments[i...]
                break
            }
            let name = arg.dropFirst().split(separator: "=", maxSplits: 1).first.map(String.init) ?? ""
            guard arg.hasPrefix("-"), !arg.hasPrefix("--"), arg.count > 2, name.first?.isLetter == true, name != "version" else {
                out.append(arg)
                i += 1
                continue
            }
            out.append("-" + arg)
            // The next word is this flag's value, whatever it looks like.
            if !arg.contains("="), !FrameworkFlags.switches.contains(name), i + 1 < arguments.count {
                out.append(arguments[i + 1])
                i += 1
            }
            i += 1
        }
        return out
    }
}
