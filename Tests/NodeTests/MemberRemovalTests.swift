import Foundation
import Testing

/// `hearth member remove`: a lost laptop is refused by every member that has heard of it.
@Suite(.serialized)
struct MemberRemovalTests {
    @Test func aRemovedDeviceIsRefusedByEveryMemberThatHeardOfIt() throws {
        let a = try HearthBinary.temporary("rm-A"), b = try HearthBinary.temporary("rm-B"), c = try HearthBinary.temporary("rm-C")
        defer { [a, b, c].forEach { $0.cleanup() } }
        let photos = a.scratch.appendingPathComponent("photos")
        try a.ok(["make-samples", photos.path, "--count", "2", "--width", "320", "--height", "240"])
        try a.ok(["init", "--name", "A"])
        try a.ok(["import", photos.path])
        let (serveA, portA) = try BackgroundHearth.serve(a, label: "rm-serveA")
        defer { serveA.kill() }
        try b.ok(["join", try a.invite(port: portA), "--name", "laptop"])
        try c.ok(["join", try a.invite(port: portA), "--name", "nas"])
        let (serveC, portC) = try BackgroundHearth.serve(c, label: "rm-serveC")
        defer { serveC.kill() }
        try b.ok(["sync", "--peer", "127.0.0.1:\(portA)"]) // B hears of C
        try b.ok(["sync", "--peer", "127.0.0.1:\(portC)"]) // and B and C sync before the removal

        // Only an admin removes; the name `hearth peers` shows is enough.
        let notAdmin = try c.run(["member", "remove", "laptop"])
        #expect(notAdmin.status != 0)
        #expect(notAdmin.stderr.contains("admin"), "says why: \(notAdmin.stderr)")
        let r = try a.ok(["member", "remove", "laptop", "--json"])
        let removed = try #require(r.json?["removed"]?.stringValue)
        let peers = try a.ok(["peers", "--json"]).json?.arrayValue ?? []
        let row = peers.first { $0["deviceId"]?.stringValue == removed }
        #expect(row?["role"]?.stringValue == nil, "A no longer lists the laptop as a member: \(String(describing: row))")

        // A refuses it at once; C once it has heard of the removal.
        #expect(try b.run(["sync", "--peer", "127.0.0.1:\(portA)"]).status != 0, "A refuses the removed laptop")
        try c.ok(["sync", "--peer", "127.0.0.1:\(portA)"])
        #expect(try c.digest() == a.digest())
        let refused = try b.run(["sync", "--peer", "127.0.0.1:\(portC)"])
        #expect(refused.status != 0, "C refuses the removed laptop: \(refused.stdout)")
        // Nothing the laptop wrote after its removal reaches anyone.
        try b.ok(["favorite", try b.assetIDs()[0]])
        _ = try b.run(["sync", "--peer", "127.0.0.1:\(portA)"])
        #expect(try c.digest() == a.digest())
        #expect(try a.digest() != b.digest())
    }
}
