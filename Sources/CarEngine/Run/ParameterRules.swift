import CarDefinition
import MappingDSL

/// The checks a parameter's definition puts on a given value beyond its type: `regex`, `min`, `max`.
enum ParameterRules {
    static func check(_ value: JSON, _ text: String, _ p: Parameter, origin: String) throws(RunFailure) {
        let shown = p.secret ? "the given value" : "'\(text)'"
        if let pattern = p.regex, let regex = try? Regex(pattern), (try? regex.firstMatch(in: text)) == nil {
            throw RunFailure(.invalidParameter, "parameter '\(p.name)' must match \(pattern); \(shown) from \(origin) does not")
        }
        let number: Double?
        switch value {
        case .int(let i): number = Double(i)
        case .double(let d): number = d
        default: number = nil
        }
        guard let number else { return }
        if let lo = p.min, number < lo {
            throw RunFailure(.invalidParameter, "parameter '\(p.name)' must be at least \(format(lo)); \(shown) from \(origin) is not")
        }
        if let hi = p.max, number > hi {
            throw RunFailure(.invalidParameter, "parameter '\(p.name)' must be at most \(format(hi)); \(shown) from \(origin) is not")
        }
    }

    static func format(_ d: Double) -> String { NumberText.format(d) }
}
