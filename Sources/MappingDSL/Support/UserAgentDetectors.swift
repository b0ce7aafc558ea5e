/// A port of the detectors of Python's httpagentparser 1.9.9 (`httpagentparser.detect`), in
/// its registration order, with its quirks: the last detector of a kind that matches wins, a
/// detector whose version step raises keeps its name and leaves the platform as it was, and
/// Safari ignores its own skip list. Tests check it against vectors made with the Python
/// package (scripts/user-agent-vectors.py).
struct UserAgentDetector: Sendable {
    enum Kind: String, Sendable, CaseIterable {
        case os, dist, flavor, browser
    }

    typealias Version = @Sendable (_ agent: PythonText, _ word: String) throws -> PythonText?

    var kind: Kind
    var name: String
    var lookFor: [String]
    var skipIfFound: [String] = []
    var markers: [(start: String, end: String)]
    var allowSpaceInVersion: Bool
    var platform: String?
    var bot = false
    /// Replaces the skip list and the look-for words (Safari's own rule).
    var checkWords: (@Sendable (PythonText) -> String?)?
    /// Replaces the marker rule.
    var version: Version?

    init(_ kind: Kind, _ name: String, _ lookFor: [String], skip: [String] = [], markers: [(String, String)]? = nil, platform: String? = nil,
         bot: Bool = false, checkWords: (@Sendable (PythonText) -> String?)? = nil, version: Version? = nil)
    {
        self.kind = kind
        self.name = name
        self.lookFor = lookFor
        self.skipIfFound = skip
        // OS detectors: version between ';' and ' ', spaces allowed; others: between '/' and ' '.
        let isOS = kind == .os
        self.markers = (markers ?? (isOS ? [(";", " ")] : [("/", " ")])).map { (start: $0.0, end: $0.1) }
        self.allowSpaceInVersion = isOS
        self.platform = platform
        self.bot = bot
        self.checkWords = checkWords
        self.version = version
    }

    /// `checkWords`: the look-for word found, unless a skip word is present.
    func word(in agent: PythonText) -> String? {
        if let checkWords { return checkWords(agent) }
        for w in skipIfFound where agent.contains(w) { return nil }
        return lookFor.first { agent.contains($0) }
    }

    /// `getVersion`.
    func version(of agent: PythonText, word: String) throws -> PythonText? {
        if let version { return try version(agent, word) }
        let part = try agent.split(word, maxSplits: 1).python(-1)
        for (start, end) in markers where part.hasPrefix(start) && part.contains(end) {
            var v = part.dropping(1)
            if !end.isEmpty { v = try v.split(end).python(0) }
            if !allowSpaceInVersion { v = try v.splitWhitespace().python(0) }
            return v
        }
        return nil
    }
}

extension UserAgentDetector {
    static func browser(_ name: String, _ lookFor: String..., skip: [String] = [], markers: [(String, String)]? = nil, bot: Bool = false,
                        version: Version? = nil) -> UserAgentDetector
    {
        UserAgentDetector(.browser, name, lookFor, skip: skip, markers: markers, bot: bot, version: version)
    }

    static func bot(_ name: String, _ lookFor: String..., markers: [(String, String)]? = nil, version: Version? = nil) -> UserAgentDetector {
        UserAgentDetector(.browser, name, lookFor, markers: markers, bot: true, version: version)
    }

    static let none: Version = { _, _ in nil }

    /// Opera's rule: after "Version" if present, else after "Opera".
    static func opera(trimParenthesis: Bool) -> Version {
        { agent, _ in
            let afterVersion = agent.split("Version")
            if afterVersion.count > 1 { return try afterVersion.python(1).dropping(1).split(" ").python(0) }
            let v = try agent.split("Opera").python(1).dropping(1).split(" ").python(0)
            return trimParenthesis ? try v.split("(").python(0) : v
        }
    }

    /// Chrome's rule: the token after "<word>/", cut at '+'.
    static let chromeVersion: Version = { agent, word in
        var v = try agent.split(word + "/").python(-1).split(" ").python(0)
        if v.contains("+") { v = try v.split("+").python(0) }
        return v.strip()
    }

    /// The iOS version after a marker ("iPhone OS", "CPU OS "), dots for underscores.
    static func appleVersion(after marker: String, trims: Bool) -> Version {
        { agent, _ in
            guard agent.contains(marker) else { return nil }
            var part = try agent.split(marker).python(-1)
            if trims { part = part.strip() }
            guard part.contains(" ") else { return nil }
            return try part.split(" ").python(0).replacing("_", with: ".")
        }
    }

    static let tridentToIE = ["4.0": "8.0", "5.0": "9.0", "6.0": "10.0", "7.0": "11.0"]

    static let windowsVersions = [
        "NT 10.0": "10", "NT 6.3": "8.1", "NT 6.2": "8", "NT 6.1": "7", "NT 6.0": "Vista", "NT 5.2": "Server 2003 / XP x64",
        "NT 5.1": "XP", "NT 5.01": "2000 SP1", "NT 5.0": "2000", "98; Win 9x 4.90": "Me",
    ]

    /// Every detector, in the order httpagentparser runs them (by kind, then as registered).
    static let all: [UserAgentDetector] = os + dist + flavor + browsers

    static let os: [UserAgentDetector] = [
        UserAgentDetector(.os, "Linux", ["Linux"], platform: "Linux", version: none),
        UserAgentDetector(.os, "Blackberry", ["BlackBerry"], platform: "BlackBerry", version: none),
        UserAgentDetector(.os, "Windows Phone", ["Windows Phone OS", "Windows Phone"], markers: [(" ", ";"), (" ", ")")], platform: "Windows"),
        UserAgentDetector(.os, "iOS", ["iPhone", "iPad"], skip: ["like iPhone"]),
        UserAgentDetector(.os, "Macintosh", ["Macintosh"], version: none),
        UserAgentDetector(.os, "Windows", ["Windows"], skip: ["Windows Phone"], platform: "Windows", version: { agent, _ in
            var v = try agent.split("Windows").python(-1).split(";").python(0).strip()
            if v.contains(")") { v = try v.split(")").python(0) }
            return windowsVersions[v.string].map(PythonText.init) ?? v
        }),
        UserAgentDetector(.os, "ChromeOS", ["CrOS"], markers: [(" ", " ")], platform: " ChromeOS", version: { agent, word in
            let (start, end) = agent.contains(word + "+") ? ("+", "+") : (" ", " ")
            return try agent.split(word + start).python(-1).split(end).python(1).strip().droppingLast()
        }),
        UserAgentDetector(.os, "NokiaS40", ["Series40"], platform: "Nokia S40", version: none),
        UserAgentDetector(.os, "Symbian", ["Symbian", "SymbianOS"], platform: "Symbian"),
        UserAgentDetector(.os, "PlayStation", ["PlayStation", "PLAYSTATION"], markers: [(" ", ")")], platform: "PlayStation"),
    ]

    static let dist: [UserAgentDetector] = [
        UserAgentDetector(.dist, "BlackberryPlaybook", ["PlayBook"], platform: "BlackBerry", version: none),
        UserAgentDetector(.dist, "iPhone", ["iPhone"], skip: ["like iPhone"], platform: "iOS", version: appleVersion(after: "iPhone OS", trims: true)),
        UserAgentDetector(.dist, "IPad", ["iPad;"], platform: "iOS", version: appleVersion(after: "CPU OS ", trims: true)),
        UserAgentDetector(.dist, "Ubuntu", ["Ubuntu"], markers: [("/", " ")]),
        UserAgentDetector(.dist, "Debian", ["Debian"], markers: [("/", " ")]),
        UserAgentDetector(.dist, "Android", ["Android"], skip: ["Windows Phone"], platform: "Android", version: { agent, word in
            try agent.split(word).python(-1).replacing(")", with: ";").split(";").python(0).strip()
        }),
        UserAgentDetector(.dist, "WebOS", ["hpwOS"], version: { agent, _ in try agent.split("hpwOS/").python(-1).split(";").python(0).strip() }),
    ]

    static let flavor: [UserAgentDetector] = [
        UserAgentDetector(.flavor, "MacOS", ["Mac OS"], skip: ["iPhone", "iPad"], platform: "Mac OS", version: { agent, _ in
            let part = try agent.split("Mac OS").python(-1).strip()
            for c in [";", ")"] where part.contains(c) { return try part.split(c).python(0).replacing("_", with: ".") }
            return PythonText("")
        })
    ]

    static let browsers: [UserAgentDetector] = [
        browser("Konqueror", "Konqueror", markers: [("/", ";")]),
        browser("Opera Mobile", "Opera Mobi", version: opera(trimParenthesis: false)),
        browser("Opera", "Opera", skip: ["Opera Mobi"], version: opera(trimParenthesis: true)),
        browser("Opera", "OPR", skip: ["Build/OPR"], markers: [("/", "")]),
        browser("Netscape", "Netscape", markers: [("/", "")]),
        UserAgentDetector(.browser, "Microsoft Internet Explorer", ["Trident"], skip: ["MSIE", "Opera"], markers: [("/", ";")]).mapVersion {
            $0.flatMap { tridentToIE[$0.string].map(PythonText.init) }
        },
        browser("Microsoft Internet Explorer", "MSIE", skip: ["Opera"], markers: [(" ", ";")]),
        browser("MSEdge", "Edge", skip: ["MSIE"], markers: [("/", "")]),
        browser("ChromiumEdge", "Edg/", version: { agent, _ in
            agent.contains("Edg/") ? try agent.split("Edg/").python(-1).strip() : nil
        }),
        browser("Galeon", "Galeon"),
        browser("WOSBrowser", "wOSBrowser", version: none),
        UserAgentDetector(.browser, "Safari", ["Safari"], checkWords: { agent in
            guard agent.contains("Safari") else { return nil }
            for w in ["Chrome", "OmniWeb", "wOSBrowser", "Android", "CriOS"] where agent.contains(w) { return nil }
            return "Safari"
        }, version: { agent, _ in
            if agent.contains("Version/") { return try agent.split("Version/").python(-1).split(" ").python(0).strip() }
            if agent.contains("Safari/") { return try agent.split("Safari/").python(-1).split(" ").python(0).strip() }
            return try agent.split("Safari ").python(-1).split(" ").python(0).strip()
        }),
        bot("GoogleBot", "Googlebot", "Googlebot-News", "Googlebot-Image", "Googlebot-Video", "Googlebot-Mobile", "Mediapartners-Google",
            "Mediapartners", "AdsBot-Google", "web/snippet", markers: [("/", ";"), ("/", " ")]),
        bot("GoogleFeedFetcher", "Feedfetcher-Google", version: none),
        bot("RunscopeRadar", "runscope-radar"),
        bot("GoogleAppEngine", "AppEngine-Google", version: none),
        bot("GoogleApps", "GoogleApps script", version: none),
        bot("TwitterBot", "Twitterbot"),
        bot("TelegramBot", "TelegramBot"),
        bot("MJ12Bot", "MJ12bot"),
        bot("YandexBot", "Yandex", version: { agent, _ in
            let at = agent.find(PythonText("Yandex")) ?? 0
            return try agent.dropping(at).split("/").python(-1).split(")").python(0).strip()
        }),
        bot("BingBot", "bingbot", markers: [("/", ";")]),
        bot("BaiduBot", "Baiduspider", "Baiduspider-image", "Baiduspider-video", "Baiduspider-news", "Baiduspider-favo", "Baiduspider-cpro",
            "Baiduspider-ads", markers: [("/", ";")]),
        bot("LinkedInBot", "LinkedInBot"),
        bot("ArchiveDotOrgBot", "archive.org_bot"),
        bot("YoudaoBot", "YoudaoBot"),
        bot("YoudaoBotImage", "YodaoBot-Image"),
        bot("RogerBot", "rogerbot"),
        bot("TweetmemeBot", "TweetmemeBot"),
        bot("WebshotBot", "WebshotBot"),
        bot("SensikaBot", "SensikaBot"),
        bot("YesupBot", "YesupBot"),
        bot("DotBot", "DotBot"),
        bot("PhantomJS", "Browser/Phantom"),
        bot("FacebookExternalHit", "facebookexternalhit"),
        browser("NokiaOvi", "S40OviBrowser"),
        browser("UCBrowser", "UCBrowser"),
        browser("BrowserNG", "BrowserNG"),
        browser("Dolfin", "Dolfin"),
        browser("NetFront", "NetFront"),
        browser("Jasmine", "Jasmine"),
        browser("Openwave", "Openwave"),
        browser("UPBrowser", "UP.Browser"),
        browser("OneBrowser", "OneBrowser"),
        browser("ObigoInternetBrowser", "ObigoInternetBrowser"),
        browser("TelecaBrowser", "TelecaBrowser"),
        browser("MAUI", "Browser/MAUI", version: { agent, _ in try agent.split("Release/").python(-1).prefix(10) }),
        browser("NintendoBrowser", "NintendoBrowser"),
        browser("AndroidBrowser", "Android", skip: ["Chrome", "Windows Phone", "Opera", "Firefox"], version: none),
        browser("Firefox", "Firefox", "FxiOS", skip: ["SeaMonkey", "web/snippet"], markers: [("/", "")]),
        browser("SeaMonkey", "SeaMonkey", markers: [("/", "")]),
        browser("Chrome", "Chrome", skip: [" OPR", "Edge", "YaBrowser", "Edg/"], version: chromeVersion),
        browser("Yandex.Browser", "YaBrowser", version: chromeVersion),
        browser("ChromeiOS", "CriOS"),
    ]

    /// The detector with its marker-rule version passed through `transform` (Trident's map).
    func mapVersion(_ transform: @escaping @Sendable (PythonText?) -> PythonText?) -> UserAgentDetector {
        var copy = self
        let plain = { () -> UserAgentDetector in
            var d = self
            d.version = nil
            return d
        }()
        copy.version = { agent, word in transform(try plain.version(of: agent, word: word)) }
        return copy
    }
}
