import Testing
@testable import Simulator

/// Deliberately wrong rules, switched on one at a time: the simulator must catch each within a
/// bounded number of seeds, or its invariants are too weak to trust.
@Suite struct TeethTests {
    func firstCaught(_ bugs: InjectedBugs, seeds: ClosedRange<UInt64>, nodes: Int? = nil, steps: Int = 400,
                     joinAfterLeave: Bool = false) -> SimResult? {
        for seed in seeds {
            var o = SimOptions(nodes: nodes, steps: steps, maxHealEvents: 6_000, bugs: bugs)
            o.joinAfterLeave = joinAfterLeave
            let r = Simulation.run(seed: seed, options: o)
            if !r.passed { return r }
        }
        return nil
    }

    /// A driver that silently drops some Batches messages leaves nodes that never converge.
    @Test func droppedDeltaBatchesAreCaught() {
        let caught = firstCaught(InjectedBugs(dropOddBatches: true), seeds: 1...5)
        #expect(caught != nil)
        #expect(caught?.failures.first?.contains("liveness") == true)
    }

    /// A restore that forgets the epochs used since its snapshot reuses dots; the simulator sees it.
    @Test func epochReuseAfterRestoreIsCaught() {
        let caught = firstCaught(InjectedBugs(restoreForgetsEpoch: true), seeds: 1...60, steps: 1_000)
        #expect(caught != nil, "no seed in 1...60 caught a restored node reusing its epoch")
        if let f = caught?.failures { #expect(!f.isEmpty) }
    }

    /// A replica that learns of a member's removal before that member's earlier batches (a late
    /// joiner, a restored node) still takes them: authorization follows what each batch's author
    /// had seen, not the receiver's arrival order. The simulator found this when the catalog
    /// rejected every batch of a removed member.
    @Test func lateJoinerAfterALeaveConverges() {
        for seed: UInt64 in [3, 20] {
            let r = Simulation.run(seed: seed, options: {
                var o = SimOptions(nodes: 5, steps: 1_000, maxHealEvents: 6_000)
                o.joinAfterLeave = true
                return o
            }())
            #expect(r.passed, "seed \(seed): \(r.failures)")
        }
    }
}
