import Foundation
import Testing
@testable import Simulator

@Suite struct DeterminismTests {
    /// The same seed gives the same trace, faults and verdict twice in one process.
    @Test(arguments: [UInt64(5), 77, 1_000_003])
    func sameSeedSameTrace(seed: UInt64) {
        let a = Simulation.run(seed: seed, options: SimOptions(steps: 300))
        let b = Simulation.run(seed: seed, options: SimOptions(steps: 300))
        #expect(a.traceHash.count == 64)
        #expect(a.traceHash == b.traceHash)
        #expect(a.events == b.events && a.simulatedMillis == b.simulatedMillis)
        #expect(a.faults == b.faults && a.stats == b.stats && a.failures == b.failures)
    }

    @Test func differentSeedsDiffer() {
        let a = Simulation.run(seed: 1, options: SimOptions(steps: 200))
        let b = Simulation.run(seed: 2, options: SimOptions(steps: 200))
        #expect(a.traceHash != b.traceHash)
    }

    @Test func randomIsSeeded() {
        var a = SimRandom(seed: 9), b = SimRandom(seed: 9)
        let xs = (0..<100).map { _ in a.int(0...1_000) }
        #expect(xs == (0..<100).map { _ in b.int(0...1_000) })
        #expect(Set(xs).count > 50)
        #expect(xs.allSatisfy { (0...1_000).contains($0) })
    }

    @Test func eventQueueOrdersByTimeThenInsertion() {
        var q = EventQueue()
        q.push(5, .tick(1))
        q.push(3, .tick(2))
        q.push(5, .tick(3))
        q.push(1, .tick(4))
        var order: [Int] = []
        while let e = q.pop() { if case .tick(let i) = e.event { order.append(i) } }
        #expect(order == [4, 2, 1, 3])
    }

    /// The summary JSON carries the fields the issue asks for.
    @Test func summaryJSON() {
        var s = SimSummary()
        s.add(Simulation.run(seed: 3, options: SimOptions(steps: 100)))
        s.traceHash = "ab"
        let json = s.json()
        for key in ["seeds", "events", "simulatedSeconds", "realSeconds", "faults", "failures", "traceHash"] {
            #expect(json.contains("\"\(key)\":"), "missing \(key) in \(json)")
        }
        let parsed = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        #expect(parsed?["seeds"] as? Int == 1)
    }
}
