import CarDefinition
import FuzzSupport
import MappingDSL

@testable import CarEngine

/// The compiled reference definition (connectors/reference.yaml).
let definition: ConnectorDefinition = {
    let path = Fuzz.repositoryRoot + "/connectors/reference.yaml"
    guard let d = DefinitionLoader.load(path: path).definition else { fatalError("\(path) does not load") }
    return d
}()

/// The example records (examples/reference/records.json), by endpoint: what lookups find.
let examples: [(String, [JSON])] = {
    let path = Fuzz.repositoryRoot + "/examples/reference/records.json"
    guard let bytes = try? FileIO.read(path, limit: 1 << 20), case .object(let o)? = try? JSONParser.parse(bytes) else {
        fatalError("\(path) does not read")
    }
    return o.keys.indices.map { (o.keys[$0], o.values[$0].arrayValue ?? []) }
}()

/// The reference definition's mappings over one record (the input, as JSON), as a record of each
/// of their endpoints, lookups answered from the example records and the record itself. Every
/// object comes out with its collection's key (a vertex) or both its ends (an edge), or the
/// record is reported as an issue; objects write as JSON that parses back equal.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let record = try? JSONParser.parse(Fuzz.bytes(data, size)) else { return 0 }
    let base = EvalContext(variables: definition.variables.values([:]), nowMs: 1)
    let cache = LookupCache(definition: definition)
    for (endpoint, records) in examples { cache.add(records, endpoint: endpoint, context: base) }
    for endpoint in definition.lookupEndpoints { cache.add([record], endpoint: endpoint, context: base) }
    var context = base
    context.host = LookupHost(cache: cache, misses: LookupMisses())
    let mapper = Mapper(definition: definition, source: "fuzz", report: "1", timestamp: 1)
    for mapping in definition.vertices + definition.edges {
        let (objects, issues) = mapper.map(record, with: mapping, context: context)
        for issue in issues {
            Fuzz.check(issue.mapping == mapping.name && !issue.message.isEmpty, "issue \(issue) of \(mapping.name)")
        }
        guard let info = definition.catalogue[mapping.collection] else {
            Fuzz.check(false, "\(mapping.collection) is not in the catalogue")
            return 0
        }
        for object in objects {
            switch info.kind {
            case .vertex(let key):
                Fuzz.check(!(object[key.rawValue] ?? .null).isNull, "\(mapping.name): a vertex without '\(key.rawValue)': \(object)")
            case .edge(let from, let to, let fromField, let toField):
                for (field, collection) in [(fromField, from), (toField, to)] {
                    guard case .string(let end)? = object[field], !end.isEmpty else {
                        Fuzz.check(false, "\(mapping.name): an edge without '\(field)': \(object)")
                        continue
                    }
                    Fuzz.check(field.hasSuffix("_external_id") || end.hasPrefix(collection + "/"), "\(mapping.name): '\(field)' is '\(end)'")
                }
                for field in ["source", "report", "active", "timestamp"] {
                    Fuzz.check(object[field] != nil, "\(mapping.name): an edge without '\(field)'")
                }
            }
            _ = Mapper.identity(of: object, in: info)
            let value = JSON.object(object)
            Fuzz.check((try? JSONParser.parse(JSONWriter().bytes(value))) == value, "\(mapping.name): the object does not write as JSON")
        }
    }
    return 0
}

@main
enum Main {
    static func main() { Fuzz.drive(fuzz) }
}
