import CarDefinition
import ArgumentParser
import CarEngine
import MappingDSL

struct Map: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Map records from a JSON file with a definition and print the CAR import envelopes a full import would send.",
        discussion: """
            The records file is a JSON object of endpoint names to lists of records, as the datasource \
            would answer them. Lookups are served from these records. Envelopes go to standard output, \
            one per line (pretty on a terminal); the summary and skipped records go to standard error.
            """)

    @Argument(help: "The definition file.")
    var definition: String

    @Option(help: "The records file.")
    var records: String

    @Option(help: "The source (connection) name.")
    var source: String = "local"

    @Option(name: .customLong("report-time"), help: "The report time in epoch milliseconds (default: now).")
    var reportTime: Int64?

    @Option(name: .customLong("page-size"), help: "Objects per envelope.")
    var pageSize: Int = 2000

    @Option(name: .customLong("param"), help: "A parameter value, NAME=VALUE (repeatable).")
    var params: [String] = []

    @Flag(help: "Pretty-print envelopes (the default on a terminal).")
    var pretty = false

    func validate() throws {
        _ = try NameValue.parse(params, option: "--param")
    }

    func run() async throws {
        var options = MapCommand.Options(definitionPath: definition, recordsPath: records, reportTime: reportTime ?? WallClock.nowMs())
        options.source = source
        options.pageSize = pageSize
        options.pretty = pretty || Console.isTerminal(1)
        options.parameters = try NameValue.parse(params, option: "--param")  // checked in validate()
        let output = await MapCommand.run(options)
        for e in output.envelopes { Console.out(e + "\n") }
        for m in output.messages { Console.err(m + "\n") }
        if output.exitCode != 0 { throw ExitCode(output.exitCode) }
    }
}
