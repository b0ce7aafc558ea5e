import CarDefinition
import Logging
import MappingDSL

/// How log lines are written: JSON lines in the framework's format, or readable text.
public enum LogFormat: String, Sendable, CaseIterable {
    case json, text
}

/// A swift-log handler that writes lines as car-connector-framework deployments expect them:
/// JSON with `ibm_datetime` (UTC, microseconds, `Z`), `level`, `message`, `label` and the
/// logger's metadata (`connector`, `source`, `version`) — or, on a terminal, readable text.
/// Every message and metadata value passes the redactor.
public struct FrameworkLogHandler: LogHandler {
    /// Receives finished lines.
    public typealias Sink = @Sendable (String) -> Void

    public var metadata: Logging.Logger.Metadata = [:]
    public var metadataProvider: Logging.Logger.MetadataProvider?
    public var logLevel: Logging.Logger.Level
    let format: LogFormat
    let redactor: Redactor
    let sink: Sink

    public init(format: LogFormat, level: Logging.Logger.Level = .info, redactor: Redactor, sink: @escaping Sink) {
        self.format = format
        self.logLevel = level
        self.redactor = redactor
        self.sink = sink
    }

    public subscript(metadataKey key: String) -> Logging.Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let text = redactor.redact(event.message.description)
        var all = metadata
        if let provided = metadataProvider?.get() { all.merge(provided) { $1 } }
        if let extra = event.metadata { all.merge(extra) { $1 } }
        switch format {
        case .json:
            var o = JSONObject()
            o["ibm_datetime"] = .string(Self.timestamp())
            o["level"] = .string(Self.name(event.level))
            o["message"] = .string(text)
            o["label"] = .string(all.removeValue(forKey: "label").map { "\($0)" } ?? "car")
            for key in ["connector", "source", "version"] {
                if let v = all.removeValue(forKey: key) { o[key] = .string(redactor.redact("\(v)")) }
            }
            for key in all.keys.sorted() {
                if let v = all[key] { o[key] = .string(redactor.redact("\(v)")) }
            }
            sink(JSONWriter().string(.object(o)))
        case .text:
            let prefix = event.level == .info || event.level == .notice ? "" : Self.name(event.level).lowercased() + ": "
            sink(prefix + text)
        }
    }

    /// The framework's level names.
    static func name(_ level: Logging.Logger.Level) -> String {
        switch level {
        case .trace, .debug: return "DEBUG"
        case .info, .notice: return "INFO"
        case .warning: return "WARNING"
        case .error: return "ERROR"
        case .critical: return "CRITICAL"
        }
    }

    /// UTC ISO-8601 with microseconds and Z, as the framework writes `ibm_datetime`.
    static func timestamp() -> String {
        let us = WallClock.nowMicroseconds()
        let iso = ISO8601.format(us / 1000)  // yyyy-MM-ddTHH:mm:ss.SSSZ
        var fraction = String(us % 1_000_000)
        fraction = String(repeating: "0", count: 6 - fraction.count) + fraction
        return String(iso.prefix(19)) + "." + fraction + "Z"
    }
}

extension Logging.Logger {
    /// A logger writing the framework's lines through `sink` (standard error by default).
    public static func framework(format: LogFormat, level: Logging.Logger.Level = .info, redactor: Redactor,
                                 sink: @escaping FrameworkLogHandler.Sink = { Console.err($0 + "\n") }) -> Logging.Logger
    {
        Logging.Logger(label: "car") { _ in FrameworkLogHandler(format: format, level: level, redactor: redactor, sink: sink) }
    }

    /// Logs with the framework's `label` field (the part of car speaking: import, datasource, ...).
    public func debug(_ message: @autoclosure () -> String, label: String) {
        guard logLevel <= .debug else { return }
        debug("\(message())", metadata: ["label": .string(label)])
    }

    public func info(_ message: String, label: String) { info("\(message)", metadata: ["label": .string(label)]) }
    public func warning(_ message: String, label: String) { warning("\(message)", metadata: ["label": .string(label)]) }
    public func error(_ message: String, label: String) { error("\(message)", metadata: ["label": .string(label)]) }
}
