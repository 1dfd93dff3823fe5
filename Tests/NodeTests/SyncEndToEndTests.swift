import Foundation
import Testing
import Node
#if canImport(Glibc)
import Glibc
import Presentation
#endif

/// Three `hearth` processes on 127.0.0.1 in temporary homes: pairing, gossip, convergence,
/// resumption after a kill, bad peers and refused tickets. Serialized: they share two cores.
@Suite(.serialized)
struct SyncEndToEndTests {
    /// A imports and serves; B joins and serves; C joins through B and only ever talks to B.
    /// Concurrent edits everywhere converge, and C's exports equal A's originals.
    @Test func threeNodesGossipAndConverge() throws {
        let a = try HearthBinary.temporary("A"), b = try HearthBinary.temporary("B"), c = try HearthBinary.temporary("C")
        defer { [a, b, c].forEach { $0.cleanup() } }
        let photos = a.scratch.appendingPathComponent("photos")
        try a.ok(["make-samples", photos.path, "--count", "6", "--width", "800", "--height", "600"])
        try a.ok(["init", "--name", "A"])
        try a.ok(["import", photos.path])
        let (serveA, portA) = try BackgroundHearth.serve(a, label: "serveA")
        defer { serveA.kill() }

        try b.ok(["join", try a.invite(port: portA, ["--role", "admin"]), "--name", "B"])
        try b.ok(["sync"])
        let (serveB, portB) = try BackgroundHearth.serve(b, label: "serveB")
        defer { serveB.kill() }
        try c.ok(["join", try b.invite(port: portB), "--name", "C"])
        #expect(try c.digest() == a.digest(), "C caught up through B alone")

        // Concurrent edits on all three (A and B edit beside their running daemons).
        let ids = try a.assetIDs()
        try #require(ids.count == 6)
        try a.ok(["favorite", ids[0]])
        try a.ok(["tag", "add", ids[1], "Places/Lisbon"])
        try b.ok(["describe", ids[0], "from B"])
        try b.ok(["album", "create", "Trip"])
        try b.ok(["album", "add", "Trip", ids[2]])
        try c.ok(["tag", "add", ids[0], "Family"])
        try c.ok(["album", "create", "C album"])
        try c.ok(["album", "add", "C album", ids[3], ids[4]])
        try c.ok(["favorite", ids[5]])

        // C syncs only with B; B's daemon relays to A within a second, and A's edits come back.
        let converged = try eventually(20) {
            try c.ok(["sync"])
            let d = try a.digest()
            return try d == b.digest() && d == c.digest()
        }
        let digests = [try a.digest(), try b.digest(), try c.digest()]
        #expect(converged, "A, B, C digests differ: \(digests)")
        let peersOfC = try c.ok(["peers", "--json"]).json?.arrayValue ?? []
        #expect(peersOfC.count == 3, "C lists A, B and itself as members")

        // Exports on C are byte-identical to A's originals.
        let out = c.scratch.appendingPathComponent("out")
        try c.ok(["export"] + ids + ["--to", out.path])
        for name in try FileManager.default.contentsOfDirectory(atPath: photos.path) {
            let original = try Data(contentsOf: photos.appendingPathComponent(name))
            let exported = try Data(contentsOf: out.appendingPathComponent(name))
            #expect(original == exported, "\(name) differs after two hops")
        }
        #expect(serveA.logText.contains("paired"), "A logged the pairing")
    }

    /// A `sync` killed with SIGKILL mid-transfer resumes: the next sync does not receive again
    /// what the killed one had stored.
    @Test func killedTransferResumesWithoutResending() throws {
        let a = try HearthBinary.temporary("A"), b = try HearthBinary.temporary("B")
        defer { [a, b].forEach { $0.cleanup() } }
        try a.ok(["init", "--name", "A"])
        let (serveA, portA) = try BackgroundHearth.serve(a, label: "serveA")
        defer { serveA.kill() }
        try b.ok(["join", try a.invite(port: portA), "--name", "B"])

        let photos = a.scratch.appendingPathComponent("photos")
        try a.ok(["make-samples", photos.path, "--count", "24", "--width", "3000", "--height", "2000"])
        try a.ok(["import", photos.path])
        let total = try FileManager.default.contentsOfDirectory(atPath: photos.path).reduce(0) {
            $0 + ((try? Data(contentsOf: photos.appendingPathComponent($1)).count) ?? 0)
        }

        let all = try a.storedBytes()
        let killed = try BackgroundHearth(b, ["sync"], label: "killed-sync")
        defer { killed.kill(SIGKILL) }
        // The receiver commits chunks in batches of up to 8 MiB: kill once more than one batch has
        // reached the packs, so that something durable was kept. (A transfer runs at hundreds of
        // MB/s here, so the trigger sits early: the poll may be tens of MB late.)
        let started = try eventually(60, interval: 0.01) { b.packBytes > 12 << 20 || !killed.process.isRunning }
        killed.kill(SIGKILL)
        #expect(started && killed.process.terminationReason == .uncaughtSignal, "the sync was killed mid-transfer")
        // What the killed sync stored durably (opening the store cuts any torn pack tail).
        let kept = try b.storedBytes()
        #expect(kept > 0 && kept < all, "part of the library arrived before the kill: \(kept) of \(all) bytes (originals \(total))")

        let r = try b.ok(["sync", "--json"])
        guard case .object(let f)? = r.json?.arrayValue?.first,
              let received = f.first(where: { $0.0 == "chunkBytesReceived" })?.1.intValue else {
            Issue.record("sync --json: \(r.stdout)")
            return
        }
        #expect(kept > 0 && received > 0, "both syncs moved chunks (\(kept) before the kill, \(received) after)")
        #expect(kept + Int(received) == all, "nothing was sent twice: \(kept) + \(received) bytes vs \(all) stored on A")
        #expect(try a.digest() == b.digest())
        try b.ok(["verify"])
    }

    /// Garbage, an oversized frame, a truncated handshake and a non-member are each disconnected
    /// with a logged reason; the server's catalog is unchanged and it still serves a good peer.
    /// Used and expired tickets are refused.
    @Test func badPeersAndBadTicketsAreRefused() throws {
        let a = try HearthBinary.temporary("A"), b = try HearthBinary.temporary("B")
        let stranger = try HearthBinary.temporary("S"), late = try HearthBinary.temporary("L")
        defer { [a, b, stranger, late].forEach { $0.cleanup() } }
        try a.ok(["init", "--name", "A"])
        let photos = a.scratch.appendingPathComponent("photos")
        try a.ok(["make-samples", photos.path, "--count", "2", "--width", "640", "--height", "480"])
        try a.ok(["import", photos.path])
        let (serveA, portA) = try BackgroundHearth.serve(a, label: "serveA")
        defer { serveA.kill() }
        // More addresses than a ticket holds is an error, not a ticket missing some of them.
        let nine = (1...9).flatMap { ["--address", "127.0.0.\($0):\(portA)"] }
        let tooMany = try a.run(["invite"] + nine)
        #expect(tooMany.status != 0 && tooMany.stderr.contains("at most 8 addresses"), "nine addresses: \(tooMany.stderr)")
        let ticket = try a.invite(port: portA)
        try b.ok(["join", ticket, "--name", "B"])
        let before = try a.digest()

        let member: [UInt8] = Array("HRTH".utf8) + [1, 0]
        #expect(RawPeer.sendAndAwaitClose(port: portA, Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8)), "garbage")
        #expect(RawPeer.sendAndAwaitClose(port: portA, member + [0xff, 0xff, 0xff, 0xf0, 1, 2, 3]), "oversized frame")
        #expect(RawPeer.sendAndAwaitClose(port: portA, member + [0, 0, 0, 32] + [UInt8](repeating: 7, count: 10), halfClose: true),
                "truncated handshake")
        try stranger.ok(["init", "--name", "S"])
        let s = try stranger.run(["sync", "--peer", "127.0.0.1:\(portA)"])
        #expect(s.status != 0, "a non-member's sync fails")

        let log = serveA.logText
        #expect(log.contains("not a Hearth connection"), "garbage logged: \(log)")
        #expect(log.contains("frameTooLarge") || log.contains("over"), "oversized frame logged")
        #expect(log.contains("truncated") || log.contains("ended"), "truncated handshake logged")
        #expect(log.contains("is not a member"), "non-member logged")

        #expect(try a.digest() == before, "bad peers changed nothing")
        try b.ok(["describe", try b.assetIDs()[0], "still served"])
        try b.ok(["sync"])
        #expect(try a.digest() == b.digest(), "the server still serves a good peer")

        let used = try late.run(["join", ticket, "--name", "L"])
        #expect(used.status != 0 && used.stderr.contains("already used"), "used ticket: \(used.stderr)")
        #expect(!FileManager.default.fileExists(atPath: late.home.appendingPathComponent("config.json").path),
                "a refused join leaves no half-made node")
        let short = try a.invite(port: portA, ["--expires", "1s"])
        // Wait for the ticket's own expiry time to pass (it is in the ticket), not a guessed delay.
        let expiresAt = try PairingTicket(parsing: short).expiresAt
        #expect(eventually(10, interval: 0.05) { HearthNode.wallClockMillis() > expiresAt }, "the clock passes the expiry")
        let expired = try late.run(["join", short, "--name", "L"])
        #expect(expired.status != 0 && expired.stderr.contains("expired"), "expired ticket: \(expired.stderr)")
    }
}
