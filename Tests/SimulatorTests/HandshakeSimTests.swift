import Testing
@testable import Simulator

/// The simulator runs the real handshake: late joiners come in through a ticket and a pairing
/// handshake, and a removed device is turned away at admission.
@Suite struct HandshakeSimTests {
    @Test func joinersUseTicketsAndRemovedDevicesAreRefused() {
        var joined = 0, removedRefused = 0, leaves = 0
        for seed: UInt64 in 1...12 {
            let r = Simulation.run(seed: seed, options: SimOptions(nodes: 4, steps: 400))
            #expect(r.passed, "reproduce: hearth-sim --seed \(seed) --nodes 4 --steps 400: \(r.failures)")
            #expect((r.stats["connections"] ?? 0) > 0)
            if r.plan.lateJoin {
                #expect((r.stats["ticketsIssued"] ?? 0) >= 1 && (r.stats["admitted"] ?? 0) >= 1,
                        "seed \(seed): the late joiner did not come in through a ticket: \(r.stats)")
                joined += 1
            }
            leaves += r.faults["leave"] ?? 0
            removedRefused += r.stats["removedRefused"] ?? 0
        }
        #expect(joined > 0, "no seed had a late joiner")
        #expect(leaves > 0 && removedRefused > 0, "\(leaves) leaves, \(removedRefused) refusals of a removed device")
    }
}
