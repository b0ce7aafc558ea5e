import Foundation
import Testing

@testable import MappingDSL

/// user_agent() and user_agent_simple() against vectors made with Python's httpagentparser
/// (scripts/gen-user-agent-vectors.py).
@Suite("User agents")
struct UserAgentTests {
    struct Vector {
        var agent: String
        var detect: JSON
        var simple: JSON
    }

    static let vectors: [Vector] = {
        guard let text = Repo.read(Repo.fixtures + "/user-agents.json"), case .array(let items)? = try? JSONParser.parse(text) else { return [] }
        return items.compactMap { item in
            guard case .string(let agent)? = item["agent"], let detect = item["detect"], let simple = item["simple"] else { return nil }
            return Vector(agent: agent, detect: detect, simple: simple)
        }
    }()

    /// What user_agent() gives for Python's detect() result: every part, null where Python has none.
    static func expected(_ detect: JSON) -> JSON {
        func pair(_ part: JSON?) -> JSON { ["name": part?["name"] ?? .null, "version": part?["version"] ?? .null] }
        return [
            "browser": pair(detect["browser"]), "os": pair(detect["os"]), "platform": pair(detect["platform"]), "dist": pair(detect["dist"]),
            "flavor": pair(detect["flavor"]), "bot": detect["bot"] ?? .bool(false),
        ]
    }

    func call(_ function: String, _ agent: String) throws -> JSON {
        var scope = Scope()
        scope.declare("agent", type: .string)
        let compiled = try #require(ExpressionCompiler.compile("\(function)(agent)", scope: scope).expression)
        return try compiled.evaluate(EvalContext(variables: scope.values(["agent": .string(agent)])))
    }

    @Test func thereAreVectorsOfEveryKind() {
        #expect(Self.vectors.count >= 40)
        let browsers = Set(Self.vectors.compactMap { $0.detect["browser"]?["name"]?.stringValue })
        for name in ["Chrome", "Firefox", "Safari", "ChromiumEdge", "MSEdge", "Opera", "Microsoft Internet Explorer", "GoogleBot", "AndroidBrowser"] {
            #expect(browsers.contains(name), "\(name)")
        }
        #expect(Self.vectors.contains { $0.agent.isEmpty })
    }

    @Test func userAgentGivesWhatHttpagentparserDetects() throws {
        for v in Self.vectors {
            #expect(try call("user_agent", v.agent) == Self.expected(v.detect), "\(v.agent)")
        }
    }

    @Test func userAgentSimpleGivesWhatSimpleDetectGives() throws {
        for v in Self.vectors {
            #expect(try call("user_agent_simple", v.agent) == v.simple, "\(v.agent)")
        }
    }

    @Test func theOktaConnectorsBrowserIdComesOut() throws {
        // IBM's Okta connector: simple_detect(rawUserAgent)[1].replace(' ', '_Ver').
        var scope = Scope()
        scope.declare("agent", type: .string)
        let compiled = try #require(ExpressionCompiler.compile("replace(user_agent_simple(agent)[1], ' ', '_Ver')", scope: scope).expression)
        let agent = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
        #expect(try compiled.evaluate(EvalContext(variables: scope.values(["agent": .string(agent)]))) == "Chrome_Ver120.0.0.0")
    }

    @Test func nullGivesNull() throws {
        #expect(try call("user_agent", "x") != .null)
        let compiled = try #require(ExpressionCompiler.compile("user_agent(null)", scope: Scope()).expression)
        #expect(try compiled.evaluate(EvalContext()) == .null)
    }
}
