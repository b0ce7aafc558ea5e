import Dispatch
import Testing

@testable import CarEngine

@Suite("Transfer threads")
struct TransferThreadsTests {
    /// Jobs block (as transfers do): eight that each wait for all eight to have started can
    /// only finish if none waits for a thread another holds.
    @Test func blockingJobsRunAtOnceAndThreadsAreReused() async {
        let pool = TransferThreads(stackSize: 256 << 10)
        let started = DispatchSemaphore(value: 0)
        let go = DispatchSemaphore(value: 0)
        for round in 0..<3 {
            await withTaskGroup(of: Void.self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                            pool.run {
                                started.signal()
                                // Released only once all eight have started.
                                _ = go.wait(timeout: .now() + .seconds(20))
                                done.resume()
                            }
                        }
                    }
                }
                for _ in 0..<8 { _ = started.wait(timeout: .now() + .seconds(20)) }
                for _ in 0..<8 { go.signal() }
            }
            // Every thread back in the pool before the next round.
            for _ in 0..<2000 where pool.idleThreads < pool.startedThreads { try? await Task.sleep(for: .milliseconds(10)) }
            // The second and third rounds run on the first round's threads.
            #expect(pool.startedThreads == 8, "round \(round)")
        }
    }
}
