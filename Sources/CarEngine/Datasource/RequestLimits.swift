import CarDefinition
/// Limits how many requests are in flight at once (FIFO).
actor AsyncLimiter {
    private var available: Int
    private var waiters: [CheckedContinuation<Void, Never>] = []
    private(set) var inFlight = 0
    private(set) var maxInFlight = 0

    init(permits: Int) { available = max(1, permits) }

    func acquire() async {
        if available > 0 {
            available -= 1
        } else {
            await withCheckedContinuation { waiters.append($0) }
        }
        inFlight += 1
        maxInFlight = max(maxInFlight, inFlight)
    }

    func release() {
        inFlight -= 1
        if waiters.isEmpty {
            available += 1
        } else {
            waiters.removeFirst().resume()
        }
    }
}

/// A token bucket: at most `rate` requests a second on average, `burst` at once.
actor RateLimiter {
    private let rate: Double
    private let burst: Double
    private var tokens: Double
    private var last: ContinuousClock.Instant

    init(requestsPerSecond: Double, burst: Int) {
        rate = requestsPerSecond
        self.burst = Double(max(1, burst))
        tokens = self.burst
        last = .now
    }

    func acquire() async throws {
        while true {
            let now = ContinuousClock.now
            let elapsed = now - last
            last = now
            tokens = min(burst, tokens + (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18) * rate)
            if tokens >= 1 {
                tokens -= 1
                return
            }
            let wait = (1 - tokens) / rate
            try await Task.sleep(for: .milliseconds(Int64(wait * 1000) + 1))
        }
    }
}
