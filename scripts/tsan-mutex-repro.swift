// ThreadSanitizer and Synchronization.Mutex on Linux: a correct program (four threads append
// under the mutex) that TSan reports as racing, because the mutex locks with futexes TSan has
// no interceptor for. Why car locks with Sources/Locking/Locked.swift (a pthread mutex).
//
//   swiftc -sanitize=thread -O scripts/tsan-mutex-repro.swift -o /tmp/repro && /tmp/repro

import Synchronization
import Foundation

final class Box: Sendable {
    let state = Mutex<[Int]>([])
}
let box = Box()
let threads = (0..<4).map { i in Thread { for j in 0..<1000 { box.state.withLock { $0.append(i * j) } } } }
for t in threads { t.start() }
Thread.sleep(forTimeInterval: 1)
print(box.state.withLock { $0.count })
