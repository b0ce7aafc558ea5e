import CarDefinition
/// What one attempt of a request came to.
enum AttemptOutcome<Value: Sendable>: Sendable {
    case done(Value)
    /// Try again after `delayMs`; `counted`: whether it uses up one of the retries (a renewed
    /// login does not).
    case again(delayMs: Int64, counted: Bool)
}

/// The retry loop the datasource and CAR clients share: attempts until one is done, sleeping
/// between them as each outcome says, and stopping when the task is cancelled. What is retried,
/// how often and how long to wait is the caller's policy.
enum RetryLoop {
    /// - Parameter attempt: one attempt, given the retries made so far.
    static func run<Value: Sendable>(_ attempt: (_ retries: Int) async throws -> AttemptOutcome<Value>) async throws -> Value {
        var retries = 0
        while true {
            try Task.checkCancellation()
            switch try await attempt(retries) {
            case .done(let value): return value
            case .again(let delayMs, let counted):
                if counted { retries += 1 }
                if delayMs > 0 { try await Task.sleep(for: .milliseconds(delayMs)) }
            }
        }
    }
}
