import CarDefinition
import MappingDSL

/// Flags named after a definition's parameters: `--url X`, `-url X`, `--url=X`; a name with
/// `_` also answers with `-` (`--page-size` for `page_size`); a parameter's `flag` (IBM's name
/// for it, such as `-auth_token`) answers too.
public enum ParameterFlags {
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// Parameter values from arguments the command line did not recognise, named after the
    /// parameters of the definition at `definitionPath` (none when it does not load: the run
    /// reports that). The definition is read here only when such flags are given.
    public static func parse(_ arguments: [String], definitionPath: String) throws(Failure) -> [String: String] {
        guard !arguments.isEmpty else { return [:] }
        return try parse(arguments, parameters: DefinitionLoader.load(path: definitionPath).definition?.parameters ?? [])
    }

    /// Parameter values from arguments the command line did not recognise.
    public static func parse(_ arguments: [String], parameters: [Parameter]) throws(Failure) -> [String: String] {
        var byFlag: [String: String] = [:]
        for p in parameters {
            for flag in p.flagNames {
                byFlag[flag] = p.name
                byFlag[flag.replacing("_", with: "-")] = p.name
            }
        }
        var out: [String: String] = [:]
        var i = 0
        while i < arguments.count {
            let arg = arguments[i]
            var name = arg
            while name.hasPrefix("-") { name.removeFirst() }
            guard arg.hasPrefix("-"), !name.isEmpty else {
                throw Failure(description: "unexpected argument '\(arg)'")
            }
            var value: String?
            if let eq = name.firstIndex(of: "=") {
                value = String(name[name.index(after: eq)...])
                name = String(name[..<eq])
            }
            guard let parameter = byFlag[name] else {
                let hint = Suggest.hint(for: name, in: byFlag.keys)
                throw Failure(description: "unknown option '\(arg)'\(hint)")
            }
            if value == nil {
                guard i + 1 < arguments.count else { throw Failure(description: "missing value for '\(arg)'") }
                i += 1
                value = arguments[i]
            }
            out[parameter] = value
            i += 1
        }
        return out
    }
}
