import CarDefinition
import MappingDSL
import Locking

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Which records of an endpoint looked up which records of another (apps → assets, ports → ip
/// addresses), kept between runs in the state directory: an incremental import re-derives only
/// the records that looked up a changed or deleted record, fetched by id, instead of reading
/// those endpoints whole.
///
/// One file per model state, `deps-<hash of the state>-<fingerprint>.idx`, written beside the previous one and
/// renamed into place before the model state is saved in CAR; the older files are removed only
/// after CAR has saved the new state. A run killed in between leaves CAR's saved state with its
/// own file, so index and model state always agree (or the index is missing: the run falls back
/// to reading the dependent endpoints whole, and rebuilds it).
///
/// The file is text: a header line (`car dependency index 1`, the model state, a fingerprint of
/// the definition), then one line per lookup, `dependent endpoint TAB looked-up endpoint TAB
/// looked-up id TAB dependent id`. Lines are streamed, never held whole: memory stays flat however
/// large the datasource.
public enum DependencyIndex {
    static let magic = "car dependency index 1"

    /// The endpoints whose records' lookups are indexed: mapped, fetchable by id (`by_ids`),
    /// and with lookups by id only (`lookup`, `lookup_many`; `follow` and keyed lookups depend on
    /// more than ids, so those endpoints are read whole when what they look up changes).
    public static func indexable(_ definition: ConnectorDefinition) -> Set<String> {
        var out: Set<String> = []
        for (endpoint, looked) in definition.lookupsByEndpoint where !looked.isEmpty {
            guard let e = definition.endpoints[endpoint], e.byIDs != nil, e.forEach == nil,
                looked.isDisjoint(with: definition.keyedLookupEndpoints)
            else { continue }
            let mappings = (definition.vertices + definition.edges).filter { $0.from == endpoint }
            let usesOther = mappings.contains { m in
                let exprs = [m.each, m.when].compactMap { $0 } + m.levels.map(\.value) + m.fields.map(\.value) + m.extraFields.map(\.value)
                return exprs.contains { !$0.compiled.functions.isDisjoint(with: ["follow", "lookup_by", "lookup_all", "records_of"]) }
            }
            if !usesOther { out.insert(endpoint) }
        }
        return out
    }

    /// A fingerprint of the definition's text and of where the run writes (`scope`: the source and
    /// the CAR service): an index made with other mappings, or for another CAR that shares the
    /// state directory, is never used.
    public static func fingerprint(_ definition: ConnectorDefinition, scope: String) -> String {
        let text = (try? FileIO.read(definition.path)).map { String(decoding: $0, as: UTF8.self) } ?? definition.path
        return String(Hash64.adding(scope, to: Hash64.of(text)), radix: 16)
    }

    static func fileName(state: String, fingerprint: String) -> String { "deps-\(String(Hash64.of(state), radix: 16))-\(fingerprint).idx" }

    /// Text of an id in a line: tab, newline and `%` percent-encoded.
    static func escape(_ s: String) -> String {
        guard s.utf8.contains(where: needsEscape) else { return s }
        return s.replacing("%", with: "%25").replacing("\t", with: "%09").replacing("\n", with: "%0A").replacing("\r", with: "%0D")
    }

    private static func needsEscape(_ c: UInt8) -> Bool { c == 0x09 || c == 0x0A || c == 0x25 || c == 0x0D }

    /// `escape(s)`'s bytes, appended (no string built when nothing needs escaping).
    static func appendEscaped(_ s: String, to out: inout [UInt8]) {
        if s.utf8.contains(where: needsEscape) { out.append(contentsOf: escape(s).utf8) } else { out.append(contentsOf: s.utf8) }
    }

    static func unescape(_ s: Substring) -> String {
        guard s.utf8.contains(0x25) else { return String(s) }
        return String(s).replacing("%09", with: "\t").replacing("%0A", with: "\n").replacing("%0D", with: "\r").replacing("%25", with: "%")
    }

    /// Why there is no usable index for a saved model state (nil: there is one).
    public static func problem(directory: String, state: String, fingerprint: String) -> String? {
        let path = directory + "/" + fileName(state: state, fingerprint: fingerprint)
        guard DirectoryListing.exists(path) else {
            let others = DirectoryListing.names(directory).contains { $0.hasPrefix("deps-\(String(Hash64.of(state), radix: 16))-") }
            return others ? "the dependency index for model state \(state) in \(directory) was made with another version of the definition, or for another CAR"
                : "no dependency index for model state \(state) in \(directory)"
        }
        guard let file = fopen(path, "rb") else { return "the dependency index \(path) cannot be read" }
        defer { fclose(file) }
        var reader = LineReader(file)
        guard let header = reader.next() else { return "the dependency index \(path) is empty" }
        let parts = header.split(separator: "\t", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == magic else { return "the dependency index \(path) is not one car wrote" }
        guard unescape(parts[1]) == state else { return "the dependency index \(path) belongs to another model state" }
        guard parts[2] == fingerprint else { return "the dependency index \(path) was made with another version of the definition" }
        return nil
    }

    /// The ids of dependent records that looked up any of these ids (by looked-up endpoint).
    static func dependents(directory: String, state: String, fingerprint: String, of changed: [String: Set<String>]) throws(RunFailure) -> [String: Set<String>] {
        let path = directory + "/" + fileName(state: state, fingerprint: fingerprint)
        guard let file = fopen(path, "rb") else { throw RunFailure(.general, "the dependency index \(path) cannot be read") }
        defer { fclose(file) }
        var reader = LineReader(file)
        _ = reader.next()
        var out: [String: Set<String>] = [:]
        while let bytes = reader.nextBytes() {
            guard let line = IndexLine(bytes) else { throw RunFailure(.general, "the dependency index \(path) has a damaged line") }
            guard let ids = changed[line.text(1)], ids.contains(line.id(2)) else { continue }
            out[line.text(0), default: []].insert(line.id(3))
        }
        if ferror(file) != 0 { throw RunFailure(.general, "the dependency index \(path) cannot be read") }
        return out
    }
}

/// A run's use of the dependency index: what it writes, and the previous index it may read.
public struct DependencyTracking: Sendable {
    public var writer: DependencyIndexWriter
    /// The endpoints indexed.
    public var indexable: Set<String>
    public var fingerprint: String
    /// The saved model state whose index is usable (nil in a full import, or when there is none).
    public var usable: String?
    /// Why the previous index cannot be used (an incremental import reads the dependent
    /// endpoints whole and rebuilds it).
    public var problem: String?
}

/// The four tab-separated fields of an index line (dependent endpoint, looked-up endpoint,
/// looked-up id, dependent id), as byte ranges of the line: no string per field.
struct IndexLine {
    let line: ArraySlice<UInt8>
    private let tabs: (Int, Int, Int)

    /// nil when the line does not have exactly four fields.
    init?(_ line: ArraySlice<UInt8>) {
        self.line = line
        var t = (-1, -1, -1)
        for i in line.indices where line[i] == 0x09 {
            if t.0 < 0 { t.0 = i } else if t.1 < 0 { t.1 = i } else if t.2 < 0 { t.2 = i } else { return nil }
        }
        guard t.2 >= 0 else { return nil }
        tabs = t
    }

    /// A field's text, as written (endpoint names).
    func text(_ field: Int) -> String { String(decoding: bytes(field), as: UTF8.self) }

    /// A field's id, unescaped.
    func id(_ field: Int) -> String { DependencyIndex.unescape(Substring(text(field))) }

    private func bytes(_ field: Int) -> ArraySlice<UInt8> {
        switch field {
        case 0: return line[line.startIndex..<tabs.0]
        case 1: return line[(tabs.0 + 1)..<tabs.1]
        case 2: return line[(tabs.1 + 1)..<tabs.2]
        default: return line[(tabs.2 + 1)...]
        }
    }
}

/// Writes the index of one run: the lookups of every record mapped, then (in an incremental
/// import) the previous index's lines of the records not derived again, into a temporary file
/// renamed into place by `commit`.
public final class DependencyIndexWriter: Sendable {
    struct State {
        /// The temporary file's descriptor (-1 once closed).
        var fd: Int32
        /// Dependent records derived in this run, by endpoint: their old lines are dropped.
        var derived: [String: Set<String>] = [:]
        var lines = 0
        var failed: String?
        /// Lines not yet written: written 64 KB at a time (a record's lines are a few bytes).
        var pending: [UInt8] = []
    }

    public let directory: String
    public let state: String
    let fingerprint: String
    let temporary: String
    private let box: Locked<State>

    /// Starts the index of the run that saves `state`; nil (with the reason) when the directory
    /// cannot be written.
    public static func start(directory: String, state: String, fingerprint: String) -> Result<DependencyIndexWriter, RunFailure> {
        do {
            try FileIO.makeDirectories(directory)
        } catch {
            return .failure(RunFailure(.general, "the state directory: \(error.description)"))
        }
        let temporary = directory + "/." + DependencyIndex.fileName(state: state, fingerprint: fingerprint) + ".\(getpid()).tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else {
            return .failure(RunFailure(.general, "cannot write the dependency index in \(directory): \(String(cString: strerror(errno)))"))
        }
        let writer = DependencyIndexWriter(directory: directory, state: state, fingerprint: fingerprint, temporary: temporary, fd: fd)
        writer.write("\(DependencyIndex.magic)\t\(DependencyIndex.escape(state))\t\(fingerprint)\n", lines: 0)
        return .success(writer)
    }

    init(directory: String, state: String, fingerprint: String, temporary: String, fd: Int32) {
        self.directory = directory
        self.state = state
        self.fingerprint = fingerprint
        self.temporary = temporary
        box = Locked(State(fd: fd))
    }

    /// Appends text to the file (buffered; `commit` writes the rest).
    func write(_ text: String, lines: Int) { write(bytes: Array(text.utf8), lines: lines) }

    func write(bytes: [UInt8], lines: Int) {
        guard !bytes.isEmpty else { return }
        box.withLock { s in
            guard s.fd >= 0, s.failed == nil else { return }
            s.pending.append(contentsOf: bytes)
            s.lines += lines
            if s.pending.count >= 1 << 16 { Self.flush(&s) }
        }
    }

    private static func flush(_ s: inout State) {
        var offset = 0
        while offset < s.pending.count, s.failed == nil {
            let n = s.pending.withUnsafeBytes { Glibc.write(s.fd, $0.baseAddress?.advanced(by: offset), $0.count - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                s.failed = String(cString: strerror(errno))
                break
            }
            offset += n
        }
        s.pending.removeAll(keepingCapacity: true)
    }

    /// Records the lookups of one dependent record (also when it looked nothing up: it was
    /// derived again, so its old lines go).
    func record(endpoint: String, id: String, lookups: [LookupTrail.Entry]) {
        // Each lookup once, in the order first made (a short trail is searched, a long one hashed).
        var unique = lookups
        if lookups.count > 1 {
            unique.removeAll(keepingCapacity: true)
            if lookups.count <= 16 {
                for entry in lookups where !unique.contains(entry) { unique.append(entry) }
            } else {
                var seen = Set<LookupTrail.Entry>(minimumCapacity: lookups.count)
                for entry in lookups where seen.insert(entry).inserted { unique.append(entry) }
            }
        }
        box.withLock { s in
            _ = s.derived[endpoint, default: []].insert(id)
            guard !unique.isEmpty, s.fd >= 0, s.failed == nil else { return }
            for entry in unique {
                // Endpoint names as they are (the reader does not unescape them), ids escaped.
                s.pending.append(contentsOf: endpoint.utf8)
                s.pending.append(0x09)
                s.pending.append(contentsOf: entry.endpoint.utf8)
                s.pending.append(0x09)
                DependencyIndex.appendEscaped(entry.id, to: &s.pending)
                s.pending.append(0x09)
                DependencyIndex.appendEscaped(id, to: &s.pending)
                s.pending.append(0x0A)
            }
            s.lines += unique.count
            if s.pending.count >= 1 << 16 { Self.flush(&s) }
        }
    }

    /// Records that records were deleted: their old lines go.
    func deleted(endpoint: String, ids: [String]) {
        box.withLock { s in s.derived[endpoint, default: []].formUnion(ids) }
    }

    /// Copies the lines of the previous index whose dependent record was not derived again.
    func carry(from previousState: String) throws(RunFailure) {
        let path = directory + "/" + DependencyIndex.fileName(state: previousState, fingerprint: fingerprint)
        guard let old = fopen(path, "rb") else { throw RunFailure(.general, "the dependency index \(path) cannot be read") }
        defer { fclose(old) }
        var reader = LineReader(old)
        _ = reader.next()
        let derived = box.withLock { $0.derived }
        var kept: [UInt8] = []
        var count = 0
        func flush() {
            write(bytes: kept, lines: count)
            kept.removeAll(keepingCapacity: true)
            count = 0
        }
        while let bytes = reader.nextBytes() {
            guard let line = IndexLine(bytes) else { throw RunFailure(.general, "the dependency index \(path) has a damaged line") }
            if let ids = derived[line.text(0)], ids.contains(line.id(3)) { continue }
            kept += bytes
            kept.append(0x0A)
            count += 1
            if kept.count > 1 << 16 { flush() }
        }
        flush()
    }

    /// Flushes, syncs and renames the index into place (before the model state is saved).
    public func commit() throws(RunFailure) -> Int {
        let (fd, failed, lines) = box.withLock { s in
            let f = s.fd
            if f >= 0 && s.failed == nil { Self.flush(&s) }
            s.fd = -1
            return (f, s.failed, s.lines)
        }
        guard fd >= 0 else { throw RunFailure(.general, "the dependency index was already closed") }
        let flushed = fsync(fd) == 0
        close(fd)
        if let failed { throw RunFailure(.general, "cannot write the dependency index: \(failed)") }
        guard flushed, rename(temporary, directory + "/" + DependencyIndex.fileName(state: state, fingerprint: fingerprint)) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw RunFailure(.general, "cannot write the dependency index in \(directory): \(reason)")
        }
        return lines
    }

    /// Removes the temporary file of a run that did not finish.
    public func abandon() {
        let fd = box.withLock { s in
            let f = s.fd
            s.fd = -1
            return f
        }
        if fd >= 0 { close(fd) }
        unlink(temporary)
    }

    /// After CAR saved the new state: the other states' indexes go.
    public func removeOthers() {
        let keep = DependencyIndex.fileName(state: state, fingerprint: fingerprint)
        for name in DirectoryListing.names(directory) where name.hasPrefix("deps-") && name.hasSuffix(".idx") && name != keep {
            unlink(directory + "/" + name)
        }
    }
}

/// The lookups one record made while it was mapped.
final class LookupTrail: Sendable {
    struct Entry: Hashable, Sendable {
        var endpoint: String
        var id: String
    }

    /// In the order made, repeats included (the index writer drops them).
    private let entries = Locked<[Entry]>([])

    func add(_ endpoint: String, _ id: String) { entries.withLock { $0.append(Entry(endpoint: endpoint, id: id)) } }

    func take() -> [Entry] {
        entries.withLock { e in
            let out = e
            e = []
            return out
        }
    }
}
