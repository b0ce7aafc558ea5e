import CarDefinition
import Dispatch
import Locking

/// A response body handed over while it arrives: the transfer's thread pushes bytes (waiting
/// while `capacity` bytes are unread), an async reader takes them.
public final class BodyStream: Sendable {
    struct State {
        var chunks: [[UInt8]] = []
        var queued = 0
        var finished = false
        var cancelled = false
        var received = 0
        var reader: CheckedContinuation<Void, Never>?
    }

    private let state = Locked(State())
    private let space = DispatchSemaphore(value: 0)
    let capacity: Int

    public init(capacity: Int = 1 << 20) { self.capacity = capacity }

    /// Called on the transfer's thread; false when the reader gave up (the transfer aborts).
    func push(_ bytes: [UInt8]) -> Bool {
        while true {
            let (ok, wait, reader) = state.withLock { s -> (Bool, Bool, CheckedContinuation<Void, Never>?) in
                if s.cancelled { return (false, false, nil) }
                if s.queued >= capacity { return (true, true, nil) }
                s.chunks.append(bytes)
                s.queued += bytes.count
                s.received += bytes.count
                let r = s.reader
                s.reader = nil
                return (true, false, r)
            }
            if !ok { return false }
            if wait {
                _ = space.wait(timeout: .now() + .milliseconds(100))
                continue
            }
            reader?.resume()
            return true
        }
    }

    /// Called on the transfer's thread when the body is complete (or the transfer failed).
    func finish() {
        let reader = state.withLock { s -> CheckedContinuation<Void, Never>? in
            s.finished = true
            let r = s.reader
            s.reader = nil
            return r
        }
        reader?.resume()
    }

    /// Whether the transfer ended (the body is complete, or the transfer failed).
    public var isFinished: Bool { state.withLock { $0.finished } }

    /// The bytes received so far.
    public var bytesReceived: Int { state.withLock { $0.received } }

    /// The reader stops: pushes fail, so the transfer ends.
    public func cancel() {
        state.withLock { $0.cancelled = true }
        space.signal()
    }

    /// The next bytes; nil at the end.
    public func next() async -> [UInt8]? {
        while true {
            let (chunk, done) = state.withLock { s -> ([UInt8]?, Bool) in
                if !s.chunks.isEmpty {
                    let c = s.chunks.removeFirst()
                    s.queued -= c.count
                    return (c, false)
                }
                return (nil, s.finished)
            }
            if let chunk {
                space.signal()
                return chunk
            }
            if done { return nil }
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { s -> Bool in
                    if !s.chunks.isEmpty || s.finished { return true }
                    s.reader = c
                    return false
                }
                if resumeNow { c.resume() }
            }
        }
    }
}

/// Splits the elements of a top-level JSON array out of bytes that arrive in pieces.
public struct ArrayElementSplitter {
    enum Phase { case start, element, between, done }

    /// Between elements: what may come next (an element or the end after `[`; `,` or the end
    /// after an element; an element after `,`).
    enum Separator { case opened, afterElement, afterComma }

    var phase = Phase.start
    var separator = Separator.opened
    var current: [UInt8] = []
    var depth = 0
    var inString = false
    var escaped = false
    /// Set when the bytes are not an array (the caller then parses the whole body).
    public private(set) var notAnArray = false
    public private(set) var malformed = false

    public init() {}

    /// Feeds bytes; returns the elements completed by them: slices of `bytes` when an element
    /// lies within them (nothing copied), else the element's bytes gathered across feeds.
    public mutating func feed(_ bytes: [UInt8]) -> [ArraySlice<UInt8>] {
        var out: [ArraySlice<UInt8>] = []
        var i = 0
        let n = bytes.count
        var runStart = 0  // start of the current element's bytes within `bytes`
        while i < n {
            let c = bytes[i]
            switch phase {
            case .start:
                i += 1
                if c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 { continue }
                if c == UInt8(ascii: "[") { phase = .between } else { notAnArray = true; phase = .done }
            case .between:
                i += 1
                if c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 { continue }
                // Exactly one comma between elements, none before the first or after the last.
                if c == UInt8(ascii: ",") {
                    if separator == .afterElement { separator = .afterComma } else { malformed = true; phase = .done }
                    continue
                }
                if c == UInt8(ascii: "]") {
                    if separator == .afterComma { malformed = true }
                    phase = .done
                    continue
                }
                if separator == .afterElement {
                    malformed = true
                    phase = .done
                    continue
                }
                phase = .element
                current = []
                runStart = i - 1
                depth = (c == UInt8(ascii: "{") || c == UInt8(ascii: "[")) ? 1 : 0
                inString = c == UInt8(ascii: "\"")
                escaped = false
            case .element:
                // Scan to the end of the element (or of these bytes) without copying.
                var end = -1
                var closesArray = false
                var endsAtComma = false
                while i < n {
                    let b = bytes[i]
                    if inString {
                        if escaped {
                            escaped = false
                        } else if b == UInt8(ascii: "\\") {
                            escaped = true
                        } else if b == UInt8(ascii: "\"") {
                            inString = false
                            if depth == 0 {
                                end = i + 1
                                i += 1
                                break
                            }
                        }
                        i += 1
                        continue
                    }
                    if depth == 0 {
                        if b == UInt8(ascii: ",") || b == UInt8(ascii: "]") {
                            end = i
                            closesArray = b == UInt8(ascii: "]")
                            endsAtComma = !closesArray
                            i += 1
                            break
                        }
                        i += 1
                        continue
                    }
                    if b == UInt8(ascii: "\"") {
                        inString = true
                    } else if b == UInt8(ascii: "{") || b == UInt8(ascii: "[") {
                        depth += 1
                    } else if b == UInt8(ascii: "}") || b == UInt8(ascii: "]") {
                        depth -= 1
                        if depth == 0 {
                            end = i + 1
                            i += 1
                            break
                        }
                    }
                    i += 1
                }
                if end < 0 {
                    current += bytes[runStart..<n]
                    runStart = n
                } else {
                    var element: ArraySlice<UInt8>
                    if current.isEmpty {
                        element = bytes[runStart..<end]
                    } else {
                        current += bytes[runStart..<end]
                        element = current[...]
                        current = []
                    }
                    // A scalar element ends at a delimiter: drop trailing white space.
                    while let last = element.last, last == 0x20 || last == 0x0A || last == 0x0D || last == 0x09 { element.removeLast() }
                    out.append(element)
                    phase = closesArray ? .done : .between
                    // A scalar ends at the comma after it (taken with it), other elements at their last byte.
                    separator = endsAtComma ? .afterComma : .afterElement
                }
            case .done:
                if !(c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09) && !notAnArray { malformed = true }
                i += 1
            }
        }
        // An element that began in these bytes and goes on in the next ones.
        if phase == .element && runStart < n { current += bytes[runStart..<n] }
        return out
    }

    /// Whether the array was closed.
    public var complete: Bool { phase == .done && !notAnArray && !malformed }
}
