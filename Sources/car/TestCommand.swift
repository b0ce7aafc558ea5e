import ArgumentParser
import CarEngine
import CarReplay

struct Test: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a connector's replay tests: recorded datasource answers against the CAR simulator.",
        discussion: """
            The cases of connectors/NAME.yaml are the YAML files in connectors/NAME.tests/. Each step \
            serves its recorded exchanges on 127.0.0.1, runs the connector against a CAR simulator, and \
            compares CAR's graph with NAME.tests/CASE.STEP.graph.json. A request the recordings do not \
            hold, or a recorded exchange never requested, fails the case.
            Exit status: 0 when every case passes, 1 when one fails, 2 when a definition does not load.
            """)

    @Option(name: .customLong("case"), help: "Run only this case (its file name without .yaml).")
    var caseName: String?

    @Flag(name: .long, help: "Write the expected graphs from this run instead of comparing (review them).")
    var update = false

    @Flag(name: .long, help: "Print each run's log.")
    var verbose = false

    @Option(name: .long, help: "Record a new case NAME: a full import against the live datasource, secrets replaced.")
    var record: String?

    @Flag(name: .long, help: "With --record: append an incremental step to the case (its steps are replayed first, then the datasource is read from the state they saved).")
    var append = false

    @Option(name: .long, help: "For --record: a parameter value NAME=VALUE (repeatable; environment variables work too).")
    var param: [String] = []

    @Option(name: .long, help: "For --record: the source (connection) name (default car-test).")
    var source: String?

    @Argument(help: "Definition files.")
    var definitions: [String]

    func validate() throws {
        if definitions.isEmpty { throw ValidationError("name at least one definition file") }
        if record != nil && definitions.count != 1 { throw ValidationError("--record records one definition") }
        if append && record == nil { throw ValidationError("--append goes with --record NAME") }
        for p in param where !p.contains("=") { throw ValidationError("--param takes NAME=VALUE, not '\(p)'") }
    }

    func run() async throws {
        if let record, let path = definitions.first {
            var run = RunOptions(definitionPath: path)
            run.environment = ProcessEnvironment.all()
            run.source = source
            for p in param {
                let parts = p.split(separator: "=", maxSplits: 1)
                run.parameters[String(parts[0])] = parts.count > 1 ? String(parts[1]) : ""
            }
            var recorder = ReplayRecorder(definitionPath: path, caseName: record, options: run, atMs: WallClock.nowMs() / 1000 * 1000)
            recorder.appendIncremental = append
            switch await recorder.record() {
            case .success(let files): FileHandleOutput.standardOutput("recorded " + files.joined(separator: " and "))
            case .failure(let f):
                Console.err("car test --record: \(f.message)\n")
                throw ExitCode(f.exitCode)
            }
            return
        }
        var options = ReplayCommand.Options(definitions: definitions)
        options.caseName = caseName
        options.update = update
        options.verbose = verbose
        let code = await ReplayCommand.run(options) { FileHandleOutput.standardOutput($0) }
        if code != 0 { throw ExitCode(code) }
    }
}
