import CarDefinition
import ArgumentParser
import CarEngine
import MappingDSL

struct Catalogue: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "CAR's vertex and edge collections: every one, or one with its fields, key and edges.")

    @Argument(help: "A collection (asset, asset_ipaddress, ...).")
    var collection: String?

    @Flag(help: "Print docs/catalogue.md (Markdown).")
    var markdown = false

    func run() throws {
        let catalogue = CARCatalogue.core
        if markdown {
            Console.out(catalogue.markdown)
            return
        }
        guard let collection else {
            Console.out(catalogue.overview)
            return
        }
        guard let text = catalogue.describe(collection) else {
            let all = catalogue.vertexNames + catalogue.edgeNames
            throw ValidationError("unknown collection '\(collection)'\(Suggest.hint(for: collection, in: all))")
        }
        Console.out(text)
    }
}
