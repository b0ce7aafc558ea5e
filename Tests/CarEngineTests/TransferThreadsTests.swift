import Dispatch
import Foundation
import Testing

@testable import CarEngine

@Suite("Transfer threads")
struct TransferThreadsTests {
    /// Jobs block (as transfers do): eight that each wait for all eight to have started can
    /// only finish if none waits for a thread another holds. The rounds after the first run on
    /// the first round's threads. The test's own waiting is on a thread of its own, never on
    /// Swift's cooperative pool (other tests' tasks run there).
    @Test func blockingJobsRunAtOnceAndThreadsAreReused() async {
        let pool = TransferThreads(stackSize: 256 << 10)
        let threadsPerRound: [Int] = await withCheckedContinuation { finished in
            Thread {
                var counts: [Int] = []
                for _ in 0..<3 {
                    let started = DispatchSemaphore(value: 0)
                    let go = DispatchSemaphore(value: 0)
                    let done = DispatchSemaphore(value: 0)
                    for _ in 0..<8 {
                        pool.run {
                            started.signal()
                            // Released only once all eight have started.
                            _ = go.wait(timeout: .now() + .seconds(20))
                            done.signal()
                        }
                    }
                    for _ in 0..<8 { _ = started.wait(timeout: .now() + .seconds(20)) }
                    for _ in 0..<8 { go.signal() }
                    for _ in 0..<8 { _ = done.wait(timeout: .now() + .seconds(20)) }
                    // Every thread back in the pool before the next round.
                    for _ in 0..<2000 where pool.idleThreads < pool.startedThreads { usleep(10_000) }
                    counts.append(pool.startedThreads)
                }
                finished.resume(returning: counts)
            }.start()
        }
        #expect(threadsPerRound == [8, 8, 8])
    }
}
