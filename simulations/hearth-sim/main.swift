import ArgumentParser
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

    @Flag(help: "Print every event of the trace (use with --seed).")
    var trace = false

    func validate() throws {
        if let nodes, !(2...10).contains(nodes) { throw ValidationError("--nodes must be 2...10") }
        guard (0...1_000_000).contains(steps) else { throw ValidationError("--steps must be 0...1000000") }
        guard (seed == nil) != (seeds == nil) else { throw ValidationError("give exactly one of --seed N or --seeds A..B") }
        if let seeds, parseRange(seeds) == nil { throw ValidationError("--seeds must look like 100..199") }
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
        var summary = SimSummary()
        let start = ContinuousClock.now
        var failed: [SimResult] = []
        for s in range {
            let r = Simulation.run(seed: s, options: options)
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
            FileHandle.standardError.write(Data("reproduce: hearth-sim --seed \(r.seed)\(extra)   # \(r.failures[0])\n".utf8))
        }
        if !failed.isEmpty { throw ExitCode(1) }
    }
}

HearthSim.main()
