import Dispatch
import Foundation
import Locking

/// Threads for blocking work (a libcurl transfer blocks its thread), kept once started: a job
/// goes to an idle thread, or to a new one when none is idle, so no job ever waits for another
/// to finish. A run of 100,000 assets makes about 900 requests; starting a thread for each
/// (a stack mapped, guarded, unmapped) cost more than the requests' own bookkeeping.
final class TransferThreads: Sendable {
    struct State {
        var jobs: [@Sendable () -> Void] = []
        var first = 0
        /// Threads waiting for a job, each owed one signal.
        var idle = 0
        var started = 0
    }

    private let state = Locked(State())
    private let wake = DispatchSemaphore(value: 0)
    let stackSize: Int

    /// The threads of every transport in the process.
    static let shared = TransferThreads(stackSize: 1 << 20)

    init(stackSize: Int) { self.stackSize = stackSize }

    /// How many threads were started (they stay), and how many wait for a job.
    var startedThreads: Int { state.withLock { $0.started } }
    var idleThreads: Int { state.withLock { $0.idle } }

    /// Runs `job` on a thread of the pool, now.
    func run(_ job: @escaping @Sendable () -> Void) {
        let startOne = state.withLock { s -> Bool in
            s.jobs.append(job)
            if s.idle > 0 {
                s.idle -= 1
                return false
            }
            s.started += 1
            return true
        }
        if startOne {
            let thread = Thread { [self] in work() }
            thread.stackSize = stackSize
            thread.start()
        } else {
            wake.signal()
        }
    }

    /// A thread's life: the next job, or a wait for one. Every job appended has a thread on its
    /// way to the queue (a signalled idle one, or a new one), so none is left behind.
    private func work() {
        while true {
            let job = state.withLock { s -> (@Sendable () -> Void)? in
                guard s.first < s.jobs.count else {
                    s.idle += 1
                    return nil
                }
                let j = s.jobs[s.first]
                s.first += 1
                if s.first == s.jobs.count {
                    s.jobs.removeAll(keepingCapacity: true)
                    s.first = 0
                }
                return j
            }
            if let job {
                job()
            } else {
                wake.wait()
            }
        }
    }
}
