import Catalog
import ChunkStore
import HearthCrypto
import Testing
import Wire
@testable import SyncEngine

/// The engine over the real Catalog (in-memory SQLite) and the real in-memory ChunkStore.
struct RealStoresTests {
    @Test func twoRealNodesConverge() throws {
        let t: Int64 = 1_700_000_000_000
        let ida = Identity.fromSeed([UInt8](repeating: 1, count: 32))
        let idb = Identity.fromSeed([UInt8](repeating: 2, count: 32))
        let a = try Catalog.create(path: nil, identity: ida, personName: "Ann", nonce: Array(0..<16), now: t)
        let b = try Catalog.join(path: nil, library: a.libraryID, identity: idb)
        try a.commit([.addMember(publicKey: idb.publicKey, name: "Bob", role: .member)], now: t)
        let storeA = ChunkStore.inMemory(), storeB = ChunkStore.inMemory()
        let bytes = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 9) }
        let obj = try storeA.store(bytes: bytes)
        try a.commit([.importAsset(AssetImport(id: obj.id, fileName: "IMG_0001.JPG",
                                               original: ObjectRef(id: obj.id, size: obj.size, chunks: obj.chunks)))], now: t)
        // B knows A as a member only through the genesis batch; seed that as a pairing would.
        _ = try b.applyRemote(a.batches(missingFrom: b.versionVector()).prefix(1).map { $0 }, now: t)

        var sa = SyncSession(catalog: a, chunks: storeA, config: SyncConfig(policy: .everything), peerName: "B")
        var sb = SyncSession(catalog: b, chunks: storeB, config: SyncConfig(policy: .everything), peerName: "A")
        var toB = sa.handle(.start, now: t, wallMillis: t).messages, toA = sb.handle(.start, now: t, wallMillis: t).messages
        var convergedA = false, convergedB = false
        while !toA.isEmpty || !toB.isEmpty {
            let inA = toA, inB = toB
            toA = []; toB = []
            for m in inA {
                let e = sa.handle(.message(m), now: t, wallMillis: t)
                toB += e.messages
                convergedA = convergedA || e.contains { if case .converged = $0 { true } else { false } }
            }
            for m in inB {
                let e = sb.handle(.message(m), now: t, wallMillis: t)
                toA += e.messages
                convergedB = convergedB || e.contains { if case .converged = $0 { true } else { false } }
            }
        }
        #expect(sa.closed == nil && sb.closed == nil)
        #expect(convergedA && convergedB)
        #expect(try a.digest() == b.digest())
        #expect(try storeB.missing(of: obj.chunks).isEmpty)
        #expect(try storeB.readObject(chunks: obj.chunks, expectedID: obj.id) == bytes)
    }
}
