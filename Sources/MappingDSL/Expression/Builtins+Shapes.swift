extension Builtins {
    // MARK: Shapes of values, HTML, user agents

    static let shapes: [FunctionSpec] = [
        FunctionSpec(
            "as_list", "as_list(value) -> array", summary: "The value as a list: null is [], a list stays as it is, anything else is a list of it.",
            example: "as_list('a') → [\"a\"]", arguments: 1...1, parameters: [.any], returns: .array,
            implementation: .pure { args, _ in
                switch args[0] {
                case .null: return .array([])
                case .array: return args[0]
                default: return .array([args[0]])
                }
            }),
        FunctionSpec(
            "merge", "merge(object, ...) -> object", summary: "The objects' members in one object, later arguments winning (shallow); null arguments are skipped.",
            example: "merge({a: 1, b: 2}, null, {b: 3}) → {\"a\": 1, \"b\": 3}", arguments: 1...1, variadic: true, parameters: [[.object, .null]],
            returns: .object,
            implementation: .pure { args, _ in
                var out = JSONObject()
                for (i, a) in args.enumerated() {
                    switch a {
                    case .null: continue
                    case .object(let o): for (k, v) in o { out[k] = v }
                    default: throw fail("merge expects objects, found \(a.typeName) as argument \(i + 1)")
                    }
                }
                return .object(out)
            }),
        FunctionSpec(
            "html_to_text", "html_to_text(html) -> string",
            summary: "The text of HTML: tags, comments, scripts and styles dropped, entities decoded (named and numeric), whitespace collapsed; <br>, <p>, <li>, <div>, <tr> and headings start new lines.",
            example: "html_to_text('<p>Fix &amp; <b>reboot</b></p><ul><li>one</li><li>two&#33;</li></ul>') → \"Fix & reboot\\none\\ntwo!\"",
            arguments: 1...1, parameters: [.string], returns: [.string, .null],
            implementation: pure1 { v in .string(HTMLText.text(try string(v, "html_to_text"))) }),
        FunctionSpec(
            "user_agent", "user_agent(text) -> object",
            summary: "What Python's httpagentparser.detect finds in a user-agent string, by its names: {browser, os, platform, dist, flavor} each {name, version} (null when unknown), and bot.",
            example: "user_agent('Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36').browser → {\"name\": \"Chrome\", \"version\": \"120.0.0.0\"}",
            arguments: 1...1, parameters: [.string], returns: [.object, .null],
            implementation: pure1 { v in UserAgentDetection(try string(v, "user_agent")).json }),
        FunctionSpec(
            "user_agent_simple", "user_agent_simple(text) -> array",
            summary: "Python's httpagentparser.simple_detect: [OS with version, browser with version], 'Unknown OS' and 'Unknown Browser' when not found.",
            example: "user_agent_simple('Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0') → [\"Windows 10\", \"Firefox 121.0\"]",
            arguments: 1...1, parameters: [.string], returns: [.array, .null],
            implementation: pure1 { v in
                let simple = UserAgentDetection(try string(v, "user_agent_simple")).simple
                return .array([.string(simple.os), .string(simple.browser)])
            }),
    ]
}
