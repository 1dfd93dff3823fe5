/// What one seed's run found.
public struct SimResult: Sendable {
    public let seed: UInt64
    public let nodes: Int
    public let steps: Int
    public let plan: FaultPlan
    /// Events processed (fault and heal phases).
    public internal(set) var events = 0
    public internal(set) var healEvents = 0
    /// Virtual milliseconds simulated.
    public internal(set) var simulatedMillis: Int64 = 0
    public internal(set) var faults: [String: Int] = [:]
    /// Broken invariants, each naming what broke; empty when the seed passed.
    public internal(set) var failures: [String] = []
    /// Counts worth reading that are not failures (committed batches, closes by code, ...).
    public internal(set) var stats: [String: Int] = [:]
    public internal(set) var traceHash = ""

    public var passed: Bool { failures.isEmpty }

    mutating func count(fault: String, _ n: Int = 1) { faults[fault, default: 0] += n }
    mutating func count(stat: String, _ n: Int = 1) { stats[stat, default: 0] += n }
    mutating func fail(_ what: String) {
        if failures.count < 20 { failures.append(what) }
    }
}

/// Totals over a range of seeds, printed by `hearth-sim --json`.
public struct SimSummary: Sendable {
    public var seeds = 0
    public var events = 0
    public var simulatedMillis: Int64 = 0
    public var realSeconds = 0.0
    public var faults: [String: Int] = [:]
    public var stats: [String: Int] = [:]
    public var failures: [(seed: UInt64, invariant: String)] = []
    /// Set when the summary covers one seed.
    public var traceHash: String?
    /// Seeds run at once, each on its own thread (`--jobs`).
    public var jobs = 1

    public init() {}

    public mutating func add(_ r: SimResult) {
        seeds += 1
        events += r.events
        simulatedMillis += r.simulatedMillis
        for (k, v) in r.faults { faults[k, default: 0] += v }
        for (k, v) in r.stats { stats[k, default: 0] += v }
        if let f = r.failures.first { failures.append((r.seed, f)) }
    }

    /// A JSON object with sorted keys.
    public func json() -> String {
        func obj(_ d: [String: Int]) -> String {
            "{" + d.sorted { $0.key < $1.key }.map { "\"\($0.key)\": \($0.value)" }.joined(separator: ", ") + "}"
        }
        var fields: [(String, String)] = [
            ("seeds", "\(seeds)"), ("events", "\(events)"),
            ("simulatedSeconds", String(format3(Double(simulatedMillis) / 1000))),
            ("realSeconds", format3(realSeconds)),
            ("speedup", realSeconds > 0 ? "\(Int(Double(simulatedMillis) / 1000 / realSeconds))" : "0"),
            ("seedsPerMinute", realSeconds > 0 ? format3(Double(seeds) * 60 / realSeconds) : "0"),
            ("jobs", "\(jobs)"), ("faults", obj(faults)), ("stats", obj(stats)),
            ("failures", "[" + failures.map { "{\"seed\": \($0.seed), \"invariant\": \(quote($0.invariant))}" }
                .joined(separator: ", ") + "]"),
        ]
        if let traceHash { fields.append(("traceHash", quote(traceHash))) }
        return "{" + fields.sorted { $0.0 < $1.0 }.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}"
    }
}

func format3(_ d: Double) -> String {
    let scaled = (d * 1000).rounded() / 1000
    return "\(scaled)"
}

func quote(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\t": out += "\\t"
        default:
            if u.value < 0x20 {
                out += "\\u" + String(repeating: "0", count: 4 - String(u.value, radix: 16).count) + String(u.value, radix: 16)
            } else {
                out.unicodeScalars.append(u)
            }
        }
    }
    return out + "\""
}
