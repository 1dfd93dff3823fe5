import ArgumentParser
import CSQLiteTuning
import Foundation
import Simulator

/// Runs deterministic multi-node simulations of Hearth's sync; see simulations/README.md.
struct HearthSim: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hearth-sim",
        abstract: "Run seeded simulations of Hearth nodes syncing under faults and check the invariants.")

    @Option(help: "Run one seed.")
    var seed: UInt64?

    @Option(help: "Run a range of seeds, A..B inclusive.")
    var seeds: String?

    @Option(help: "Nodes per run (2...10); drawn from the seed when left out.")
    var nodes: Int?

    @Option(help: "Events in the fault phase of each run.")
    var steps = 2_000

    @Flag(help: "Print a JSON summary instead of one line per seed.")
    var json = false

    @Flag(help: "Let a late joiner pair after a member left (reproduces a known catalog bug).")
    var joinAfterLeave = false

    @Flag(help: "A TCP-like network: every loss resets the connection; no reordering or duplication inside one.")
    var tcpLike = false

    @Option(help: "Assets the founder imports before the fault phase (a large library; 0...100000).")
    var preload = 0

    @Option(help: "Nodes (never the founder) that run an older release: catalog format 1, odd ones protocol 1 (0...9); upgraded once quiet.")
    var olderNodes = 0

    @Flag(help: "Clocks decades ahead and years behind (node 1 in 2099, the last node stuck at the epoch, far jumps).")
    var wildClocks = false

    @Flag(help: "Print every event of the trace (use with --seed).")
    var trace = false

    @Option(help: "Seeds to run at once, each single-threaded on its own thread (default: one per core).")
    var jobs = ProcessInfo.processInfo.activeProcessorCount

    func validate() throws {
        if let nodes, !(2...10).contains(nodes) { throw ValidationError("--nodes must be 2...10") }
        guard (0...1_000_000).contains(steps) else { throw ValidationError("--steps must be 0...1000000") }
        guard (seed == nil) != (seeds == nil) else { throw ValidationError("give exactly one of --seed N or --seeds A..B") }
        if let seeds, parseRange(seeds) == nil { throw ValidationError("--seeds must look like 100..199") }
        guard (0...100_000).contains(preload) else { throw ValidationError("--preload must be 0...100000") }
        guard (0...9).contains(olderNodes) else { throw ValidationError("--older-nodes must be 0...9") }
        guard (1...256).contains(jobs) else { throw ValidationError("--jobs must be 1...256") }
    }

    func parseRange(_ s: String) -> ClosedRange<UInt64>? {
        let parts = s.components(separatedBy: "..")
        guard parts.count == 2, let a = UInt64(parts[0]), let b = UInt64(parts[1]), a <= b else { return nil }
        return a...b
    }

    func run() throws {
        let range = seed.map { $0...$0 } ?? parseRange(seeds!)!
        var options = SimOptions(nodes: nodes, steps: steps)
        options.printTrace = trace
        options.joinAfterLeave = joinAfterLeave
        options.tcpLike = tcpLike
        options.preloadAssets = preload
        options.olderNodes = olderNodes
        options.wildClocks = wildClocks
        var summary = SimSummary()
        summary.jobs = min(jobs, range.count)
        let start = ContinuousClock.now
        var failed: [SimResult] = []
        for r in Self.results(range, options: options, jobs: summary.jobs) {
            let s = r.seed
            summary.add(r)
            if range.count == 1 { summary.traceHash = r.traceHash }
            if !r.passed { failed.append(r) }
            if !json {
                print("seed \(s): \(r.passed ? "ok" : "FAILED") nodes=\(r.nodes) events=\(r.events) "
                      + "simulated=\(r.simulatedMillis / 1000)s trace=\(r.traceHash.prefix(16))")
                for f in r.failures { print("  \(f)") }
                if range.count == 1 { print("  faults: \(r.plan)") }
            }
        }
        let elapsed = ContinuousClock.now - start
        summary.realSeconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        if json { print(summary.json()) }
        for r in failed {
            let extra = (nodes.map { " --nodes \($0)" } ?? "") + (steps != 2_000 ? " --steps \(steps)" : "")
                + (joinAfterLeave ? " --join-after-leave" : "") + (tcpLike ? " --tcp-like" : "")
                + (olderNodes > 0 ? " --older-nodes \(olderNodes)" : "") + (wildClocks ? " --wild-clocks" : "")
            FileHandle.standardError.write(Data("reproduce: hearth-sim --seed \(r.seed)\(extra)   # \(r.failures[0])\n".utf8))
        }
        if !failed.isEmpty { throw ExitCode(1) }
    }

    /// Every seed's result in seed order, as soon as it and every seed before it are done. Each
    /// simulation runs on one thread from start to end, so a seed's run (and trace) is the same
    /// whatever `jobs` is.
    static func results(_ range: ClosedRange<UInt64>, options: SimOptions, jobs: Int) -> AnySequence<SimResult> {
        guard jobs > 1 else { return AnySequence(range.lazy.map { Simulation.run(seed: $0, options: options) }) }
        let seeds = Array(range)
        let box = ResultBox(count: seeds.count)
        DispatchQueue.global().async {
            DispatchQueue.concurrentPerform(iterations: jobs) { _ in
                while let i = box.take() { box.set(i, Simulation.run(seed: seeds[i], options: options)) }
            }
        }
        return AnySequence((0..<seeds.count).lazy.map { box.wait($0) })
    }
}

/// Hands out seed indexes to worker threads and gives their results back in order.
final class ResultBox: @unchecked Sendable {
    private let condition = NSCondition()
    private var next = 0
    private var slots: [SimResult?]

    init(count: Int) { slots = Array(repeating: nil, count: count) }

    func take() -> Int? {
        condition.lock(); defer { condition.unlock() }
        guard next < slots.count else { return nil }
        next += 1
        return next - 1
    }

    func set(_ i: Int, _ r: SimResult) {
        condition.lock()
        slots[i] = r
        condition.broadcast()
        condition.unlock()
    }

    /// Blocks until result `i` is in, then hands it over (and forgets it).
    func wait(_ i: Int) -> SimResult {
        condition.lock(); defer { condition.unlock() }
        while slots[i] == nil { condition.wait() }
        let r = slots[i]!
        slots[i] = nil
        return r
    }
}

// Before any database opens: parallel seeds must not share SQLite's memory-statistics mutex.
_ = hearth_sqlite_memstatus_off()
HearthSim.main()
