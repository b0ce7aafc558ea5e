import CarDefinition
import Dispatch
import Locking

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// SIGTERM or SIGINT during a run (a Kubernetes CronJob at its deadline, Ctrl-C): reading
/// stops, work in flight is cancelled, no model state is saved, one line says what was not
/// done, and the run exits 10. CAR's full-import state is left as it is: ending it would tell
/// CAR the import was complete.
public final class RunInterruption: Sendable {
    struct State {
        var signal: String?
        var phase = "preparing the run"
        var fullImportEntered = false
    }

    let state = Locked(State())
    /// How long a cancelled run may take to wind down before the process exits anyway.
    public let graceMs: Int64

    public init(graceMs: Int64 = 4000) {
        self.graceMs = graceMs
    }

    /// The signal received, if any ("SIGTERM", "SIGINT").
    public var signalName: String? { state.withLock { $0.signal } }

    /// What the run is doing, in words, for the interruption's log line.
    public var phase: String { state.withLock { $0.phase } }

    func enter(_ phase: String) { state.withLock { $0.phase = phase } }

    /// CAR was told a full import is in progress.
    func enteredFullImport() { state.withLock { $0.fullImportEntered = true } }

    /// The line logged when the run stops because of the signal.
    func line(_ signal: String) -> String {
        let (phase, full) = state.withLock { ($0.phase, $0.fullImportEntered) }
        let notDone = full
            ? "the rest of the datasource was not read and sent, and CAR's full import was left in progress (its end was not sent)"
            : "the rest was not read and sent, and no removals were made"
        return "interrupted by \(signal) while \(phase): \(notDone); no model state saved, so the next run repeats this import"
    }

    /// Runs `body` in a task that SIGTERM and SIGINT cancel. When the cancelled body has not
    /// finished within the grace period, `onDeadline` is called and the process exits 10.
    public func run(_ body: @escaping @Sendable () async -> Int32, onDeadline: @escaping @Sendable (String) -> Void) async -> Int32 {
        let task = Task { await body() }
        let sources = [(SIGTERM, "SIGTERM"), (SIGINT, "SIGINT")].map { number, name -> any DispatchSourceSignal in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [self] in
                let first = state.withLock { s in
                    defer { if s.signal == nil { s.signal = name } }
                    return s.signal == nil
                }
                guard first else { return }
                task.cancel()
                let grace = graceMs
                DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(Int(grace))) { [self] in
                    onDeadline("interrupted by \(name) while \(phase): the run did not stop within \(grace) ms; exiting without saving the model state")
                    Console.exitProcess(FailureClass.recoverable.rawValue)
                }
            }
            source.resume()
            return source
        }
        let code = await task.value
        for s in sources { s.cancel() }
        return code
    }
}
