import Catalog
import HearthCrypto
import Testing
import Wire
@testable import SyncEngine

struct SyncSessionTests {
    let library = LibraryID(bytes: Array(0..<16))!

    @Test func twoPeersConvergeAndFetchWhatTheirPolicyWants() {
        let a = TestNode("A", seed: 1, library: library, policy: .everything)
        let b = TestNode("B", seed: 2, library: library, policy: .thumbnails)
        introduce([a, b])
        let fromA = (0..<3).map { a.importPhoto($0) }
        let fromB = (0..<2).map { b.importPhoto(100 + $0) }
        var link = Link(a, b)
        link.start()
        link.run()
        #expect(link.a.closed == nil && link.b.closed == nil)
        #expect(link.convergedA && link.convergedB)
        #expect(a.catalog.digest() == b.catalog.digest())
        // A keeps everything: B's originals, previews and thumbnails all arrived.
        for ids in fromB { for id in ids { #expect(a.chunks.chunks[id] != nil) } }
        // B keeps thumbnails only: A's thumbnails yes, originals and previews no.
        for ids in fromA {
            #expect(b.chunks.chunks[ids.last!] != nil)
            for id in ids.dropLast() { #expect(b.chunks.chunks[id] == nil) }
        }
        #expect(link.a.summary.changesSent == 3 && link.a.summary.changesReceived == 2)
        #expect(link.b.summary.chunksReceived == 3 && link.a.summary.chunksReceived == 8)
    }

    @Test func gossipThroughAMiddleNode() {
        let a = TestNode("A", seed: 1, library: library, policy: .everything)
        let b = TestNode("B", seed: 2, library: library, policy: .everything)
        let c = TestNode("C", seed: 3, library: library, policy: .everything)
        introduce([a, b, c])
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
                bc.take(bc.a.handle(.localChange, now: bc.now), fromA: true)
            }
            if bc.effectsA[before.1...].contains(where: { if case .catalogChanged = $0 { true } else { false } }) {
                ab.take(ab.b.handle(.localChange, now: ab.now), fromA: false)
            }
            if !moved { break }
            rounds += 1
        }
        #expect(a.catalog.digest() == b.catalog.digest() && b.catalog.digest() == c.catalog.digest())
        #expect(ab.a.isConverged && ab.b.isConverged && bc.a.isConverged && bc.b.isConverged)
        for id in photoA { #expect(c.chunks.chunks[id] != nil) }
        // C verified A's batch against A's key although it never talked to A.
        #expect(c.catalog.syncVersionVector()[Origin(device: a.identity.deviceID, epoch: 1)] == 1)
    }

    @Test func brokenTransferResumesWithoutResending() {
        let a = TestNode("A", seed: 1, library: library, policy: .everything)
        let b = TestNode("B", seed: 2, library: library, policy: .everything)
        introduce([a, b])
        let all = (0..<10).flatMap { a.importPhoto($0, originalChunks: 5) }
        var first = Link(a, b, chunkIDs: 8)
        first.start()
        while first.b.summary.chunksReceived < 30, first.step() {}
        let gotFirst = first.b.summary.chunksReceived
        #expect(gotFirst == 30)
        // The connection drops here; whatever was in flight is lost.
        var second = Link(a, b, chunkIDs: 8)
        second.start()
        second.run()
        #expect(second.convergedA && second.convergedB)
        #expect(second.a.summary.chunksSent == all.count - gotFirst)
        #expect(b.chunks.puts.values.allSatisfy { $0 == 1 })
        for id in all { #expect(b.chunks.chunks[id] != nil) }
    }

    @Test func creditsBoundBytesInFlight() {
        let a = TestNode("A", seed: 1, library: library, policy: .everything)
        let b = TestNode("B", seed: 2, library: library, policy: .everything)
        introduce([a, b])
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
        #expect(b.chunks.chunks.count == a.chunks.chunks.count)
    }

    @Test func largeChunkTravelsInPieces() {
        let a = TestNode("A", seed: 1, library: library, policy: .everything)
        let b = TestNode("B", seed: 2, library: library, policy: .everything)
        introduce([a, b])
        let ids = a.importPhoto(1, originalChunks: 1, chunkSize: 2_600_000)
        var link = Link(a, b, window: 2 * MessageLimits.maxMessageBytes)
        link.start()
        var pieces = 0
        while link.step() { pieces += link.toB.filter { if case .chunkData = $0 { true } else { false } }.count > 0 ? 1 : 0 }
        #expect(link.convergedA && link.convergedB)
        #expect(b.chunks.chunks[ids[0]] == a.chunks.chunks[ids[0]])
        #expect(link.a.summary.chunksSent == 3 && link.a.summary.chunkBytesSent == ids.reduce(0) { $0 + a.chunks.chunks[$1]!.count })
        #expect(pieces >= 9, "each 2.6 MB chunk went as three pieces")
    }

    @Test func pushAfterLocalCommit() {
        let a = TestNode("A", seed: 1, library: library, policy: .everything)
        let b = TestNode("B", seed: 2, library: library, policy: .previews)
        introduce([a, b])
        var link = Link(a, b)
        link.start()
        link.run()
        #expect(link.a.isConverged && link.b.isConverged)
        let ids = a.importPhoto(7)
        link.take(link.a.handle(.localChange, now: link.now), fromA: true)
        #expect(!link.a.isConverged)
        link.run()
        #expect(link.a.isConverged && link.b.isConverged)
        #expect(a.catalog.digest() == b.catalog.digest())
        #expect(b.chunks.chunks[ids[ids.count - 2]] != nil && b.chunks.chunks[ids[0]] == nil)
    }

    /// A sends a batch B must refuse; B closes with the reason and its catalog is unchanged.
    func rejects(_ bad: (TestNode, TestNode, TestNode) -> Void, expect code: SyncError.Code) {
        let a = TestNode("A", seed: 1, library: library, policy: .everything)
        let b = TestNode("B", seed: 2, library: library, policy: .everything)
        let x = TestNode("X", seed: 9, library: library, policy: .everything)
        introduce([a, b])
        bad(a, b, x)
        let before = b.catalog.digest()
        var link = Link(a, b)
        link.start()
        link.run()
        #expect(link.b.closed?.code == code)
        #expect(link.effectsB.messages.contains { if case .error = $0 { true } else { false } })
        #expect(b.catalog.digest() == before)
        // A hears why and closes too.
        while link.step() {}
        #expect(link.a.closed?.code == .closedByPeer)
    }

    @Test func badSignatureDisconnects() {
        rejects({ a, _, _ in
            let good = MemoryCatalog.sign(a.identity, library: library, origin: Origin(device: a.identity.deviceID, epoch: 1),
                                          seq: 1, objects: [])
            var sig = good.signature
            sig[0] ^= 1
            a.catalog.log[good.origin] = [SignedBatch(origin: good.origin, firstSeq: 1, lastSeq: 1, payload: good.payload, signature: sig)]
        }, expect: .badBatch)
    }

    @Test func nonMemberOriginDisconnects() {
        rejects({ a, _, x in
            a.catalog.add(x.identity, role: .member) // A wrongly trusts X; B does not know X
            x.catalog.add(x.identity, role: .member)
            let batch = x.catalog.commit(by: x.identity, objects: [])
            a.catalog.log[batch.origin] = [batch]
        }, expect: .badBatch)
    }

    @Test func partnerWriteDisconnects() {
        rejects({ a, b, x in
            b.catalog.add(x.identity, role: .partner)
            a.catalog.add(x.identity, role: .partner)
            x.catalog.add(x.identity, role: .partner)
            let batch = x.catalog.commit(by: x.identity, objects: [])
            a.catalog.log[batch.origin] = [batch]
        }, expect: .unauthorizedWrite)
    }

    @Test func replayedBatchesAreRejected() {
        let a = TestNode("A", seed: 1, library: library, policy: .everything)
        let b = TestNode("B", seed: 2, library: library, policy: .everything)
        introduce([a, b])
        a.importPhoto(1)
        var link = Link(a, b)
        link.start()
        var seen: [Message] = []
        while link.step() { seen += link.toB.filter { if case .batches = $0 { true } else { false } } }
        #expect(link.convergedB)
        let applies = b.catalog.applyCalls
        let replay = seen.first!
        let effects = link.b.handle(.message(replay), now: link.now)
        #expect(effects.closeError?.code == .unexpectedMessage)
        #expect(b.catalog.applyCalls == applies)
    }

    @Test func reorderedChunkDataIsRejected() {
        let a = TestNode("A", seed: 1, library: library, policy: .everything)
        let b = TestNode("B", seed: 2, library: library, policy: .everything)
        introduce([a, b])
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
        #expect(b.chunks.puts.isEmpty)
    }

    @Test func chunkWithWrongBytesIsRejected() {
        let a = TestNode("A", seed: 1, library: library, policy: .everything)
        let b = TestNode("B", seed: 2, library: library, policy: .everything)
        introduce([a, b])
        let ids = a.importPhoto(1)
        a.chunks.chunks[ids[0]] = [1, 2, 3] // bit rot on A
        var link = Link(a, b)
        link.start()
        link.run()
        #expect(link.b.closed?.code == .protocolViolation)
        #expect(b.chunks.chunks[ids[0]] == nil)
    }

    @Test func dataBeyondCreditIsRejected() {
        let a = TestNode("A", seed: 1, library: library, policy: .everything)
        let b = TestNode("B", seed: 2, library: library, policy: .everything)
        introduce([a, b])
        a.importPhoto(1, chunkSize: 4000)
        var link = Link(a, b, window: 4096)
        link.start()
        // A misbehaving peer ignores its credit: pretend A was granted far more.
        link.a.sendCredit = 1 << 20
        link.run()
        #expect(link.b.closed?.code == .creditExceeded)
    }

    @Test func silentPeerTimesOutAndPingsAreAnswered() {
        let a = TestNode("A", seed: 1, library: library, policy: .everything)
        let b = TestNode("B", seed: 2, library: library, policy: .everything)
        introduce([a, b])
        var s = a.session(peer: b)
        _ = s.handle(.start, now: 0)
        let ping = s.handle(.tick, now: 20_000).messages
        #expect(ping.contains { if case .ping(let p) = $0 { !p.reply } else { false } })
        let pong = s.handle(.message(.ping(Ping(nonce: 42, reply: false))), now: 21_000).messages
        #expect(pong.contains(.ping(Ping(nonce: 42, reply: true))))
        let closed = s.handle(.tick, now: 90_000)
        #expect(closed.closeError?.code == .timeout)
        #expect(s.handle(.tick, now: 91_000).isEmpty)
    }

    @Test func secondHelloAndUnknownOptionalMessages() {
        let a = TestNode("A", seed: 1, library: library, policy: .everything)
        let b = TestNode("B", seed: 2, library: library, policy: .everything)
        introduce([a, b])
        var s = a.session(peer: b)
        _ = s.handle(.start, now: 0)
        #expect(s.handle(.message(.unknownOptional(type: 0x90)), now: 1).closeError == nil)
        let hello = Hello(publicKey: b.identity.publicKey, library: library.bytes, epoch: 1, policy: .everything, software: "t")
        #expect(s.handle(.message(.hello(hello)), now: 2).closeError?.code == .unexpectedMessage)
    }
}
