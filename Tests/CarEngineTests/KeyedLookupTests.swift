import Testing

@testable import CarDefinition
@testable import CarEngine
@testable import CarReplay
@testable import MappingDSL

/// Lookups by another key than the id, one record or all of them (`keys`, `lookup_by`,
/// `lookup_all`), replayed against the CAR simulator.
@Suite("Lookups by key")
struct KeyedLookupTests {
    static let definition = """
        format: 1
        connector: {name: hosts, version: 1.0.0}
        parameters:
          url: {type: url, section: auth, default: http://127.0.0.1:1}
        datasource: {base_url: "${url}"}
        endpoints:
          users: {path: /users, id: $.login}
          machines:
            path: /machines
            id: $.guid
            keys: {owner: $.owners, site: $.site}
            pagination: {type: page, param: page, start: 1, size: 2, size_param: n}
        vertices:
          # machines is mapped too: read once (each exchange answers once), for the keys and the mapping.
          account:
            from: machines
            fields: {external_id: $.guid, name: $.name}
          user:
            from: users
            fields:
              external_id: $.login
              username: $.login
              # The first machine of the user's site, by key.
              description: lookup_by('machines', 'site', $.site).name
        edges:
          user_account:
            from: users
            each: lookup_all('machines', 'owner', $.login)
            fields: {_from_external_id: $.login, _to_external_id: "@.guid"}
        """

    static let replay = """
        parameters: {url: "{{datasource}}"}
        steps:
          - run: full
            at: 2026-11-01T10:00:00Z
            exchanges:
              - request: {path: /machines, query: {page: "1", n: "2"}}
                response: {json: [{guid: m1, name: alpha, owners: [ann, bob], site: north}, {guid: m2, name: beta, owners: [ann], site: north}]}
              - request: {path: /machines, query: {page: "2", n: "2"}}
                response: {json: [{guid: m3, name: gamma, owners: bob, site: south}]}
              - request: {path: /users}
                response: {json: [{login: ann, site: south}, {login: bob, site: north}, {login: cid, site: west}]}
        """

    @Test func theEndpointIsReadOnceWholeAndFoundByEveryKey() async throws {
        let dir = try ReplayTests.folder("keyed", cases: ["keys": Self.replay], definition: Self.definition)
        let result = await ReplayTests.run(dir, update: true)
        #expect(result.code == 0, "\(result.output)")
        let graph = try #require(Repo.read(dir + "/hosts.tests/keys.1.graph.json"))
        let parsed = try JSONParser.parse(graph)
        let edges = (parsed["edges"]?["user_account"]?.arrayValue ?? []).map { "\($0["_from"]?.stringValue ?? "") \($0["_to"]?.stringValue ?? "")" }
        // A list of owners gives a machine several keys; a single owner one; cid owns none.
        #expect(edges == ["user/ann account/m1", "user/ann account/m2", "user/bob account/m1", "user/bob account/m3"])
        let users = (parsed["vertices"]?["user"]?.arrayValue ?? []).map { "\($0["external_id"]?.stringValue ?? ""):\($0["description"]?.stringValue ?? "-")" }.sorted()
        // The first machine of a site in reading order; none for west.
        #expect(users == ["ann:gamma", "bob:alpha", "cid:-"])
        #expect((parsed["vertices"]?["account"]?.arrayValue ?? []).count == 3)
    }

    @Test func anUnknownKeyIsALocatedError() {
        let text = Self.definition.replacing("lookup_all('machines', 'owner'", with: "lookup_all('machines', 'ownr'")
        let result = DefinitionLoader.load(bytes: Array(text.utf8), path: "k.yaml")
        let messages = result.diagnostics.map(\.headline)
        #expect(messages.contains { $0.hasPrefix("k.yaml:28:") && $0.contains("endpoint 'machines' has no key 'ownr' (did you mean 'owner'?); its keys are owner, site") }, "\(messages)")
    }
}
