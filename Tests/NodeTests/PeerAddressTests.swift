import Foundation
import Testing
#if canImport(Glibc)
import Glibc
import Presentation
#endif

/// Members learn each other's listen addresses (SPEC "Listening"): a device that joined by
/// ticket and later serves is only ever connected inbound on the inviter, yet the inviter can
/// then dial it. Serialized with the other end-to-end suites' habits: real processes, 2 cores.
@Suite(.serialized)
struct PeerAddressTests {
    /// The `addresses` that `peers --json` lists for `device`.
    static func addresses(of device: String, in node: HearthBinary) throws -> [String] {
        for row in try node.ok(["peers", "--json"]).json?.arrayValue ?? [] {
            guard case .object(let f) = row, f.first(where: { $0.0 == "deviceId" })?.1.stringValue == device else { continue }
            return f.first { $0.0 == "addresses" }?.1.arrayValue?.compactMap(\.stringValue) ?? []
        }
        return []
    }

    /// This node's own device id, from `peers --json`.
    static func selfID(_ node: HearthBinary) throws -> String {
        for row in try node.ok(["peers", "--json"]).json?.arrayValue ?? [] {
            guard case .object(let f) = row, f.first(where: { $0.0 == "self" })?.1.boolValue == true,
                  let id = f.first(where: { $0.0 == "deviceId" })?.1.stringValue else { continue }
            return id
        }
        throw TestFailure("\(node.home.path): peers --json lists no self row")
    }

    @Test func inviterDialsAJoinerThatOnlyEverConnectedInbound() throws {
        let a = try HearthBinary.temporary("A"), b = try HearthBinary.temporary("B")
        defer { [a, b].forEach { $0.cleanup() } }
        try a.ok(["init", "--name", "A"])
        let (serveA, portA) = try BackgroundHearth.serve(a, label: "serveA")
        defer { serveA.kill() }
        try b.ok(["join", try a.invite(port: portA), "--name", "B"])
        let deviceB = try Self.selfID(b)
        #expect(try Self.addresses(of: deviceB, in: a).isEmpty, "joining alone announces no address")

        // B serves: its daemon dials A and says where it listens.
        let (serveB, portB) = try BackgroundHearth.serve(b, label: "serveB", ["--announce", "photos.example.net:17480"])
        defer { serveB.kill() }
        let learned = try eventually(15) { try Self.addresses(of: deviceB, in: a).contains("127.0.0.1:\(portB)") }
        let known = try Self.addresses(of: deviceB, in: a)
        #expect(learned, "A learned B's address: \(known); A's log: \(serveA.logText)")
        #expect(known.contains("photos.example.net:17480"), "and the address B announced: \(known)")

        // With A's daemon stopped, an edit on A reaches B through a plain `sync`: A dials B itself.
        serveA.kill()
        try a.ok(["album", "create", "Made on A"])
        #expect(try a.digest() != b.digest())
        let r = try a.ok(["sync", "--json"])
        let rows = r.json?.arrayValue ?? []
        #expect(rows.count == 1, "one peer to sync with: \(r.stdout)")
        if case .object(let f)? = rows.first {
            #expect(f.first { $0.0 == "address" }?.1.stringValue == "127.0.0.1:\(portB)")
            #expect(f.first { $0.0 == "ok" }?.1.boolValue == true, "\(r.stdout)")
        }
        #expect(try a.digest() == b.digest(), "the edit made on A reached B")
    }
}
