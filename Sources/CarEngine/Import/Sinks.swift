import CarDefinition
import Logging
import MappingDSL
import Synchronization

/// Where a run's output goes: the CAR service, or a dry-run printer.
public protocol ImportSink: Sendable {
    /// Sends one import envelope.
    func send(_ envelope: JSON) async throws
    /// Sends one import envelope already serialized (compact JSON).
    func send(bytes: [UInt8]) async throws
    /// Returns when everything sent so far is accepted (a phase end).
    func barrier() async throws
    /// Deletes vertices of a collection, by external id or by `_key`.
    func delete(collection: String, ids: [String], byKey: Bool) async throws
    /// Saves the model state id.
    func saveModelState(_ id: String) async throws
    /// Marks an edge inactive.
    func deactivate(collection: String, from: CARVertex, to: CARVertex) async throws
}

/// Posts envelopes as CAR import jobs: at most 20 in flight, then waits for them (polling
/// import status, 1 s doubling to 60 s); a failed job fails the run with its status's class.
public actor CARSink: ImportSink {
    let car: CARClient
    let source: String
    let logger: Logger
    public static let jobsInFlight = 20
    private var pending: [String] = []
    /// Every job id CAR answered in this run.
    private var jobIDs: Set<String> = []
    private(set) var posted = 0
    private(set) var maxPending = 0
    private(set) var deleteRequests = 0
    // Calls run one at a time, although the actor lets others in while one awaits the network:
    // otherwise posts could slip in while a barrier waits, and more than 20 jobs be in flight.
    private var busy = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    private func lock() async {
        if busy {
            await withCheckedContinuation { waiting.append($0) }
        } else {
            busy = true
        }
    }

    private func unlock() {
        if waiting.isEmpty {
            busy = false
        } else {
            waiting.removeFirst().resume()
        }
    }

    let progress: RunProgress?

    public init(car: CARClient, source: String, logger: Logger, progress: RunProgress? = nil) {
        self.car = car
        self.source = source
        self.logger = logger
        self.progress = progress
    }

    public func send(_ envelope: JSON) async throws {
        let bytes = JSONWriter().bytes(envelope, capacity: lastEnvelopeSize + lastEnvelopeSize / 8)
        lastEnvelopeSize = bytes.count
        try await send(bytes: bytes)
    }

    /// The size of the last envelope serialized here: what to reserve for the next one.
    private var lastEnvelopeSize = 4096

    public func send(bytes: [UInt8]) async throws {
        await lock()
        defer { unlock() }
        let id = try await car.postImport(bytes: bytes)
        // Two imports under one job id cannot be told apart: one of them could fail unseen.
        guard jobIDs.insert(id).inserted else {
            throw RunFailure(.recoverable, "CAR answered the job id \(car.redactor.redact(id)) for two imports; their outcomes cannot be told apart")
        }
        pending.append(id)
        posted += 1
        maxPending = max(maxPending, pending.count)
        if pending.count >= Self.jobsInFlight { try await waitForPending() }
    }

    public func barrier() async throws {
        await lock()
        defer { unlock() }
        try await waitForPending()
    }

    private func waitForPending() async throws {
        var delay = car.connection.pollDelayMs
        defer { progress?.waiting(forJobs: 0) }
        let start = ContinuousClock.now
        var polls = 0
        while !pending.isEmpty {
            if polls > 0, CARClient.elapsedMs(since: start) >= car.connection.maxJobWaitMs {
                throw RunFailure(.recoverable, "CAR import jobs \(pending.prefix(5).joined(separator: ", "))\(pending.count > 5 ? ", ..." : "") did not complete within \(CARClient.seconds(car.connection.maxJobWaitMs)) (\(polls) status polls)")
            }
            polls += 1
            progress?.waiting(forJobs: pending.count)
            let status = try await car.importStatus(pending)
            if let failed = status.failed.first {
                throw RunFailure(CARClient.failureClass(status: failed.statusCode),
                                 "CAR import job \(failed.id) failed with status \(failed.statusCode): \(car.redactor.redact(failed.error))")
            }
            pending = pending.filter { status.incomplete.contains($0) }
            if pending.isEmpty { return }
            try await Task.sleep(for: .milliseconds(delay))
            delay = min(delay * 2, car.connection.maxPollDelayMs)
        }
    }

    public func delete(collection: String, ids: [String], byKey: Bool) async throws {
        deleteRequests += try await car.deleteVertices(source: source, collection: collection, ids: ids, byKey: byKey)
    }

    public func saveModelState(_ id: String) async throws {
        try await car.saveModelState(source: source, id: id)
    }

    public func deactivate(collection: String, from: CARVertex, to: CARVertex) async throws {
        try await car.deactivateEdge(collection, source: source, from: from, to: to)
    }

    /// Jobs posted, and the most that were waiting at once.
    public var jobStats: (posted: Int, maxPending: Int) { (posted, maxPending) }
}

/// Prints what a run would send, in order: envelopes, deletions, the model-state save.
public final class DryRunSink: ImportSink {
    let pretty: Bool
    let write: @Sendable (String) -> Void

    public init(pretty: Bool, write: @escaping @Sendable (String) -> Void) {
        self.pretty = pretty
        self.write = write
    }

    func emit(_ value: JSON) { write(JSONWriter(pretty: pretty).string(value) + "\n") }

    public func send(_ envelope: JSON) async throws { emit(envelope) }
    public func send(bytes: [UInt8]) async throws { emit(try JSONParser.parse(bytes)) }
    public func barrier() async throws {}
    public func delete(collection: String, ids: [String], byKey: Bool) async throws {
        var d = JSONObject()
        d["collection"] = .string(collection)
        d[byKey ? "keys" : "external_ids"] = .array(ids.map { .string($0) })
        emit(["delete": .object(d)])
    }
    public func saveModelState(_ id: String) async throws {
        emit(["save_model_state": ["model_state_id": .string(id)]])
    }
    public func deactivate(collection: String, from: CARVertex, to: CARVertex) async throws {
        emit(["deactivate": ["collection": .string(collection), "from": .string(CARNames.edgeEnd(from)), "to": .string(CARNames.edgeEnd(to))]])
    }
}
