import CarDefinition
import Configuration
import Locking

/// Where a setting's value came from.
public enum SettingOrigin: Sendable, Equatable, CustomStringConvertible {
    /// A flag or `--param` of the command line.
    case commandLine(String)
    /// An environment variable.
    case environment(String)
    /// A file in the secrets directory.
    case secretFile(String)
    /// The definition's or car's default.
    case defaultValue

    public var description: String {
        switch self {
        case .commandLine(let flag): return flag
        case .environment(let name): return "the environment variable \(name)"
        case .secretFile(let path): return "the secret file \(path)"
        case .defaultValue: return "the default"
        }
    }
}

/// A resolved value, where it came from, and whether it is secret.
public struct Setting<Value: Sendable>: Sendable {
    public var value: Value
    public var origin: SettingOrigin
    public var isSecret: Bool
}

/// The ordered sources of a run's settings, read through swift-configuration: the command line
/// (flags and `--param`), then the environment, then secret files; a setting none of them holds
/// takes its default. Keys are dotted (`car.service.url`); the environment and secret files
/// name them as the framework does (`CAR_SERVICE_URL`, `CONFIGURATION_AUTH_PASSWORD`).
struct ConfigurationSources: Sendable {
    /// The providers' names, for origins.
    static let commandLineName = "command line"
    static let secretFilesName = "secret files"

    let reader: ConfigReader
    let lookups: LookupRecorder
    /// The providers' names as swift-configuration reports them.
    let commandLineProviderName: String
    let secretFilesProviderName: String
    /// Flag names by key, for origins.
    let flags: [String: String]
    let secretsDirectory: String?

    /// - Parameters:
    ///   - commandLine: values given on the command line, by key, with the flag that gave each.
    ///   - environment: the process environment (empty values count as unset).
    ///   - secretFiles: values of secret files by file name (`CAR_SERVICE_PASSWORD`).
    ///   - knownKeys: the keys that will be read, so that file names map to them.
    init(commandLine: [String: (value: String, flag: String)], environment: [String: String], secretFiles: [String: String],
         secretsDirectory: String?, knownKeys: [String], secretKeys: Set<String>)
    {
        var byEncodedName: [String: String] = [:]
        for key in knownKeys { byEncodedName[Self.environmentName(key)] = key }
        var line: [AbsoluteConfigKey: ConfigValue] = [:]
        for (key, given) in commandLine {
            line[AbsoluteConfigKey(Self.components(key))] = ConfigValue(.string(given.value), isSecret: secretKeys.contains(key))
        }
        var files: [AbsoluteConfigKey: ConfigValue] = [:]
        for (name, value) in secretFiles {
            let key = byEncodedName[name] ?? name.lowercased().split(separator: "_").joined(separator: ".")
            files[AbsoluteConfigKey(Self.components(key))] = ConfigValue(.string(value), isSecret: true)
        }
        let secretNames = Set(secretKeys.map(Self.environmentName))
        let environmentProvider = EnvironmentVariablesProvider(
            environmentVariables: environment.filter { !$0.value.isEmpty }, secretsSpecifier: .dynamic { name, _ in secretNames.contains(name) })
        lookups = LookupRecorder()
        let lineProvider = InMemoryProvider(name: Self.commandLineName, values: line)
        let filesProvider = InMemoryProvider(name: Self.secretFilesName, values: files)
        commandLineProviderName = lineProvider.providerName
        secretFilesProviderName = filesProvider.providerName
        reader = ConfigReader(providers: [lineProvider, environmentProvider, filesProvider], accessReporter: lookups)
        flags = commandLine.mapValues(\.flag)
        self.secretsDirectory = secretsDirectory
    }

    /// `car.service.url` → ["car", "service", "url"]; a parameter's own name stays one component
    /// (`configuration.parameter.page_size`).
    static func components(_ key: String) -> [String] {
        let parts = key.split(separator: ".", maxSplits: 2).map(String.init)
        return parts.first == "configuration" || parts.first == "connection" ? parts : key.split(separator: ".").map(String.init)
    }

    /// The environment variable (and secret file) name of a key, as swift-configuration's
    /// environment provider encodes it: `car.service.url` → `CAR_SERVICE_URL`.
    static func environmentName(_ key: String) -> String {
        components(key).joined(separator: "_").uppercased()
    }

    /// The value of a key, with its origin; nil when no source holds it.
    func string(_ key: String, secret: Bool = false) -> Setting<String>? {
        let configKey = ConfigKey(Self.components(key))
        guard let value = reader.string(forKey: configKey, isSecret: secret) else { return nil }
        let origin: SettingOrigin
        switch lookups.provider(of: Self.components(key)) {
        case (commandLineProviderName, _)?: origin = .commandLine(flags[key] ?? key)
        case (secretFilesProviderName, _)?:
            origin = .secretFile((secretsDirectory.map { $0 + "/" } ?? "") + Self.environmentName(key))
        case (_, let encoded)?: origin = .environment(encoded)
        case nil: origin = .environment(Self.environmentName(key))
        }
        return Setting(value: value, origin: origin, isSecret: secret)
    }
}

/// Records which provider answered each key read (swift-configuration's access reporting).
final class LookupRecorder: AccessReporter, Sendable {
    private let answers = Locked<[[String]: (provider: String, encodedKey: String)]>([:])

    func report(_ event: AccessEvent) {
        for result in event.providerResults {
            guard case .success(let lookup) = result.result, lookup.value != nil else { continue }
            let key = event.metadata.key.components
            answers.withLock { $0[key] = (result.providerName, lookup.encodedKey) }
            return
        }
    }

    func provider(of key: [String]) -> (String, String)? {
        answers.withLock { $0[key].map { ($0.provider, $0.encodedKey) } }
    }
}
