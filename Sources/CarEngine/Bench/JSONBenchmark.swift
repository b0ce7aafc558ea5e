import CarDefinition
import Foundation
import MappingDSL

/// Measures the project's JSON parser and writer beside Foundation's JSONSerialization on the
/// same generated input.
public enum JSONBenchmark {
    /// A deterministic document of asset-like records of about `megabytes` MB.
    public static func input(megabytes: Int) -> [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "[")]
        out.reserveCapacity(megabytes << 20 + 4096)
        var i = 0
        var state: UInt64 = 0x2545_F491_4F6C_DD1D
        func next() -> UInt64 {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return state
        }
        let target = megabytes << 20
        while out.count < target {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            let r = next()
            var record = JSONObject()
            record["pk"] = .int(Int64(i))
            record["name"] = .string("asset-\(i)-\(r % 100_000)")
            record["type"] = .string(["Server", "Workstation", "Other", "Router \"edge\""][Int(r % 4)])
            record["initial_value"] = .double(Double(r % 1_000_000) / 100.0)
            record["site"] = i % 7 == 0 ? .null : .string("http://127.0.0.1:8000/sites/\(r % 50)/")
            record["vulnerabilities"] = .array((0..<Int(r % 6)).map { .string("http://127.0.0.1:8000/vulnerabilities/\((r >> UInt64($0 * 5)) % 5000)/") })
            record["description"] = .string("Ünïcode \\ text\twith escapes — \(r)")
            record["active"] = .bool(r % 3 != 0)
            record["score"] = .double(Double(r % 1000) / 7.0)
            record["tags"] = ["a", "b", .int(Int64(r % 10))]
            JSONWriter().write(.object(record), into: &out)
            i += 1
        }
        out.append(UInt8(ascii: "]"))
        return out
    }

    static func seconds(_ d: Swift.Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    static func best(_ repetitions: Int, _ body: () throws -> Void) rethrows -> Double {
        var best = Double.infinity
        let clock = ContinuousClock()
        for _ in 0..<repetitions {
            let t = try clock.measure(body)
            best = min(best, seconds(t))
        }
        return best
    }

    /// Runs the benchmark and returns the report.
    public static func run(megabytes: Int, repetitions: Int) throws -> String {
        let bytes = input(megabytes: megabytes)
        let mb = Double(bytes.count) / 1_048_576
        var parsed: JSON = .null
        let ourParse = try best(repetitions) { parsed = try JSONParser.parse(bytes) }
        var written: [UInt8] = []
        let ourWrite = best(repetitions) { written = JSONWriter().bytes(parsed) }
        let data = Data(bytes)
        var object: Any = NSNull()
        let foundationParse = try best(repetitions) { object = try JSONSerialization.jsonObject(with: data) }
        var foundationData = Data()
        let foundationWrite = try best(repetitions) { foundationData = try JSONSerialization.data(withJSONObject: object) }
        func rate(_ s: Double) -> String { String(format: "%8.1f MB/s", mb / s) }
        var report = "input: \(String(format: "%.1f", mb)) MB of generated records (best of \(repetitions))\n"
        report += "                      car          Foundation   ratio\n"
        report += "parse      \(rate(ourParse))  \(rate(foundationParse))   \(String(format: "%.1f", foundationParse / ourParse))x\n"
        report += "serialize  \(rate(ourWrite))  \(rate(foundationWrite))   \(String(format: "%.1f", foundationWrite / ourWrite))x\n"
        report += "(output sizes: car \(written.count) bytes, Foundation \(foundationData.count) bytes)"
        return report
    }
}
