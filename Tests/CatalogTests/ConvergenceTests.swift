import HearthCrypto
import Testing
@testable import Catalog

/// Random edits that are valid against the replica's current view (invalid ones are skipped).
func randomEdits(_ c: Catalog, _ rng: inout SeededRNG, now: Int64) throws -> [Edit] {
    let known = try c.assets(AssetFilter(scope: .all, limit: 1000)).map(\.id)
    let albums = try c.albums().map(\.id)
    let tags = ["Places", "Places/Japan", "People/Ann", "Trips"]
    var edits = [Edit]()
    for _ in 0..<Int.random(in: 1...4, using: &rng) {
        let pick = Int.random(in: 0..<14, using: &rng)
        if pick < 3 || known.isEmpty {
            let n = Int.random(in: 0..<12, using: &rng)
            edits.append(.importAsset(anImport(n, name: "n\(Int.random(in: 0..<3, using: &rng)).jpg",
                                               fields: [.rating: .int(Int64.random(in: 0...5, using: &rng))])))
            continue
        }
        let id = known.randomElement(using: &rng)!
        let album = albums.randomElement(using: &rng)
        let tag = tags.randomElement(using: &rng)!
        switch pick {
        case 3: edits.append(.setRating(id, Int.random(in: 0...5, using: &rng)))
        case 4: edits.append(.setFavorite(id, Bool.random(using: &rng)))
        case 5: edits.append(.setDescription(id, "d\(Int.random(in: 0..<5, using: &rng))"))
        case 6: edits.append(Bool.random(using: &rng) ? .trash(id) : .restore(id))
        case 7: edits.append(Int.random(in: 0..<4, using: &rng) == 0 ? .purge(id) : .setArchived(id, Bool.random(using: &rng)))
        case 8: edits.append(.createAlbum(albumID(UInt8.random(in: 1...6, using: &rng)), name: "A\(Int.random(in: 0..<4, using: &rng))"))
        case 9: if let album { edits.append(.addToAlbum(album, id)) }
        case 10: if let album { edits.append(.removeFromAlbum(album, id)) }
        case 11: edits.append(.addTag(id, tag))
        case 12: edits.append(.removeTag(id, tag))
        default:
            if let album {
                edits.append(Int.random(in: 0..<5, using: &rng) == 0 ? .deleteAlbum(album) : .renameAlbum(album, "R\(pick)"))
            }
        }
    }
    return edits
}

@Suite struct ConvergenceTests {
    /// Random edits on 3 replicas; deltas delivered partially, shuffled, duplicated and dropped,
    /// then everything redelivered: all replicas end with one digest.
    @Test(arguments: 1...8 as ClosedRange<UInt64>)
    func randomEditsConverge(seed: UInt64) throws {
        var rng = SeededRNG(seed: seed)
        let cs = try library(3)
        var pool = [SignedBatch]()
        for c in cs { pool += try c.batches(missingFrom: VersionVector()) }
        var now = t0
        for _ in 0..<20 {
            for c in cs where Bool.random(using: &rng) {
                now += Int64.random(in: 0...2000, using: &rng)
                let skew = Int64.random(in: -1000...1000, using: &rng)
                for e in try randomEdits(c, &rng, now: now) {
                    if let b = try? c.commit([e], now: now + skew) { pool.append(b) }
                }
            }
            // Partial gossip: a random subset, with duplicates, in random order.
            for c in cs {
                var some = pool.filter { _ in Int.random(in: 0..<3, using: &rng) == 0 }
                some += some.prefix(2)
                some.shuffle(using: &rng)
                let r = try c.applyRemote(some, now: now)
                #expect(r.rejected.isEmpty, "seed \(seed): \(r.rejected.map(\.reason))")
            }
        }
        for c in cs {
            var all = pool + pool.prefix(5)
            all.shuffle(using: &rng)
            let cut = Int.random(in: 0...all.count, using: &rng)
            try c.applyRemote(Array(all[..<cut]), now: now)
            let r = try c.applyRemote(Array(all[cut...]), now: now)
            #expect(r.rejected.isEmpty)
            #expect(r.pending == 0)
        }
        #expect(pool.count > 30, "the run made real edits")
        let digests = try cs.map { try $0.digest() }
        #expect(Set(digests).count == 1, "reproduce: randomEditsConverge seed \(seed)")
        #expect(Set(try cs.map { try $0.versionVector() }.map { $0.sorted.map { "\($0.origin)=\($0.seq)" } }).count == 1)
        // A fresh joiner served by one replica reaches the same state in one pass.
        let j = try Catalog.join(path: nil, library: cs[0].libraryID, identity: identity(50))
        let r = try sync(cs[1], j, now: now)
        #expect(r.pending == 0 && r.rejected.isEmpty)
        #expect(try j.digest() == digests[0])
    }

    /// Batches from three writers, for the merge laws below.
    func history(seed: UInt64) throws -> (Catalog, [SignedBatch]) {
        var rng = SeededRNG(seed: seed)
        let cs = try library(3)
        var now = t0
        for _ in 0..<6 {
            for c in cs {
                now += 10
                for e in try randomEdits(c, &rng, now: now) { _ = try? c.commit([e], now: now) }
            }
            try sync(cs[Int.random(in: 0..<3, using: &rng)], cs[Int.random(in: 0..<3, using: &rng)])
        }
        var all = [SignedBatch]()
        for c in cs { all += try c.batches(missingFrom: VersionVector()) }
        var seen = Set<Dot>()
        try cs[0].applyRemote(all, now: now)
        return (cs[0], all.filter { seen.insert(Dot(origin: $0.origin, seq: $0.firstSeq)).inserted })
    }

    func replica(_ lib: LibraryID, _ n: Int) throws -> Catalog {
        try Catalog.join(path: nil, library: lib, identity: identity(60 + n))
    }

    @Test func mergeIsCommutativeAssociativeIdempotent() throws {
        let (c, batches) = try history(seed: 42)
        let lib = c.libraryID
        let x = try replica(lib, 1), y = try replica(lib, 2), z = try replica(lib, 3)
        try x.applyRemote(batches, now: t0)
        try y.applyRemote(batches.reversed(), now: t0)
        let third = batches.count / 3
        let (p, q, r) = (Array(batches[..<third]), Array(batches[third..<(2 * third)]), Array(batches[(2 * third)...]))
        try z.applyRemote(r + p, now: t0)  // (R ∪ P) ∪ Q
        try z.applyRemote(q, now: t0)
        #expect(try x.digest() == c.digest())
        #expect(try y.digest() == x.digest())
        #expect(try z.digest() == x.digest())
        let before = try x.digest()
        let again = try x.applyRemote(batches, now: t0)
        #expect(again.applied == 0 && again.skipped == batches.count)
        #expect(try x.digest() == before)
    }

    @Test func gapWaitsInPendingUntilFilled() throws {
        let cs = try library(2)
        let b1 = try cs[1].commit([.importAsset(anImport(1))], now: t0)
        let b2 = try cs[1].commit([.addTag(assetID(1), "x")], now: t0)
        var r = try cs[0].applyRemote([b2], now: t0)
        #expect(r.pending == 1 && r.applied == 0)
        #expect(try cs[0].asset(assetID(1)) == nil)
        r = try cs[0].applyRemote([b1], now: t0)
        #expect(r.applied == 2 && r.pending == 0)
        #expect(try cs[0].digest() == cs[1].digest())
    }
}

@Suite struct SetAndRegisterTests {
    @Test func removeWithoutConcurrentAddStaysRemoved() throws {
        let cs = try library(3)
        let (a, b, c) = (cs[0], cs[1], cs[2])
        let imp = try a.commit([.importAsset(anImport(1)), .addTag(assetID(1), "Places")], now: t0)
        try b.applyRemote([imp], now: t0)
        let rm = try b.commit([.removeTag(assetID(1), "Places")], now: t0 + 1)
        try c.applyRemote([rm], now: t0)  // the remove arrives before the add it observed
        try c.applyRemote([imp], now: t0)
        try a.applyRemote([rm], now: t0)
        for x in cs { #expect(try x.tags(of: assetID(1)).isEmpty) }
        #expect(try a.digest() == b.digest() && b.digest() == c.digest())
    }

    @Test func addWinsOverConcurrentRemove() throws {
        let cs = try library(2)
        let (a, b) = (cs[0], cs[1])
        try a.commit([.importAsset(anImport(1)), .createAlbum(albumID(1), name: "A"), .addToAlbum(albumID(1), assetID(1))], now: t0)
        try sync(a, b)
        try b.commit([.removeFromAlbum(albumID(1), assetID(1))], now: t0 + 5)
        try a.commit([.addToAlbum(albumID(1), assetID(1))], now: t0 + 1)
        try sync(a, b)
        try sync(b, a)
        for x in cs { #expect(try x.assets(AssetFilter(album: albumID(1))).map(\.id) == [assetID(1)]) }
        #expect(try a.digest() == b.digest())
    }

    @Test func lwwTieBrokenByDeviceID() throws {
        let cs = try library(2)
        let (a, b) = (cs[0], cs[1])
        try a.commit([.importAsset(anImport(1))], now: t0)
        try sync(a, b)
        let later = t0 + 1_000_000  // both clocks jump to exactly later << 16: equal timestamps
        try a.commit([.setDescription(assetID(1), "from a")], now: later)
        try b.commit([.setDescription(assetID(1), "from b")], now: later)
        try sync(a, b)
        try sync(b, a)
        let winner = identity(1).deviceID > identity(2).deviceID ? "from a" : "from b"
        #expect(try a.asset(assetID(1))?.description == winner)
        #expect(try b.asset(assetID(1))?.description == winner)
    }

    @Test func skewedRemoteClockDoesNotDragLocalClock() throws {
        let cs = try library(2)
        let (a, b) = (cs[0], cs[1])
        let hour: Int64 = 3_600_000
        try a.commit([.importAsset(anImport(1)), .setRating(assetID(1), 5)], now: t0 + hour)  // a's clock is an hour fast
        try sync(a, b, now: t0)
        let clock = try b.db.read { try Meta.clock($0) }
        #expect(Int64(clock >> 16) <= t0 + HLC.maxClockSkewMillis)
        #expect(Int64(clock >> 16) >= t0 + HLC.maxClockSkewMillis - 1, "clamped to now + skew, not ignored")
        // b's edit, made after seeing a's, is raised above a's skewed stamp and wins on both
        // replicas; the raise does not drag b's clock past now + skew either.
        try b.commit([.setRating(assetID(1), 1)], now: t0 + 1)
        #expect(Int64(try b.db.read { try Meta.clock($0) } >> 16) <= t0 + 1 + HLC.maxClockSkewMillis)
        try sync(b, a, now: t0)
        #expect(try b.asset(assetID(1))?.rating == 1)
        #expect(try a.asset(assetID(1))?.rating == 1)
        #expect(try a.digest() == b.digest())
    }

    @Test func concurrentImportsOfSameBytesAreOneAsset() throws {
        let cs = try library(2)
        try cs[0].commit([.importAsset(anImport(1, name: "x.jpg"))], now: t0)
        try cs[1].commit([.importAsset(anImport(1, name: "y.jpg", fields: [.make: .text("Sony")]))], now: t0 + 1)
        try sync(cs[0], cs[1])
        try sync(cs[1], cs[0])
        for c in cs {
            #expect(try c.counts().library == 1)
            let a = try #require(try c.asset(assetID(1)))
            #expect(a.fileNames == ["x.jpg", "y.jpg"] && a.make == "Sony")
        }
        #expect(try cs[0].digest() == cs[1].digest())
    }

    /// A second import of the same photo, with a later clock, must not undo edits made before it
    /// (found by the simulator: a later import rebuilt every field).
    @Test func laterImportNeverUndoesEdits() throws {
        let cs = try library(2)
        try cs[0].commit([.importAsset(anImport(1, name: "x.jpg", fields: [.rating: .int(2), .description: .text("from file")]))], now: t0)
        try cs[0].commit([.setRating(assetID(1), 5), .setFavorite(assetID(1), true), .trash(assetID(1))], now: t0 + 10)
        // The other device imports the same bytes later, before it has heard of the edits.
        try cs[1].commit([.importAsset(anImport(1, name: "y.jpg", fields: [.rating: .int(1), .make: .text("Sony")]))], now: t0 + 1000)
        try sync(cs[0], cs[1])
        try sync(cs[1], cs[0])
        for c in cs {
            let a = try #require(try c.asset(assetID(1)))
            #expect(a.rating == 5 && a.favorite && a.trashedAt != nil, "edits survive a later import")
            #expect(a.make == "Sony", "the later import's file metadata wins over the earlier import's")
            #expect(a.description == nil, "the later import read no description; no edit set one")
        }
        #expect(try cs[0].digest() == cs[1].digest())
    }
}

/// Remote apply defers asset changes and applies them sorted by id at the end of the call; these
/// check that one call over many batches leaves exactly what the author and a batch-at-a-time
/// replica show, with several changes to one asset inside one batch and across batches.
@Suite struct DeferredApplyTests {
    @Test func oneCallEqualsBatchAtATimeAndTheAuthor() throws {
        let cs = try library(2)
        let (a, b) = (cs[0], cs[1])
        var now = t0
        // Imports with edits to the same assets in the same batch: takenAt, archive, trash, purge.
        for round in 0..<4 {
            now += 1000
            var edits = [Edit]()
            for n in (round * 10)..<(round * 10 + 10) {
                edits.append(.importAsset(anImport(n)))
                if n % 3 == 0 { edits.append(.setField(assetID(n), .takenAt, .takenAt(TakenAt(localSeconds: 1_600_000_000 - Int64(n))))) }
                if n % 4 == 1 { edits.append(.setField(assetID(n), .archived, .bool(true))) }
                if n % 6 == 0 { edits.append(.addTag(assetID(n), "Trips")) }
                if n % 5 == 2 { edits.append(.trash(assetID(n))) }
                if n % 10 == 2 { edits.append(.purge(assetID(n))) }
            }
            try a.commit(edits, now: now)
        }
        // A second device re-imports some of the same photos under other names and edits them.
        try sync(a, b, now: now)
        now += 1000
        try b.commit((0..<12).filter { $0 != 2 }.map { .importAsset(anImport($0, name: "copy-\($0).jpg")) }
                     + [.restore(assetID(7)), .setFavorite(assetID(4), true), .removeTag(assetID(0), "Trips")], now: now)
        now += 1000
        try a.commit([.setField(assetID(3), .takenAt, .takenAt(TakenAt(localSeconds: 1_650_000_000))),
                      .trash(assetID(5)), .setArchived(assetID(5), false)], now: now)
        try sync(b, a, now: now)
        try sync(a, b, now: now)
        #expect(try a.digest() == b.digest())

        let batches = try a.batches(missingFrom: VersionVector())
        #expect(batches.count >= 8)
        let whole = try Catalog.join(path: nil, library: a.libraryID, identity: identity(70))
        let report = try whole.applyRemote(batches, now: now)
        #expect(report.rejected.isEmpty && report.pending == 0)
        let single = try Catalog.join(path: nil, library: a.libraryID, identity: identity(71))
        for batch in batches { try single.applyRemote([batch], now: now) }
        let reversed = try Catalog.join(path: nil, library: a.libraryID, identity: identity(72))
        try reversed.applyRemote(batches.reversed(), now: now)

        let digest = try a.digest()
        let page = try a.assets(AssetFilter(scope: .all, limit: 100)).map(\.id)
        #expect(page.count == 40 - 4)
        for replica in [whole, single, reversed] {
            #expect(try replica.digest() == digest)
            #expect(try replica.assets(AssetFilter(scope: .all, limit: 100)).map(\.id) == page)
            #expect(try replica.assets(AssetFilter(tag: "Trips", limit: 100)).map(\.id)
                    == a.assets(AssetFilter(tag: "Trips", limit: 100)).map(\.id))
        }
    }
}
