import Wire

/// What one run simulates; everything not set here is drawn from the seed.
public struct SimOptions: Sendable {
    /// Nodes (2...10); nil draws 2...6 from the seed.
    public var nodes: Int?
    /// Events processed in the fault phase before the heal phase starts.
    public var steps: Int
    /// Events the heal phase may take to reach quiescence before liveness is declared broken.
    public var maxHealEvents: Int
    /// Test-only wrong rules, to show the invariants have teeth.
    public var bugs: InjectedBugs
    /// Lets a late joiner pair after a member left. Off by default: it runs into a known catalog
    /// bug (a replica that learns of a removal first rejects the removed member's earlier batches).
    public var joinAfterLeave = false
    /// Prints every trace line (the events the trace hash covers) to standard output.
    public var printTrace = false
    /// A network that does only what TCP with Noise can: every loss resets the connection, and a
    /// connection never drops, reorders or duplicates a message it keeps. Off by default, where
    /// single messages are also dropped, reordered and duplicated inside a connection. The seed
    /// draws the same numbers either way.
    public var tcpLike = false
    /// Assets the founder imports before the fault phase (in commits of 500), so a run reaches a
    /// family library's size and every page or batch limit in the code is crossed; 0 by default.
    public var preloadAssets = 0
    /// Nodes (never the founder) that run an older release: catalog format level 1, the odd
    /// ones also protocol 1 like release 6847644; upgraded in place once the family is quiet
    /// (see `Simulation+Versions.swift`). 0 by default.
    public var olderNodes = 0
    /// Clocks far outside the catalog's 5-minute skew bound: node 1 runs decades ahead (a device
    /// set to 2099), the last node years behind (its wall clock stuck near the epoch), and a clock
    /// jump may send any node decades ahead or behind. Causally later edits must still win.
    /// Off by default; the seed draws the same numbers either way until a far clock is drawn.
    public var wildClocks = false

    public init(nodes: Int? = nil, steps: Int = 2_000, maxHealEvents: Int = 40_000, bugs: InjectedBugs = InjectedBugs()) {
        precondition(nodes.map { (2...10).contains($0) } ?? true, "nodes must be 2...10")
        precondition(steps >= 0 && maxHealEvents > 0)
        self.nodes = nodes
        self.steps = steps
        self.maxHealEvents = maxHealEvents
        self.bugs = bugs
    }
}

/// Deliberately wrong behaviour the simulator can switch on; all off in real runs.
public struct InjectedBugs: Sendable, Equatable {
    /// A restored node starts its new epoch from what the snapshot knew, forgetting epochs it used
    /// after the snapshot was taken (so a second restore reuses dots already given out).
    public var restoreForgetsEpoch = false
    /// The driver drops every Batches message whose first batch has an odd first sequence number
    /// on one connection side (a lost delta the session never notices).
    public var dropOddBatches = false

    public init(restoreForgetsEpoch: Bool = false, dropOddBatches: Bool = false) {
        self.restoreForgetsEpoch = restoreForgetsEpoch
        self.dropOddBatches = dropOddBatches
    }
}

/// Fault rates for one seed, drawn from ranges like TigerBeetle's VOPR.
public struct FaultPlan: Sendable, CustomStringConvertible {
    /// Probability a message is lost (0...0.3); part of the losses reset the connection instead.
    public var loss: Double
    /// Share of losses that reset the connection (what a lost TCP segment usually becomes).
    public var lossResets: Double
    /// Probability a message is delivered twice (0...0.5).
    public var duplication: Double
    /// Probability a message is delayed past the ones sent after it (0...0.2).
    public var reorder: Double
    /// One-way latency bounds, ms.
    public var minLatency: Int64
    public var maxLatency: Int64
    /// Mean virtual time between injected faults (partition, crash, restore, clock jump), ms.
    public var faultGap: Int64
    /// Mean virtual time between workload operations, ms.
    public var workGap: Int64
    /// Largest clock offset of any node from virtual time, ms (pairs stay within the catalog's
    /// 5-minute skew bound).
    public var maxSkew: Int64
    public var lateJoin: Bool
    public var leave: Bool
    public var policies: [StoragePolicy]

    static func draw(_ r: inout SimRandom, nodes: Int) -> FaultPlan {
        let maxLatency = r.int64(1...2_000)
        return FaultPlan(
            loss: r.chance(0.2) ? 0 : r.double(0...0.3), lossResets: r.double(0...1),
            duplication: r.chance(0.2) ? 0 : r.double(0...0.5), reorder: r.chance(0.3) ? 0 : r.double(0...0.2),
            minLatency: r.int64(0...min(maxLatency, 50)), maxLatency: maxLatency,
            faultGap: r.int64(2_000...60_000), workGap: r.int64(200...5_000),
            maxSkew: r.chance(0.2) ? 0 : r.int64(0...150_000),
            lateJoin: nodes >= 3 && r.chance(0.5), leave: nodes >= 4 && r.chance(0.5),
            policies: (0..<nodes).map { i in i == 0 ? .everything : (r.pick(StoragePolicy.allCases) ?? .everything) })
    }

    public var description: String {
        func pct(_ d: Double) -> String { "\(Int((d * 100).rounded()))%" }
        return "loss \(pct(loss)) (resets \(pct(lossResets))), duplication \(pct(duplication)), reorder \(pct(reorder)), "
            + "latency \(minLatency)...\(maxLatency) ms, fault every ~\(faultGap / 1000) s, skew ±\(maxSkew / 1000) s"
            + (lateJoin ? ", late join" : "") + (leave ? ", leave" : "")
            + ", policies \(policies.map(\.description).joined(separator: ","))"
    }
}
