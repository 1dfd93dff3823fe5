import Foundation
import Testing
@testable import Simulator

/// Many seeds of the full simulation, in two halves so both cores work.
@Suite struct SeedsTests {
    static let stepsPerSeed = 400

    /// Runs each seed with the options it gets (and the `hearth-sim` flags that say them), and
    /// returns every result with a `reproduce:` line for each failing seed.
    func sweep(_ seeds: ClosedRange<UInt64>, _ options: (UInt64) -> (SimOptions, flags: String))
        -> (results: [SimResult], failures: [String]) {
        var results: [SimResult] = [], failures: [String] = []
        for seed in seeds {
            let (o, flags) = options(seed)
            let r = Simulation.run(seed: seed, options: o)
            #expect(r.events > 0)
            results.append(r)
            if let f = r.failures.first {
                failures.append("reproduce: hearth-sim --seed \(seed)\(flags) --steps \(Self.stepsPerSeed)   # \(f)")
            }
        }
        return (results, failures)
    }

    func run(_ seeds: ClosedRange<UInt64>) -> [String] {
        sweep(seeds) { _ in (SimOptions(steps: Self.stepsPerSeed), "") }.failures
    }

    @Test func firstHalf() {
        let failures = run(1...150)
        #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
    }

    @Test func secondHalf() {
        let failures = run(151...300)
        #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
    }

    /// Families where some devices run the older release (catalog format 1; the odd ones also
    /// protocol 1): they converge on what they understand, then upgrade in place and converge
    /// on everything with the newer nodes.
    @Test func mixedVersionFamilies() {
        let (results, failures) = sweep(1...40) { seed in
            var options = SimOptions(nodes: 3 + Int(seed % 4), steps: Self.stepsPerSeed)
            options.olderNodes = 1 + Int(seed % 3)
            return (options, " --nodes \(3 + seed % 4) --older-nodes \(1 + seed % 3)")
        }
        let checked = results.reduce(0) { $0 + $1.stats["olderNodesChecked", default: 0] }
        let kept = results.reduce(0) { $0 + $1.stats["olderKeptChanges", default: 0] }
        #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
        #expect(checked >= 40, "older nodes checked: \(checked)")
        #expect(kept > 0, "no older node ever kept a change it did not understand")
    }

    /// Clocks decades ahead (2099) and years behind, and jumps between them: every invariant
    /// holds, and edits made after seeing a far-ahead write still beat it (the causal register
    /// check fails the run otherwise).
    @Test func wildClocks() {
        let (results, failures) = sweep(1...30) { seed in
            var options = SimOptions(nodes: 3 + Int(seed % 3), steps: Self.stepsPerSeed)
            options.wildClocks = true
            return (options, " --nodes \(3 + seed % 3) --wild-clocks")
        }
        let overFar = results.reduce(0) { $0 + $1.stats["causalPairsOverFarClock", default: 0] }
        let far = results.reduce(0) { $0 + $1.faults["farClockJump", default: 0] }
        #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
        #expect(overFar > 0, "no edit was ever made after seeing a far-ahead write")
        #expect(far > 0, "no clock ever jumped far")
    }

    /// Ten nodes, the most the simulator runs, with every fault on.
    @Test func tenNodes() {
        for seed in UInt64(1)...4 {
            let r = Simulation.run(seed: seed, options: SimOptions(nodes: 10, steps: Self.stepsPerSeed))
            #expect(r.passed, "reproduce: hearth-sim --seed \(seed) --nodes 10 --steps \(Self.stepsPerSeed): \(r.failures)")
        }
    }

    /// A family-sized library (2,500 assets, a tenth archived and a tenth trashed, past every page
    /// and batch size in the code) under every fault: each node ends with every chunk its policy
    /// wants, worked out from all of its assets rather than from sync's own list.
    @Test func largeLibraryReplicatesWhole() {
        // Moving 5,000 objects' chunks under latency takes more heal events than the default budget.
        var options = SimOptions(steps: 300, maxHealEvents: 200_000)
        options.preloadAssets = 2_500
        for seed in UInt64(1)...3 {
            let r = Simulation.run(seed: seed, options: options)
            #expect(r.stats["preloaded"] == 2_500)
            #expect(r.passed, "reproduce: hearth-sim --seed \(seed) --steps 300 --preload 2500: \(r.failures)")
        }
    }

    /// On a network that only does what TCP can (a loss resets the connection), sessions never
    /// refuse an honest peer: the `badBatch` and `unexpectedMessage` closes of the default network
    /// all come from messages dropped or reordered inside a connection.
    @Test func tcpLikeNetworkNeverRefusesAnHonestPeer() {
        var options = SimOptions(steps: Self.stepsPerSeed)
        options.tcpLike = true
        var closes = 0
        for seed in UInt64(1)...30 {
            let r = Simulation.run(seed: seed, options: options)
            #expect(r.passed, "reproduce: hearth-sim --seed \(seed) --steps \(Self.stepsPerSeed) --tcp-like: \(r.failures)")
            #expect(r.stats["close.badBatch"] == nil && r.stats["close.unexpectedMessage"] == nil, "seed \(seed): \(r.stats)")
            closes += r.faults["connectionReset"] ?? 0
        }
        #expect(closes > 0)
    }

    /// Seeds that once failed, replayed with the options they failed under.
    @Test func regressions() throws {
        let text = try String(contentsOf: packageRoot.appendingPathComponent("simulations/regressions.txt"), encoding: .utf8)
        let list = try Regression.parse(text)
        #expect(!list.isEmpty)
        for reg in list {
            var options = SimOptions(nodes: reg.nodes, steps: reg.steps ?? 2_000)
            options.tcpLike = reg.tcpLike
            let r = Simulation.run(seed: reg.seed, options: options)
            #expect(r.passed, "regression seed \(reg.seed) (\(reg.note)): \(r.failures)")
        }
    }

    @Test func regressionLinesParse() throws {
        let list = try Regression.parse("# comment\n\n42 nodes=5 steps=1000  # found a thing\n7\n9 tcp # x\n")
        #expect(list == [Regression(seed: 42, nodes: 5, steps: 1000, note: "found a thing"),
                         Regression(seed: 7, nodes: nil, steps: nil, note: ""),
                         Regression(seed: 9, nodes: nil, steps: nil, note: "x", tcpLike: true)])
        #expect(throws: SimFailure.self) { try Regression.parse("x12 # not a seed") }
        #expect(throws: SimFailure.self) { try Regression.parse("12 nodes=11") }
    }
}
