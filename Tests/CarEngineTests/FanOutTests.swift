import Testing

@testable import CarDefinition
@testable import CarEngine
@testable import MappingDSL

/// Named fan-out levels: nested lists of one record, their cartesian product, and names that
/// stay reachable inside `map`.
@Suite("Named fan-out levels")
struct FanOutTests {
    static let header = """
        format: 1
        connector: {name: t, version: 1.0.0}
        datasource: {base_url: "http://127.0.0.1:1"}
        endpoints:
          pods: {path: /pods/, id: $.id}

        """

    func load(_ yaml: String) -> LoadResult { DefinitionLoader.load(bytes: Array((Self.header + yaml).utf8), path: "t.yaml") }

    func map(_ yaml: String, _ record: JSON) throws -> (objects: [JSON], issues: [String]) {
        let result = load(yaml)
        let d = try #require(result.definition, "\(result.diagnostics.map(\.headline))")
        let mapper = Mapper(definition: d, source: "s", report: "r", timestamp: 5)
        let mapping = try #require(d.edges.first ?? d.vertices.first)
        let (objects, issues) = mapper.map(record, with: mapping, context: EvalContext(variables: d.variables.values([:])))
        return (objects.map { o in
            var o = o
            for k in ["source", "report", "active", "timestamp"] { o[k] = nil }
            return JSON.object(o)
        }, issues.map(\.message))
    }

    static let pod: JSON = [
        "id": "p1",
        "instances": [
            ["ip": "10.0.0.1", "components": [["name": "openssl", "vulns": [["cve": "CVE-1"], ["cve": "CVE-2"]]], ["name": "zlib", "vulns": .null]]],
            ["ip": "10.0.0.2", "components": [["name": "bash", "vulns": [["cve": "CVE-3"]]]]],
            ["ip": "10.0.0.3"],
        ],
    ]

    @Test func threeLevelsNameEveryLevel() throws {
        let (objects, issues) = try map("""
            edges:
              ipaddress_vulnerability:
                from: pods
                each:
                  instance: $.instances
                  component: instance.components
                  vuln: component.vulns
                when: vuln.cve != 'CVE-2'
                fields:
                  _from: concat('ipaddress/', instance.ip)
                  _to_external_id: "@.cve"
                extra_fields: {component: component.name, pod: $.id}
            """, Self.pod)
        #expect(issues.isEmpty)
        #expect(objects == [
            ["_from": "ipaddress/10.0.0.1", "_to_external_id": "CVE-1", "component": "openssl", "pod": "p1"],
            ["_from": "ipaddress/10.0.0.2", "_to_external_id": "CVE-3", "component": "bash", "pod": "p1"],
        ])
    }

    @Test func independentLevelsGiveTheirCartesianProduct() throws {
        let (objects, _) = try map("""
            edges:
              ipaddress_macaddress:
                from: pods
                each: {ip: $.ips, mac: $.macs}
                fields:
                  _from: concat('ipaddress/', ip)
                  _to: concat('macaddress/', mac)
            """, ["id": "h", "ips": ["10.0.0.1", "10.0.0.2"], "macs": ["aa:bb:cc:dd:ee:01", "aa:bb:cc:dd:ee:02"]])
        #expect(objects.map { "\($0["_from"]?.stringValue ?? "") \($0["_to"]?.stringValue ?? "")" } == [
            "ipaddress/10.0.0.1 macaddress/aa:bb:cc:dd:ee:01", "ipaddress/10.0.0.1 macaddress/aa:bb:cc:dd:ee:02",
            "ipaddress/10.0.0.2 macaddress/aa:bb:cc:dd:ee:01", "ipaddress/10.0.0.2 macaddress/aa:bb:cc:dd:ee:02",
        ])
    }

    @Test func outerLevelsStayReachableInsideMap() throws {
        let (objects, _) = try map("""
            vertices:
              application:
                from: pods
                each: {instance: $.instances, component: instance.components}
                fields:
                  external_id: concat(instance.ip, '/', component.name)
                  name: component.name
                  description: join(map(component.vulns ?? [], concat(instance.ip, ':', @.cve)), ',')
            """, Self.pod)
        #expect(objects.first == ["external_id": "10.0.0.1/openssl", "name": "openssl", "description": "10.0.0.1:CVE-1,10.0.0.1:CVE-2"])
        #expect(objects.count == 3)
    }

    @Test func aLevelThatIsNotAListSkipsTheRecordWithAWarning() throws {
        let (objects, issues) = try map("""
            vertices:
              application:
                from: pods
                each: {instance: $.id}
                fields: {external_id: instance, name: instance}
            """, Self.pod)
        #expect(objects.isEmpty)
        #expect(issues == ["fan-out level 'instance' gave string, not a list"])
    }

    @Test func namesAreCheckedWhereTheyAreUsed() throws {
        let result = load("""
            vertices:
              application:
                from: pods
                each: {instance: $.instances, component: instnce.components}
                fields: {external_id: component.name, name: pod.name}
            """)
        let messages = result.diagnostics.map(\.headline)
        #expect(messages == [
            "t.yaml:9:46: error: unknown variable 'instnce' (did you mean 'instance'?)", "t.yaml:10:49: error: unknown variable 'pod'",
        ])
        let clash = load("""
            vertices:
              application:
                from: pods
                each: {source: $.instances}
                fields: {external_id: str($.id), name: str($.id)}
            """)
        #expect(clash.diagnostics.map(\.headline).contains { $0.contains("fan-out level 'source' has the name of a parameter, a run value or a function") })
    }
}
