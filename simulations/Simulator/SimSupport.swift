import HearthCrypto

/// SplitMix64: the simulator's only source of randomness, seeded from the run's seed.
///
/// Each concern (network, workload, faults) gets its own stream (`fork`), so adding a draw in one
/// does not reshuffle the others.
public struct SimRandom: RandomNumberGenerator {
    var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform double in [0, 1).
    mutating func unit() -> Double { Double(next() >> 11) / Double(UInt64(1) << 53) }

    mutating func chance(_ p: Double) -> Bool { p > 0 && unit() < p }

    mutating func int(_ r: ClosedRange<Int>) -> Int { r.lowerBound + Int(next() % UInt64(r.count)) }

    mutating func int64(_ r: ClosedRange<Int64>) -> Int64 {
        r.lowerBound + Int64(next() % UInt64(r.upperBound - r.lowerBound + 1))
    }

    mutating func double(_ r: ClosedRange<Double>) -> Double { r.lowerBound + unit() * (r.upperBound - r.lowerBound) }

    mutating func bytes(_ n: Int) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(n + 8)
        while out.count < n { withUnsafeBytes(of: next()) { out += $0 } }
        return Array(out.prefix(n))
    }

    mutating func pick<T>(_ a: [T]) -> T? { a.isEmpty ? nil : a[int(0...(a.count - 1))] }

    mutating func fork() -> SimRandom { SimRandom(seed: next()) }
}

/// A min-heap of events ordered by (time, insertion number): ties resolve in the order scheduled.
struct EventQueue {
    struct Entry {
        let time: Int64
        let order: UInt64
        let event: SimEvent
        func before(_ o: Entry) -> Bool { time != o.time ? time < o.time : order < o.order }
    }

    private var heap: [Entry] = []
    private var counter: UInt64 = 0

    var count: Int { heap.count }
    var isEmpty: Bool { heap.isEmpty }

    mutating func push(_ time: Int64, _ event: SimEvent) {
        counter += 1
        heap.append(Entry(time: time, order: counter, event: event))
        var i = heap.count - 1
        while i > 0 {
            let p = (i - 1) / 2
            guard heap[i].before(heap[p]) else { break }
            heap.swapAt(i, p)
            i = p
        }
    }

    mutating func pop() -> Entry? {
        guard !heap.isEmpty else { return nil }
        heap.swapAt(0, heap.count - 1)
        let top = heap.removeLast()
        var i = 0
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < heap.count, heap[l].before(heap[m]) { m = l }
            if r < heap.count, heap[r].before(heap[m]) { m = r }
            if m == i { break }
            heap.swapAt(i, m)
            i = m
        }
        return top
    }
}

/// The event trace, hashed as it grows: the same seed must give the same hash in any process.
struct TraceHasher {
    private var chain: [UInt8] = Array(repeating: 0, count: 32)
    private var buffer: [UInt8] = []
    private(set) var events = 0
    var echo = false

    mutating func add(_ line: String) {
        events += 1
        if echo { print(line) }
        buffer += Array(line.utf8)
        buffer.append(10)
        flushIfLarge()
    }

    mutating func add(bytes: [UInt8]) {
        buffer += bytes
        flushIfLarge()
    }

    private mutating func flushIfLarge() {
        guard buffer.count >= 1 << 16 else { return }
        chain = Blake2b.hash(chain + buffer)
        buffer.removeAll(keepingCapacity: true)
    }

    var hash: Hash256 { Hash256(bytes: Blake2b.hash(chain + buffer))! }
}
