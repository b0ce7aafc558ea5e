import CarDefinition
import MappingDSL

/// Pages of one endpoint, read ahead by a reader task and taken in order by the run: reading
/// is concurrent, processing stays in definition order (so output is reproducible), and at most
/// `capacity` pages wait in memory.
actor PageChannel {
    private var pages: [[JSON]] = []
    private var finished = false
    private var failure: (any Error)?
    private var readers: [CheckedContinuation<Void, Never>] = []
    private var senders: [CheckedContinuation<Void, Never>] = []
    private var cancelled = false
    let capacity: Int

    init(capacity: Int = 2) { self.capacity = capacity }

    /// Adds a page; waits while the channel is full.
    func send(_ page: [JSON]) async throws {
        while pages.count >= capacity && !cancelled {
            await withCheckedContinuation { senders.append($0) }
        }
        if cancelled { throw CancellationError() }
        pages.append(page)
        wakeReaders()
    }

    /// No more pages (with the reader's error, if it failed).
    func finish(_ error: (any Error)? = nil) {
        finished = true
        failure = error
        wakeReaders()
    }

    /// Stops the reader: a waiting `send` throws.
    func cancel() {
        cancelled = true
        for s in senders { s.resume() }
        senders = []
    }

    /// The next page; nil after the last one. Rethrows the reader's error.
    func next() async throws -> [JSON]? {
        while pages.isEmpty && !finished {
            await withCheckedContinuation { readers.append($0) }
        }
        if !pages.isEmpty {
            let page = pages.removeFirst()
            if let s = senders.first {
                senders.removeFirst()
                s.resume()
            }
            return page
        }
        if let failure { throw failure }
        return nil
    }

    private func wakeReaders() {
        for r in readers { r.resume() }
        readers = []
    }
}
