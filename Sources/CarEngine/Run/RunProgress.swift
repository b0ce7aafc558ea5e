import CarDefinition
import Locking

/// What a run has done so far, for progress lines: records read per endpoint, the endpoint
/// being read, objects handed to the sink, import jobs waited on. Updated by the pipeline and
/// the CAR sink; read by a ticker that writes a live line on a terminal, or a log line at an
/// interval (10 s by default) off one.
public final class RunProgress: Sendable {
    struct State {
        var readOrder: [String] = []
        var read: [String: Int] = [:]
        var reading: String?
        var sent = 0
        var waitingForJobs = 0
        var started = WallClock.nowMs()
        var phase = "starting"
    }

    let state = Locked(State())

    public init() {}

    func reading(_ endpoint: String?) { state.withLock { $0.reading = endpoint } }

    func read(_ endpoint: String, _ count: Int) {
        state.withLock { s in
            if s.read[endpoint] == nil { s.readOrder.append(endpoint) }
            s.read[endpoint, default: 0] += count
        }
    }

    func sent(_ count: Int) { state.withLock { $0.sent += count } }
    func waiting(forJobs count: Int) { state.withLock { $0.waitingForJobs = count } }
    func phase(_ text: String) { state.withLock { $0.phase = text } }

    /// "reading ports: 12000 records so far (assets 5000, ip_addresses 5000); 30000 objects sent; 8 s".
    public var line: String {
        state.withLock { s in
            var parts: [String] = []
            if let e = s.reading {
                parts.append("reading \(e): \(s.read[e] ?? 0) records so far")
            } else {
                parts.append(s.phase)
            }
            let others = s.readOrder.filter { $0 != s.reading }.map { "\($0) \(s.read[$0] ?? 0)" }
            if !others.isEmpty { parts[0] += " (read: " + others.joined(separator: ", ") + ")" }
            parts.append("\(s.sent) objects out")
            if s.waitingForJobs > 0 { parts.append("waiting for \(s.waitingForJobs) import job\(s.waitingForJobs == 1 ? "" : "s")") }
            parts.append("\((WallClock.nowMs() - s.started) / 1000) s")
            return parts.joined(separator: "; ")
        }
    }

    /// Writes `emit(line)` every `intervalMs` until the returned task is cancelled.
    public func ticker(intervalMs: Int64, _ emit: @escaping @Sendable (String) -> Void) -> Task<Void, Never> {
        Task {
            while !Task.isCancelled {
                do { try await Task.sleep(for: .milliseconds(intervalMs)) } catch { return }
                emit(line)
            }
        }
    }
}
