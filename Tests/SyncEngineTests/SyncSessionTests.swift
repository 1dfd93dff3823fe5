import Catalog
import HearthCrypto
import Testing
import Wire
@testable import SyncEngine

/// The session over the real Catalog and ChunkStore; faults the real stores cannot produce
/// (forged batches, bit rot reaching the wire) come from the wrappers in `FaultInjection.swift`.
struct SyncSessionTests {

    @Test func twoPeersConvergeAndFetchWhatTheirPolicyWants() throws {
        let n = family([("A", .everything), ("B", .thumbnails)])
        let (a, b) = (n[0], n[1])
        let fromA = (0..<3).map { a.importPhoto($0) }
        let fromB = (0..<2).map { b.importPhoto(100 + $0) }
        var link = Link(a, b)
        link.start()
        link.run()
        #expect(link.a.closed == nil && link.b.closed == nil)
        #expect(link.convergedA && link.convergedB)
        #expect(a.digest() == b.digest())
        // A keeps everything: B's originals, previews and thumbnails all arrived.
        for ids in fromB { for id in ids { #expect(a.has(id)) } }
        // B keeps thumbnails only: A's thumbnails yes, originals and previews no.
        for ids in fromA {
            #expect(b.has(ids.last!))
            for id in ids.dropLast() { #expect(!b.has(id)) }
        }
        #expect(link.a.summary.changesSent == 3 && link.a.summary.changesReceived == 2)
        #expect(link.b.summary.chunksReceived == 3 && link.a.summary.chunksReceived == 8)
    }

    @Test func gossipThroughAMiddleNode() throws {
        let n = family([("A", .everything), ("B", .everything), ("C", .everything)])
        let (a, b, c) = (n[0], n[1], n[2])
        let photoA = a.importPhoto(1)
        c.importPhoto(2)
        // Two live sessions, A–B and B–C; B's catalogChanged in one becomes localChange in the other.
        var ab = Link(a, b), bc = Link(b, c)
        ab.start()
        bc.start()
        var rounds = 0
        while rounds < 10_000 {
            let before = (ab.effectsB.count, bc.effectsA.count)
            let moved = ab.step() || bc.step()
            if ab.effectsB[before.0...].contains(where: { if case .catalogChanged = $0 { true } else { false } }) {
                bc.take(bc.a.handle(.localChange, now: bc.now, wallMillis: bc.now), fromA: true)
            }
            if bc.effectsA[before.1...].contains(where: { if case .catalogChanged = $0 { true } else { false } }) {
                ab.take(ab.b.handle(.localChange, now: ab.now, wallMillis: ab.now), fromA: false)
            }
            if !moved { break }
            rounds += 1
        }
        #expect(a.digest() == b.digest() && b.digest() == c.digest())
        #expect(ab.a.isConverged && ab.b.isConverged && bc.a.isConverged && bc.b.isConverged)
        for id in photoA { #expect(c.has(id)) }
        // C verified A's batches against A's key although it never talked to A.
        #expect(try c.catalog.versionVector()[a.origin] == a.catalog.versionVector()[a.origin])
    }

    /// B holds A's last two batches in its pending pool (waiting for the one before); A is then
    /// restored from a backup taken before them and loses them. Syncing gives B the missing
    /// batch, which releases the two: B's vector grew past anything A announced, so B must say
    /// so in this same session or A never asks for them back (found by the simulator, seed 117).
    @Test func batchesReleasedFromPendingAreAnnouncedToThePeerThatSentTheGap() throws {
        let n = family([("A", .everything), ("B", .thumbnails)])
        let (a, b) = (n[0], n[1])
        a.importPhoto(0)
        let backup = try a.catalog.batches(missingFrom: VersionVector())
        let atBackup = try a.catalog.versionVector()
        a.importPhoto(1)
        a.importPhoto(2)
        let afterBackup = try a.catalog.batches(missingFrom: atBackup)
        let bHeld = try b.catalog.versionVector()
        #expect(afterBackup.count == 2 && bHeld[a.origin] < atBackup[a.origin])
        let report = try b.catalog.applyRemote(afterBackup, now: testNow)
        #expect(report.pending == 2 && report.applied == 0)
        let lost = try a.catalog.versionVector()

        // A's database is restored from the backup (its chunk store survived) and starts a new epoch.
        let restored = TestNode("A", seed: 1, joining: a, policy: .everything)
        restored.syncChunks = a.chunks
        #expect(try restored.catalog.applyRemote(backup, now: testNow).rejected.isEmpty)
        _ = try restored.catalog.startNewEpoch(atLeast: 2)
        let restoredVV = try restored.catalog.versionVector()
        #expect(restoredVV[a.origin] < lost[a.origin])

        var link = Link(restored, b)
        link.start()
        link.run()
        #expect(link.a.closed == nil && link.b.closed == nil)
        #expect(link.convergedA && link.convergedB)
        let finalVV = try restored.catalog.versionVector()
        #expect(finalVV[a.origin] == lost[a.origin])
        #expect(restored.digest() == b.digest())
    }

    @Test func brokenTransferResumesWithoutResending() throws {
        let n = family([("A", .everything), ("B", .everything)])
        let (a, b) = (n[0], n[1])
        let all = (0..<10).flatMap { a.importPhoto($0, originalChunks: 5) }
        var first = Link(a, b, chunkIDs: 8)
        first.start()
        while first.b.summary.chunksReceived < 30, first.step() {}
        // Stored in batches of one ChunkRequest (8 ids); chunks received but not yet stored are lost.
        let gotFirst = first.b.summary.chunksReceived
        #expect(gotFirst == 32 && b.chunkCount == 32)
        // The connection drops here; whatever was in flight is lost.
        var second = Link(a, b, chunkIDs: 8)
        second.start()
        second.run()
        #expect(second.convergedA && second.convergedB)
        #expect(second.a.summary.chunksSent == all.count - gotFirst)
        for id in all { #expect(b.has(id)) }
    }

    @Test func creditsBoundBytesInFlight() throws {
        let n = family([("A", .everything), ("B", .everything)])
        let (a, b) = (n[0], n[1])
        for i in 0..<20 { a.importPhoto(i, originalChunks: 4, chunkSize: 8_000) }
        let window = 32 * 1024
        var link = Link(a, b, window: window, chunkIDs: 64)
        link.start()
        var peak = 0
        while link.step() {
            let inFlight = link.toB.filter {
                if case .chunkData = $0 { true } else if case .batches = $0 { true } else { false }
            }.reduce(0) { $0 + $1.encodedCount }
            peak = max(peak, inFlight)
            #expect(inFlight <= window)
        }
        #expect(link.convergedA && link.convergedB)
        #expect(peak > window / 2, "the window was actually used")
        #expect(b.chunkCount == a.chunkCount)
    }

    @Test func largeChunkTravelsInPieces() throws {
        let n = family([("A", .everything), ("B", .everything)])
        let (a, b) = (n[0], n[1])
        let ids = a.importPhoto(1, originalChunks: 1, chunkSize: 2_600_000)
        var link = Link(a, b, window: 2 * MessageLimits.maxMessageBytes)
        link.start()
        var pieces = 0
        while link.step() { pieces += link.toB.filter { if case .chunkData = $0 { true } else { false } }.count > 0 ? 1 : 0 }
        #expect(link.convergedA && link.convergedB)
        #expect(try b.chunks.readChunk(ids[0]) == a.chunks.readChunk(ids[0]))
        #expect(try link.a.summary.chunksSent == 3 && link.a.summary.chunkBytesSent == ids.reduce(0) { try $0 + a.chunks.readChunk($1).count })
        #expect(pieces >= 9, "each 2.6 MB chunk went as three pieces")
    }

    @Test func pushAfterLocalCommit() throws {
        let n = family([("A", .everything), ("B", .previews)])
        let (a, b) = (n[0], n[1])
        var link = Link(a, b)
        link.start()
        link.run()
        #expect(link.a.isConverged && link.b.isConverged)
        let ids = a.importPhoto(7)
        link.take(link.a.handle(.localChange, now: link.now, wallMillis: link.now), fromA: true)
        #expect(!link.a.isConverged)
        link.run()
        #expect(link.a.isConverged && link.b.isConverged)
        #expect(a.digest() == b.digest())
        #expect(b.has(ids[ids.count - 2]) && !b.has(ids[0]))
    }

    /// A commit that lands on B while B's pull from A is being answered (another session, or
    /// another process, wrote it) is still announced to A: B's vector after the pull already
    /// holds it, so comparing against that vector alone would never tell A.
    @Test func commitDuringAPullIsStillAnnounced() throws {
        let n = family([("A", .everything), ("B", .everything)])
        let (a, b) = (n[0], n[1])
        var link = Link(a, b)
        link.start()
        link.run()
        #expect(link.a.isConverged && link.b.isConverged)
        _ = a.importPhoto(1)
        link.take(link.a.handle(.localChange, now: link.now, wallMillis: link.now), fromA: true)
        // Deliver until A's Batches answer is on its way to B, then commit on B before B reads it.
        var guardSteps = 0
        while !link.toB.contains(where: { if case .batches(let x) = $0 { x.complete } else { false } }), link.step() {
            guardSteps += 1
            try #require(guardSteps < 1_000)
        }
        let onB = b.importPhoto(2)
        link.run()
        link.take(link.b.handle(.localChange, now: link.now, wallMillis: link.now), fromA: false)
        link.run()
        #expect(a.digest() == b.digest(), "B's commit reached A")
        #expect(a.has(onB[onB.count - 1]))
    }

    /// Progress counts chunks still to come while a transfer runs, and ends at the summary's totals.
    @Test func progressTracksTheTransfer() throws {
        let n = family([("A", .everything), ("B", .everything)])
        let (a, b) = (n[0], n[1])
        _ = a.importPhoto(1, originalChunks: 6, chunkSize: 50_000)
        var link = Link(a, b)
        link.start()
        var seenToCome = 0
        while link.step() { seenToCome = max(seenToCome, link.b.progress.chunksToCome) }
        #expect(link.convergedB)
        let p = link.b.progress
        #expect(seenToCome > 0, "B knew chunks were still to come during the transfer")
        #expect(p.chunksToCome == 0 && p.chunksReceived == link.b.summary.chunksReceived && p.chunksReceived >= 6)
        #expect(p.chunkBytesReceived == link.b.summary.chunkBytesReceived && p.changesReceived == link.b.summary.changesReceived)
    }

    /// Two admins who each wrote membership changes after seeing the other's: a node catching up
    /// from one of them gets the batches in an order where each comes after the membership
    /// changes its author had seen, even when the answer is split into one batch per message.
    @Test func twoAdminsHistoryArrivesInCausalOrder() throws {
        let n = family([("A", .everything), ("X", .everything), ("B", .everything)], roles: ["X": .admin])
        let (a, x, b) = (n[0], n[1], n[2])
        func pull(_ to: TestNode, from: TestNode) {
            _ = try! to.catalog.applyRemote(from.catalog.batches(missingFrom: to.catalog.versionVector()), now: testNow)
        }
        let m1 = Identity.fromSeed([UInt8](repeating: 21, count: 32)), m2 = Identity.fromSeed([UInt8](repeating: 22, count: 32))
        let m3 = Identity.fromSeed([UInt8](repeating: 23, count: 32))
        _ = try x.catalog.commit([.addMember(publicKey: m1.publicKey, name: "m1", role: .member)], now: testNow)
        pull(a, from: x)
        _ = try a.catalog.commit([.addMember(publicKey: m2.publicKey, name: "m2", role: .member)], now: testNow)
        pull(x, from: a)
        _ = try x.catalog.commit([.addMember(publicKey: m3.publicKey, name: "m3", role: .member)], now: testNow)
        pull(a, from: x)
        #expect(a.digest() == x.digest())

        var link = Link(a, b)
        link.a = SyncSession(catalog: a.syncCatalog, chunks: a.syncChunks,
                             config: SyncConfig(policy: a.policy, creditWindow: 1 << 20, batchBytesPerMessage: 1),
                             peerName: "B")
        link.start()
        link.run()
        #expect(link.a.closed == nil && link.b.closed == nil, "\(String(describing: link.b.closed ?? link.a.closed))")
        #expect(a.digest() == b.digest())
    }

    /// A serves a forged batch B must refuse (and nothing else B lacks); B closes with the
    /// reason and its catalog is unchanged.
    func rejects(roles: [String: Role] = [:], _ forge: (TestNode, TestNode, TestNode) -> [SignedBatch],
                 expect code: SyncError.Code) {
        let n = family([("A", .everything), ("B", .everything), ("X", .everything)], roles: roles)
        let (a, b, x) = (n[0], n[1], n[2])
        a.syncCatalog = ForgingCatalog(a.catalog, serving: forge(a, b, x))
        let before = b.digest()
        var link = Link(a, b)
        link.start()
        link.run()
        #expect(link.b.closed?.code == code)
        #expect(link.effectsB.messages.contains { if case .error = $0 { true } else { false } })
        #expect(b.digest() == before)
        // A hears why and closes too.
        for _ in 0..<100_000 where !link.step() { break }
        #expect(link.a.closed?.code == .closedByPeer)
    }

    /// SPEC 7.2: Error `shutting-down` is the peer ending the session early, like a close: the
    /// session ends as `connectionLost` (no failure of its own) and sends no Error back. Any
    /// other Error is the peer's refusal (`closedByPeer`).
    @Test func aPeersShuttingDownIsAnOrderlyEnd() {
        let n = family([("A", .everything), ("B", .everything)])
        var link = Link(n[0], n[1])
        link.start()
        let out = link.b.handle(.message(.error(ErrorMessage(code: .shuttingDown, text: "have what I wanted"))),
                                now: testNow, wallMillis: testNow)
        #expect(link.b.closed?.code == .connectionLost, "\(String(describing: link.b.closed))")
        #expect(link.b.closed?.message.contains("ended the session (shutting-down: have what I wanted)") == true)
        #expect(!out.messages.contains { if case .error = $0 { true } else { false } }, "no Error back: \(out)")
        var other = Link(n[0], n[1])
        other.start()
        _ = other.b.handle(.message(.error(ErrorMessage(code: .badBatch, text: "x"))), now: testNow, wallMillis: testNow)
        #expect(other.b.closed?.code == .closedByPeer)
    }

    /// A real photo-import batch from an unrelated library: a payload to re-sign.
    func realImportBatch() -> SignedBatch {
        let z = TestNode("Z", seed: 50, policy: .everything)
        z.importPhoto(1)
        return try! z.catalog.batches(missingFrom: VersionVector()).last!
    }

    @Test func badSignatureDisconnects() throws {
        rejects({ a, _, _ in
            a.importPhoto(1)
            let good = try! a.catalog.batches(missingFrom: VersionVector()).last { $0.origin == a.origin }!
            var sig = good.signature
            sig[0] ^= 1
            return [SignedBatch(origin: good.origin, firstSeq: good.firstSeq, lastSeq: good.lastSeq, payload: good.payload, signature: sig)]
        }, expect: .badBatch)
    }

    @Test func nonMemberOriginDisconnects() throws {
        // Y holds a real key and signs a real payload, but no admin ever added Y.
        rejects({ a, _, _ in
            [ForgingCatalog.resign(realImportBatch(), by: Identity.fromSeed([UInt8](repeating: 77, count: 32)), library: a.library)]
        }, expect: .badBatch)
    }

    @Test func partnerWriteDisconnects() throws {
        rejects(roles: ["X": .partner], { a, _, x in [ForgingCatalog.resign(realImportBatch(), by: x.identity, library: a.library)] },
                expect: .unauthorizedWrite)
    }

    @Test func replayedBatchesAreRejected() throws {
        let n = family([("A", .everything), ("B", .everything)])
        let (a, b) = (n[0], n[1])
        a.importPhoto(1)
        var link = Link(a, b)
        link.start()
        var seen: [Message] = []
        while link.step() { seen += link.toB.filter { if case .batches = $0 { true } else { false } } }
        #expect(link.convergedB)
        let before = (b.digest(), try b.catalog.versionVector())
        let replay = seen.first!
        let effects = link.b.handle(.message(replay), now: link.now, wallMillis: link.now)
        #expect(effects.closeError?.code == .unexpectedMessage)
        #expect(try (b.digest(), b.catalog.versionVector()) == before)
    }

    @Test func reorderedChunkDataIsRejected() throws {
        let n = family([("A", .everything), ("B", .everything)])
        let (a, b) = (n[0], n[1])
        a.importPhoto(1, originalChunks: 3)
        var link = Link(a, b)
        link.start()
        while link.step() {
            let data = link.toB.indices.filter { if case .chunkData = link.toB[$0] { true } else { false } }
            if data.count >= 2 {
                link.toB.swapAt(data[0], data[1])
                break
            }
        }
        link.run()
        #expect(link.b.closed?.code == .unexpectedMessage)
        #expect(b.chunkCount == 0)
    }

    @Test(arguments: [true, false]) func chunkWithWrongBytesIsRejected(storeChecks: Bool) throws {
        let n = family([("A", .everything), ("B", .everything)])
        let (a, b) = (n[0], n[1])
        let ids = a.importPhoto(1)
        a.syncChunks = CorruptingChunks(a.chunks, corrupt: [ids[0]: [1, 2, 3]]) // bit rot on A reaches the wire
        if !storeChecks { b.syncChunks = TrustingChunks(b.chunks) }
        var link = Link(a, b)
        link.start()
        link.run()
        #expect(link.b.closed?.code == .protocolViolation)
        #expect(!b.has(ids[0]))
    }

    @Test func dataBeyondCreditIsRejected() throws {
        let n = family([("A", .everything), ("B", .everything)])
        let (a, b) = (n[0], n[1])
        a.importPhoto(1, chunkSize: 4000)
        var link = Link(a, b, window: 4096)
        link.start()
        // A misbehaving peer ignores its credit: pretend A was granted far more.
        link.a.sendCredit = 1 << 20
        link.run()
        #expect(link.b.closed?.code == .creditExceeded)
    }

    @Test func silentPeerTimesOutAndPingsAreAnswered() throws {
        let n = family([("A", .everything), ("B", .everything)])
        let (a, b) = (n[0], n[1])
        var s = a.session(peer: b)
        _ = s.handle(.start, now: 0, wallMillis: testNow)
        let ping = s.handle(.tick, now: 20_000, wallMillis: testNow).messages
        #expect(ping.contains { if case .ping(let p) = $0 { !p.reply } else { false } })
        let pong = s.handle(.message(.ping(Ping(nonce: 42, reply: false))), now: 21_000, wallMillis: testNow).messages
        #expect(pong.contains(.ping(Ping(nonce: 42, reply: true))))
        let closed = s.handle(.tick, now: 90_000, wallMillis: testNow)
        #expect(closed.closeError?.code == .timeout)
        #expect(s.handle(.tick, now: 91_000, wallMillis: testNow).isEmpty)
    }

    @Test func secondHelloAndUnknownOptionalMessages() throws {
        let n = family([("A", .everything), ("B", .everything)])
        let (a, b) = (n[0], n[1])
        var s = a.session(peer: b)
        _ = s.handle(.start, now: 0, wallMillis: testNow)
        #expect(s.handle(.message(.unknownOptional(type: 0x90)), now: 1, wallMillis: testNow).closeError == nil)
        let hello = Hello(publicKey: b.identity.publicKey, library: a.library.bytes, epoch: 1, policy: .everything, software: "t")
        #expect(s.handle(.message(.hello(hello)), now: 2, wallMillis: testNow).closeError?.code == .unexpectedMessage)
    }
}
