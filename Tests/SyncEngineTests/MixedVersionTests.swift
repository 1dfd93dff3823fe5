import Catalog
import ChunkStore
import HearthCrypto
import Testing
import Wire
@testable import SyncEngine

/// Sessions between nodes of different releases, over the real catalog and chunk store.
struct MixedVersionTests {
    let t: Int64 = 1_700_000_000_000

    func hello(_ id: Identity, _ lib: LibraryID, version: UInt16) -> Hello {
        Hello(protocolVersion: version, publicKey: id.publicKey, library: lib.bytes, epoch: 1, policy: .everything,
              software: "test")
    }

    @Test func negotiationTakesTheLowerMaximum() {
        let id = Identity.fromSeed([UInt8](repeating: 3, count: 32))
        let lib = LibraryID(bytes: [UInt8](repeating: 1, count: 16))!
        #expect(ProtocolVersion.negotiate(peer: hello(id, lib, version: 1)) == 1)
        #expect(ProtocolVersion.negotiate(peer: hello(id, lib, version: 2)) == 2)
        #expect(ProtocolVersion.negotiate(peer: hello(id, lib, version: 9)) == MessageLimits.protocolVersion)
        #expect(ProtocolVersion.negotiate(localMin: 2, localMax: 2, peer: hello(id, lib, version: 1)) == nil)
        #expect(ProtocolVersion.negotiate(localMax: 1, peer: hello(id, lib, version: 2)) == 1)
        #expect(throws: SyncError.self) {
            try SyncSession.check(peerHello: hello(id, lib, version: 1), handshakeKey: id.publicKey, library: lib,
                                  isMember: { _ in true }, peer: "p", localMaxVersion: 0)
        }
    }

    /// Runs two sessions to the end; returns every Batches message each side received.
    func run(_ sa: inout SyncSession, _ sb: inout SyncSession) -> (toA: [Batches], toB: [Batches], converged: Bool) {
        var toB = sa.handle(.start, now: t, wallMillis: t).messages, toA = sb.handle(.start, now: t, wallMillis: t).messages
        var seenA: [Batches] = [], seenB: [Batches] = []
        var convergedA = false, convergedB = false
        var rounds = 0
        while (!toA.isEmpty || !toB.isEmpty) && rounds < 1_000 {
            rounds += 1
            let inA = toA, inB = toB
            toA = []; toB = []
            for m in inA {
                if case .batches(let b) = m { seenA.append(b) }
                let e = sa.handle(.message(m), now: t, wallMillis: t)
                toB += e.messages
                convergedA = convergedA || e.contains { if case .converged = $0 { true } else { false } }
            }
            for m in inB {
                if case .batches(let b) = m { seenB.append(b) }
                let e = sb.handle(.message(m), now: t, wallMillis: t)
                toA += e.messages
                convergedB = convergedB || e.contains { if case .converged = $0 { true } else { false } }
            }
        }
        return (seenA, seenB, convergedA && convergedB)
    }

    /// A node speaking protocol 1 (as release 6847644 does) is never sent a payload version 3
    /// batch nor the same origin's later ones; both sides still reach Done and converge on what
    /// the older one may hold, and the older node's own changes reach the newer one.
    @Test func olderPeerGetsAContiguousVersion2PrefixAndConverges() throws {
        let ida = Identity.fromSeed([UInt8](repeating: 1, count: 32))
        let idb = Identity.fromSeed([UInt8](repeating: 2, count: 32))
        let a = try Catalog.create(path: nil, identity: ida, personName: "Ann", nonce: Array(0..<16), now: t)
        try a.commit([.addMember(publicKey: idb.publicKey, name: "Bob", role: .member)], now: t)
        let b = try Catalog.join(path: nil, library: a.libraryID, identity: idb, formatLevel: CatalogFormat.base)
        let photo = Blake2b.hash256(Array("p".utf8))
        let ref = ObjectRef(id: photo, size: 1, chunks: [photo])
        try a.commit([.importAsset(AssetImport(id: photo, fileName: "a.jpg", original: ref))], now: t + 1)
        let prefix = try a.versionVector()
        try a.commit([.setField(photo, .thumbhash, .text("h"))], now: t + 2)
        try a.commit([.setRating(photo, 5)], now: t + 3)
        _ = try b.applyRemote(a.batches(missingFrom: b.versionVector()).prefix(1).map { $0 }, now: t)

        let version = try SyncSession.check(peerHello: hello(idb, a.libraryID, version: ProtocolVersion.v1),
                                            handshakeKey: idb.publicKey, library: a.libraryID, isMember: { _ in true },
                                            peer: "B")
        #expect(version == 1)
        let storeA = ChunkStore.inMemory(), storeB = ChunkStore.inMemory()
        var sa = SyncSession(catalog: a, chunks: storeA, config: SyncConfig(policy: .thumbnails), peerName: "B",
                             protocolVersion: version)
        var sb = SyncSession(catalog: b, chunks: storeB, config: SyncConfig(policy: .thumbnails), peerName: "A",
                             protocolVersion: version)
        let (_, toB, converged) = run(&sa, &sb)
        #expect(sa.closed == nil && sb.closed == nil)
        #expect(converged && sa.isConverged && sb.isConverged)
        let sent = toB.flatMap(\.batches)
        #expect(!sent.isEmpty && sent.allSatisfy { $0.payload.first == 2 }, "an older peer got a payload it cannot read")
        #expect(try b.versionVector() == prefix)
        #expect(try b.asset(photo)?.rating == 0)
        // The older node writes; the newer one gets it.
        try b.commit([.addTag(photo, "Old")], now: t + 4)
        var sa2 = SyncSession(catalog: a, chunks: storeA, config: SyncConfig(policy: .thumbnails), peerName: "B",
                              protocolVersion: version)
        var sb2 = SyncSession(catalog: b, chunks: storeB, config: SyncConfig(policy: .thumbnails), peerName: "A",
                              protocolVersion: version)
        #expect(run(&sa2, &sb2).converged)
        #expect(try a.tags(of: photo) == ["Old"])
        // Once both speak protocol 2 the older node gets the rest (and keeps what its level does not know).
        var sa3 = SyncSession(catalog: a, chunks: storeA, config: SyncConfig(policy: .thumbnails), peerName: "B")
        var sb3 = SyncSession(catalog: b, chunks: storeB, config: SyncConfig(policy: .thumbnails), peerName: "A")
        #expect(run(&sa3, &sb3).converged)
        #expect(try b.versionVector() == a.versionVector())
        #expect(try b.asset(photo)?.rating == 5 && b.deferredChangeCount() == 1)
        #expect(try b.digest(format: CatalogFormat.base) == a.digest(format: CatalogFormat.base))
    }
}
