import MappingDSL
import Synchronization

/// Where log lines go: JSON lines in the framework's format, or readable text.
public final class Logger: Sendable {
    public enum Level: Int, Sendable, Comparable {
        case debug = 0, info, warning, error

        var name: String {
            switch self {
            case .debug: return "DEBUG"
            case .info: return "INFO"
            case .warning: return "WARNING"
            case .error: return "ERROR"
            }
        }

        public static func < (a: Level, b: Level) -> Bool { a.rawValue < b.rawValue }
    }

    public enum Format: String, Sendable {
        case json, text
    }

    /// Receives finished lines.
    public typealias Sink = @Sendable (String) -> Void

    public let format: Format
    public let minimum: Level
    public let redactor: Redactor
    private let fields = Mutex<[(String, String)]>([])
    private let sink: Sink

    public init(format: Format, minimum: Level = .info, redactor: Redactor, sink: @escaping Sink = { Console.err($0 + "\n") }) {
        self.format = format
        self.minimum = minimum
        self.redactor = redactor
        self.sink = sink
    }

    /// Adds a field to every line (connector, source, version).
    public func set(_ name: String, _ value: String) {
        fields.withLock { list in
            list.removeAll { $0.0 == name }
            list.append((name, value))
        }
    }

    public func debug(_ message: @autoclosure () -> String, label: String = "car") { log(.debug, message(), label: label) }
    public func info(_ message: String, label: String = "car") { log(.info, message, label: label) }
    public func warning(_ message: String, label: String = "car") { log(.warning, message, label: label) }
    public func error(_ message: String, label: String = "car") { log(.error, message, label: label) }

    public func log(_ level: Level, _ message: String, label: String = "car") {
        guard level >= minimum else { return }
        let text = redactor.redact(message)
        switch format {
        case .json:
            var o = JSONObject()
            o["ibm_datetime"] = .string(Self.timestamp())
            o["level"] = .string(level.name)
            o["message"] = .string(text)
            o["label"] = .string(label)
            for (k, v) in fields.withLock({ $0 }) { o[k] = .string(redactor.redact(v)) }
            sink(JSONWriter().string(.object(o)))
        case .text:
            let prefix = level == .info ? "" : level.name.lowercased() + ": "
            sink(prefix + text)
        }
    }

    /// UTC ISO-8601 with microseconds and Z, as the framework writes `ibm_datetime`.
    static func timestamp() -> String {
        let ms = Clock.nowMicroseconds()
        let iso = ISO8601.format(ms / 1000)  // yyyy-MM-ddTHH:mm:ss.SSSZ
        let micros = ms % 1_000_000
        var fraction = String(micros)
        fraction = String(repeating: "0", count: 6 - fraction.count) + fraction
        return String(iso.prefix(19)) + "." + fraction + "Z"
    }
}
