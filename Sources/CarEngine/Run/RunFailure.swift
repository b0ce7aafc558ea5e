import CarDefinition
/// The classes of failure of a run, each with the exit code deployments expect.
public enum FailureClass: Int32, Sendable {
    case general = 1
    case invalidParameter = 2
    case recoverable = 10
    case unrecoverable = 20
    case datasource = 50
    case datasourceUnavailable = 51
    case datasourceAuthentication = 52
    case datasourceForbidden = 53
    case datasourceInvalidParameter = 54
    case datasourceData = 55

    /// The class of an exit code (unknown codes are datasource failures).
    public init(code: Int32) {
        self = FailureClass(rawValue: code) ?? .datasource
    }
}

/// A failure that ends a run with an exit code. Messages never contain secrets.
public struct RunFailure: Error, Sendable, CustomStringConvertible {
    public var failureClass: FailureClass
    public var message: String

    public init(_ failureClass: FailureClass, _ message: String) {
        self.failureClass = failureClass
        self.message = message
    }

    public var exitCode: Int32 { failureClass.rawValue }
    public var description: String { message }
}
