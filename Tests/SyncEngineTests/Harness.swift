import Catalog
import HearthCrypto
import Wire
@testable import SyncEngine

/// One device in a test: identity, catalog, chunk store, policy.
final class TestNode {
    let name: String
    let identity: Identity
    let catalog: MemoryCatalog
    let chunks = MemoryChunks()
    let policy: StoragePolicy

    init(_ name: String, seed: UInt8, library: LibraryID, policy: StoragePolicy) {
        self.name = name
        identity = Identity.fromSeed([UInt8](repeating: seed, count: 32))
        catalog = MemoryCatalog(library: library)
        self.policy = policy
    }

    /// Imports a "photo": an original of `originalChunks` chunks, a preview and a thumbnail.
    @discardableResult
    func importPhoto(_ n: Int, originalChunks: Int = 2, chunkSize: Int = 1000) -> [Hash256] {
        func chunk(_ tag: UInt8, _ i: Int) -> Hash256 {
            chunks.add((0..<chunkSize).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ n &* 7 &+ i &* 13) ^ tag } + Array(name.utf8))
        }
        let original = (0..<originalChunks).map { chunk(0x00, $0) }
        let preview = chunk(0x55, 0), thumb = chunk(0xAA, 0)
        catalog.commit(by: identity, objects: [(.original, original), (.preview, [preview]), (.thumbnail, [thumb])])
        return original + [preview, thumb]
    }

    func session(peer: TestNode, window: Int = 1 << 20, chunkIDs: Int = 64) -> SyncSession {
        SyncSession(catalog: catalog, chunks: chunks,
                    config: SyncConfig(policy: policy, creditWindow: window, chunkIDsPerRequest: chunkIDs),
                    peerName: peer.name)
    }
}

/// Makes every node a member of every other node's library view.
func introduce(_ nodes: [TestNode], roles: [String: MemoryCatalog.Role] = [:]) {
    for a in nodes { for b in nodes { a.catalog.add(b.identity, role: roles[b.name] ?? .member) } }
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
    let now: Int64 = 1_000

    init(_ x: TestNode, _ y: TestNode, window: Int = 1 << 20, chunkIDs: Int = 64) {
        a = x.session(peer: y, window: window, chunkIDs: chunkIDs)
        b = y.session(peer: x, window: window, chunkIDs: chunkIDs)
    }

    mutating func start() {
        take(a.handle(.start, now: now), fromA: true)
        take(b.handle(.start, now: now), fromA: false)
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
            take(a.handle(.message(m), now: now), fromA: true)
        } else if !toB.isEmpty {
            let m = toB.removeFirst()
            delivered += 1
            take(b.handle(.message(m), now: now), fromA: false)
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
