import Catalog
import ChunkStore
import HearthCrypto
import Wire
@testable import SyncEngine
@_exported import SyncTestSupport

extension TestNode {
    func session(peer: TestNode, window: Int = 1 << 20, chunkIDs: Int = 64) -> SyncSession {
        SyncSession(catalog: syncCatalog, chunks: syncChunks,
                    config: SyncConfig(policy: policy, creditWindow: window, chunkIDsPerRequest: chunkIDs),
                    peerName: peer.name)
    }
}

/// Two sessions wired back to back, delivering messages in order, one queue per direction.
struct Link {
    var a: SyncSession
    var b: SyncSession
    var toA: [Message] = []
    var toB: [Message] = []
    var effectsA: [SyncEffect] = []
    var effectsB: [SyncEffect] = []
    var delivered = 0
    let now: Int64 = testNow

    init(_ x: TestNode, _ y: TestNode, window: Int = 1 << 20, chunkIDs: Int = 64) {
        a = x.session(peer: y, window: window, chunkIDs: chunkIDs)
        b = y.session(peer: x, window: window, chunkIDs: chunkIDs)
    }

    mutating func start() {
        take(a.handle(.start, now: now, wallMillis: now), fromA: true)
        take(b.handle(.start, now: now, wallMillis: now), fromA: false)
    }

    mutating func take(_ effects: [SyncEffect], fromA: Bool) {
        if fromA { effectsA += effects; toB += effects.messages } else { effectsB += effects; toA += effects.messages }
    }

    /// Delivers one message (alternating directions); false when both queues are empty.
    mutating func step() -> Bool {
        let pickA = !toA.isEmpty && (toB.isEmpty || delivered % 2 == 0)
        if pickA {
            let m = toA.removeFirst()
            delivered += 1
            take(a.handle(.message(m), now: now, wallMillis: now), fromA: true)
        } else if !toB.isEmpty {
            let m = toB.removeFirst()
            delivered += 1
            take(b.handle(.message(m), now: now, wallMillis: now), fromA: false)
        } else {
            return false
        }
        return true
    }

    /// Runs until quiet or a session closes; at most `limit` deliveries.
    mutating func run(limit: Int = 100_000) {
        var n = 0
        while n < limit, a.closed == nil, b.closed == nil, step() { n += 1 }
    }

    var convergedA: Bool { effectsA.contains { if case .converged = $0 { true } else { false } } }
    var convergedB: Bool { effectsB.contains { if case .converged = $0 { true } else { false } } }
}

extension Array where Element == SyncEffect {
    var closeError: SyncError? {
        for e in self { if case .close(let err) = e { return err } }
        return nil
    }
}
