#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
import CarDefinition
import MappingDSL

/// `car package`: the build folder of a connector's image and its deployment manifests.
public enum PackageCommand {
    /// The files of a build folder, by path relative to it, in the order they are written.
    public static func files(_ definition: ConnectorDefinition, source: [UInt8], options: PackageOptions) -> [(String, [UInt8])] {
        [
            ("connector.yaml", source),
            ("configurations/config.json", Array(CP4SConfiguration.text(CP4SConfiguration.config(definition)).utf8)),
            ("configurations/lang_en.json", Array(CP4SConfiguration.text(CP4SConfiguration.languageEnglish(definition)).utf8)),
            ("Containerfile", Array(Manifests.containerfile(definition, options).utf8)),
            ("manifests/connector.yaml", Array(Manifests.connectorResource(definition, options).utf8)),
            ("manifests/cronjob.yaml", Array(Manifests.cronJob(definition, options).utf8)),
            ("manifests/secret.yaml", Array(Manifests.secret(definition).utf8)),
        ]
    }

    /// Loads the definition, writes the build folder under `out`; the output lists what was written
    /// (or the definition's diagnostics). Exit 0, or 1 when the definition is invalid or a file
    /// cannot be written.
    public static func run(definitionPath: String, out: String, options: PackageOptions) -> (output: String, exitCode: Int32) {
        let result = DefinitionLoader.load(path: definitionPath)
        guard let definition = result.definition, let source = try? FileIO.read(definitionPath) else {
            let (text, _) = ValidateCommand.run(paths: [definitionPath], format: .text)
            return (text, 1)
        }
        var written = ""
        do {
            for (path, bytes) in files(definition, source: source, options: options) {
                let full = out + "/" + path
                try makeDirectories(String(full[..<(full.lastIndex(of: "/") ?? full.endIndex)]))
                try FileIO.write(bytes, to: full)
                written += full + "\n"
            }
        } catch {
            return (written + error.description + "\n", 1)
        }
        return (written, 0)
    }

    /// `mkdir -p`.
    static func makeDirectories(_ path: String) throws(FileError) {
        var prefix = path.hasPrefix("/") ? "/" : ""
        for part in path.split(separator: "/") {
            prefix += part
            if mkdir(prefix, 0o755) != 0 && errno != EEXIST {
                throw FileError(description: "cannot create '\(prefix)': \(String(cString: strerror(errno)))")
            }
            prefix += "/"
        }
    }
}
