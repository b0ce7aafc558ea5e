/// What httpagentparser's `detect` finds in a user-agent string, and its `simple_detect` text.
struct UserAgentDetection: Sendable, Equatable {
    struct Part: Sendable, Equatable {
        var name: String
        var version: String?
    }

    /// By kind: os, dist, flavor, browser.
    var parts: [UserAgentDetector.Kind: Part] = [:]
    /// The platform: its name and version; the version may be empty text, as in Python.
    var platformName: String?
    var platformVersion: String?
    /// Whether the last detector that matched is a bot's; nil when none matched.
    var bot: Bool?

    /// `httpagentparser.detect(agent)`.
    init(_ agent: String) {
        let text = PythonText(agent)
        for detector in UserAgentDetector.all {
            guard let word = detector.word(in: text), !word.isEmpty else { continue }
            parts[detector.kind] = Part(name: detector.name)
            bot = detector.bot
            // A version step that raises leaves the name, and the platform as it was (Python
            // catches the exception around the whole detector).
            let version: PythonText?
            do { version = try detector.version(of: text, word: word) } catch { continue }
            if let version, !version.isEmpty { parts[detector.kind]?.version = version.string }
            if let platform = detector.platform {
                platformName = platform
                platformVersion = version?.string
            }
        }
    }

    /// `httpagentparser.simple_detect(agent)`: the OS and the browser, each with its version.
    var simple: (os: String, browser: String) {
        let names = [UserAgentDetector.Kind.flavor, .dist, .os].compactMap { parts[$0]?.name }
        var os = names.isEmpty ? "Unknown OS" : names.joined(separator: " ")
        let versions = [UserAgentDetector.Kind.flavor, .dist, .os].map { parts[$0]?.version ?? "" }
        let osVersion = names.isEmpty ? "" : versions.first { !$0.isEmpty } ?? ""
        var browser = parts[.browser]?.name ?? "Unknown Browser"
        if let v = parts[.browser]?.version, !v.isEmpty { browser += " " + v }
        if !osVersion.isEmpty { os += " " + osVersion }
        return (os, browser)
    }

    /// `{browser, os, platform, dist, flavor: {name, version}, bot}`, null where unknown.
    var json: JSON {
        func pair(_ name: String?, _ version: String?) -> JSON {
            ["name": name.map(JSON.string) ?? .null, "version": version.map(JSON.string) ?? .null]
        }
        func part(_ kind: UserAgentDetector.Kind) -> JSON { pair(parts[kind]?.name, parts[kind]?.version) }
        return [
            "browser": part(.browser), "os": part(.os), "platform": pair(platformName, platformVersion), "dist": part(.dist),
            "flavor": part(.flavor), "bot": .bool(bot ?? false),
        ]
    }
}
