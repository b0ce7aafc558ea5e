import MappingDSL

/// `car demo`: what car does, on embedded defaults, with nothing to configure.
///
/// Validates every definition in connectors/, then maps the reference example records with the
/// reference connector and shows what a full import would send: counts per collection and one
/// sample object of each. (Once the simulators exist, the demo runs full and incremental
/// imports against them.)
public enum DemoCommand {
    public static func run(root: String = ".") async -> (output: String, exitCode: Int32) {
        var out = "car \(CarEngineVersion.current) demo\n\n"
        let connectors = DirectoryListing.names(root + "/connectors").filter { $0.hasSuffix(".yaml") }.sorted()
            .map { root + "/connectors/" + $0 }
        guard !connectors.isEmpty else {
            return ("no definitions in \(root)/connectors: run the demo from the repository's top folder\n", 1)
        }
        out += "1. validate the connector definitions\n"
        let (validation, code) = ValidateCommand.run(paths: connectors, format: .text)
        out += validation.split(separator: "\n").map { "   " + $0 }.joined(separator: "\n") + "\n"
        if code != 0 { return (out, code) }

        let definition = root + "/connectors/reference.yaml"
        let records = root + "/examples/reference/records.json"
        out += "\n2. map the example records of the reference datasource (\(records))\n"
        var options = MapCommand.Options(definitionPath: definition, recordsPath: records, reportTime: 1_732_838_400_000)
        options.source = "demo"
        let mapped = await MapCommand.run(options)
        if mapped.exitCode != 0 {
            return (out + mapped.messages.joined(separator: "\n") + "\n", mapped.exitCode)
        }
        out += mapped.messages.joined(separator: "\n").split(separator: "\n").map { "   " + $0 }.joined(separator: "\n") + "\n"

        out += "\n3. one object of each collection, as CAR receives it\n"
        var shown: Set<String> = []
        for text in mapped.envelopes {
            guard case .object(let envelope)? = try? JSONParser.parse(text) else { continue }
            for (collection, value) in envelope where collection != "source" && collection != "report" {
                guard shown.insert(collection).inserted, let first = value.arrayValue?.first else { continue }
                out += "   \(collection): \(first)\n"
            }
        }
        out += "\nThe full envelopes: swift run car map connectors/reference.yaml --records \(records)\n"
        // Paths as a user in the top folder would write them.
        return (out.replacing(root + "/", with: ""), 0)
    }
}
