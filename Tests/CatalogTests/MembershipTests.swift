import HearthCrypto
import Testing
@testable import Catalog

/// Causal authorization: the verdict on a batch depends on the batch and its membership context,
/// never on the order batches reach a node.
@Suite struct MembershipTests {
    /// Applies each list in its own call, in order; returns the codes of every rejection.
    func deliver(_ batches: [[SignedBatch]], to c: Catalog) throws -> [CatalogError.Code] {
        var codes: [CatalogError.Code] = []
        for list in batches { codes += try c.applyRemote(list, now: t0).rejected.map(\.reason.code) }
        return codes
    }

    func fresh(_ lib: LibraryID, _ n: Int) throws -> Catalog {
        try Catalog.join(path: nil, library: lib, identity: identity(70 + n))
    }

    /// The divergence this fixes: an admin removes B while B's batch is in flight. A replica that
    /// sees the removal first and one that sees the batch first must agree (both keep the batch).
    @Test func removalRacingAnInFlightBatchConverges() throws {
        let cs = try library(2)
        let (a, b) = (cs[0], cs[1])
        let base = try a.batches(missingFrom: VersionVector())
        let inFlight = try b.commit([.importAsset(anImport(3))], now: t0 + 1)
        let removal = try a.commit([.removeMember(b.device)], now: t0 + 2)
        let x = try fresh(a.libraryID, 1), y = try fresh(a.libraryID, 2)
        #expect(try deliver([base, [removal], [inFlight]], to: x).isEmpty)
        #expect(try deliver([base, [inFlight], [removal]], to: y).isEmpty)
        #expect(try a.applyRemote([inFlight], now: t0).rejected.isEmpty)
        for r in [a, x, y] {
            #expect(try r.asset(assetID(3)) != nil)
            #expect(try r.members().contains { $0.device == b.device } == false)
        }
        #expect(try x.digest() == y.digest() && y.digest() == a.digest())
    }

    /// Once B has applied its removal it cannot commit, and a batch it signs anyway is rejected on
    /// every replica in either order.
    @Test func batchWrittenAfterSeeingRemovalIsRejectedEverywhere() throws {
        let cs = try library(3)
        let (a, b, c) = (cs[0], cs[1], cs[2])
        let removal = try a.commit([.removeMember(b.device)], now: t0 + 1)
        try b.applyRemote([removal], now: t0)
        #expect(throws: CatalogError.self) { try b.commit([.importAsset(anImport(4))], now: t0 + 2) }
        let late = craft(a.libraryID, signer: identity(2), context: try membershipContext(b),
                         ops: [.importAsset(id: assetID(4), fileName: "late.jpg", original: objectRef("late"), fields: [])])
        let x = try fresh(a.libraryID, 3)
        let base = try a.batches(missingFrom: VersionVector()).filter { $0 != removal }
        // x gets the late batch before the removal it depends on: it waits, then is rejected.
        var r = try x.applyRemote(base + [late], now: t0)
        #expect(r.pending == 1 && r.rejected.isEmpty)
        r = try x.applyRemote([removal], now: t0)
        #expect(r.rejected.map(\.reason.code) == [.notMember] && r.pending == 0)
        #expect(try deliver([[removal], [late]], to: c) == [.notMember])
        #expect(try deliver([[late]], to: a) == [.notMember])
        for r in [a, c, x] { #expect(try r.asset(assetID(4)) == nil) }
        #expect(try a.digest() == c.digest() && c.digest() == x.digest())
    }

    /// Demotion to partner: a write made while still a member stands everywhere; after the
    /// demotion is known the device cannot write and a forged write is refused everywhere.
    @Test func demotionIsCausal() throws {
        let cs = try library(3)
        let (a, b, c) = (cs[0], cs[1], cs[2])
        let inFlight = try b.commit([.importAsset(anImport(5))], now: t0 + 1)
        let demote = try a.commit([.setRole(b.device, .partner)], now: t0 + 2)
        #expect(try deliver([[demote], [inFlight]], to: c).isEmpty)
        #expect(try deliver([[inFlight]], to: a).isEmpty)
        try b.applyRemote([demote], now: t0)
        #expect(throws: CatalogError.self) { try b.commit([.setRating(assetID(5), 2)], now: t0 + 3) }
        let forged = craft(a.libraryID, signer: identity(2), firstSeq: inFlight.lastSeq + 1,
                           context: try membershipContext(b), ops: [.setField(assetID(5), .rating, .int(2))])
        #expect(try deliver([[forged]], to: a) == [.notPermitted])
        #expect(try deliver([[forged]], to: c) == [.notPermitted])
        for r in cs {
            #expect(try r.asset(assetID(5))?.rating == 0)
            #expect(try r.members().first { $0.device == b.device }?.role == .partner)
        }
        #expect(try a.digest() == b.digest() && b.digest() == c.digest())
    }

    /// Admin A2 adds D while admin A1 concurrently removes A2: A2 was an admin in the context it
    /// wrote in, so D is a member everywhere and D's own writes are accepted everywhere.
    @Test func adminRemovedConcurrentlyWithItsMemberAdd() throws {
        let cs = try library(3, roles: [.admin, .member])
        let (a1, a2, m) = (cs[0], cs[1], cs[2])
        let d = identity(9)
        let add = try a2.commit([.addMember(publicKey: d.publicKey, name: "Dee", role: .member)], now: t0 + 1)
        let remove = try a1.commit([.removeMember(a2.device)], now: t0 + 2)
        let dc = try Catalog.join(path: nil, library: a1.libraryID, identity: d)
        try sync(a2, dc)
        let dWrite = try dc.commit([.importAsset(anImport(6))], now: t0 + 3)
        #expect(try deliver([[remove], [dWrite], [add]], to: m).isEmpty)
        #expect(try deliver([[dWrite, add]], to: a1).isEmpty)
        #expect(try deliver([[remove, dWrite]], to: a2).isEmpty)
        for r in [a1, a2, m] {
            #expect(try r.members().contains { $0.device == d.deviceID })
            #expect(try r.members().contains { $0.device == a2.device } == false)
            #expect(try r.asset(assetID(6)) != nil)
        }
        #expect(try a1.digest() == a2.digest() && a2.digest() == m.digest())
        // A2 now knows it is out: it can no longer change members.
        #expect(throws: CatalogError.self) { try a2.commit([.removeMember(d.deviceID)], now: t0 + 4) }
    }

    /// A batch whose context names membership changes the node lacks waits in the pending pool
    /// (even though its origin has no gap) and applies as soon as they arrive.
    @Test func batchWaitsForItsMembershipContext() throws {
        let cs = try library(2)
        let (a, b) = (cs[0], cs[1])
        let x = try fresh(a.libraryID, 4)
        try sync(a, x)
        try sync(b, x)
        let add = try a.commit([.addMember(publicKey: identity(9).publicKey, name: "Dee", role: .member)], now: t0 + 1)
        try sync(a, b)
        let write = try b.commit([.importAsset(anImport(7))], now: t0 + 2)
        var r = try x.applyRemote([write], now: t0)
        #expect(r.pending == 1 && r.applied == 0 && r.rejected.isEmpty)
        #expect(try x.asset(assetID(7)) == nil)
        r = try x.applyRemote([add], now: t0)
        #expect(r.applied == 2 && r.pending == 0 && r.rejected.isEmpty)
        #expect(try x.digest() == b.digest())
    }

    /// A context that claims the author's own later changes can never be satisfied: refused, not parked.
    @Test func contextBeyondOwnSequenceIsRejected() throws {
        let cs = try library(2)
        let a = cs[0]
        let me = Origin(device: identity(2).deviceID, epoch: 1)
        let ctx = (try membershipContext(a) + [(origin: me, seq: 5)]).sorted { $0.origin < $1.origin }
        let bad = craft(a.libraryID, signer: identity(2), context: ctx,
                        ops: [.importAsset(id: assetID(8), fileName: "x.jpg", original: objectRef("x"), fields: [])])
        let r = try a.applyRemote([bad], now: t0)
        #expect(r.rejected.map(\.reason.code) == [.badPayload] && r.pending == 0)
    }

    /// Random edits and random membership changes (adds, removals, demotions, promotions, also of the
    /// writing replicas themselves) on 3 replicas with random partial delivery: no honest batch is ever
    /// rejected, nothing is left pending, and all replicas and a fresh joiner end with one digest.
    @Test(arguments: 1...8 as ClosedRange<UInt64>)
    func randomMembershipChangesConverge(seed: UInt64) throws {
        var rng = SeededRNG(seed: seed)
        let cs = try library(3, roles: [.admin, .member])
        var pool = [SignedBatch]()
        for c in cs { pool += try c.batches(missingFrom: VersionVector()) }
        var now = t0
        var membershipCommits = 0
        for _ in 0..<20 {
            for c in cs where Bool.random(using: &rng) {
                now += Int64.random(in: 0...2000, using: &rng)
                for e in try randomEdits(c, &rng, now: now) {
                    if let b = try? c.commit([e], now: now) { pool.append(b) }
                }
            }
            // A device that is an admin in its own view changes members: adds, removes, demotes or
            // promotes a device, possibly another writing replica or another admin.
            let admins = try cs.filter { c in try c.members().contains { $0.device == c.device && $0.role == .admin } }
            if let c = admins.randomElement(using: &rng), Int.random(in: 0..<3, using: &rng) > 0 {
                let target = identity(Int.random(in: 2...6, using: &rng))
                let role = Role.allCases.randomElement(using: &rng)!
                let edit: Edit
                switch Int.random(in: 0..<3, using: &rng) {
                case 0: edit = .addMember(publicKey: target.publicKey, name: "T", role: role)
                case 1: edit = .removeMember(target.deviceID)
                default: edit = .setRole(target.deviceID, role)
                }
                if let b = try? c.commit([edit], now: now) {
                    pool.append(b)
                    membershipCommits += 1
                }
            }
            for c in cs {
                var some = pool.filter { _ in Int.random(in: 0..<3, using: &rng) == 0 }
                some += some.prefix(2)
                some.shuffle(using: &rng)
                let r = try c.applyRemote(some, now: now)
                #expect(r.rejected.isEmpty, "seed \(seed): \(r.rejected.map(\.reason))")
            }
        }
        for c in cs {
            var all = pool
            all.shuffle(using: &rng)
            let cut = Int.random(in: 0...all.count, using: &rng)
            try c.applyRemote(Array(all[..<cut]), now: now)
            let r = try c.applyRemote(Array(all[cut...]), now: now)
            #expect(r.rejected.isEmpty && r.pending == 0, "seed \(seed)")
        }
        #expect(membershipCommits >= 2, "the run changed members")
        let digests = try cs.map { try $0.digest() }
        #expect(Set(digests).count == 1, "reproduce: randomMembershipChangesConverge seed \(seed)")
        let j = try Catalog.join(path: nil, library: cs[0].libraryID, identity: identity(50))
        var shuffled = try cs[2].batches(missingFrom: VersionVector())
        shuffled.shuffle(using: &rng)
        let r = try j.applyRemote(shuffled, now: now)
        #expect(r.pending == 0 && r.rejected.isEmpty)
        #expect(try j.digest() == digests[0])
    }
}
