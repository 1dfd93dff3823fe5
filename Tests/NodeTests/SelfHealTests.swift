import Foundation
import GRDB
import Testing
import Node
#if canImport(Glibc)
import Glibc
#endif

/// Damage on disk, found and healed through the `hearth` binary: a corrupt chunk never reaches
/// the wire nor blocks replication, `hearth repair` fetches good copies, and `verify` sees damage
/// SQLite finds in a catalog that every query still reads.
@Suite(.serialized)
struct SelfHealTests {
    /// Flips one byte in the middle of the largest pack and returns the chunk `verify` names.
    static func damageOneChunk(_ node: HearthBinary) throws -> String {
        let chunks = try node.chunksDir()
        let packs = FileManager.default.enumerator(atPath: chunks.path)!
            .compactMap { $0 as? String }.filter { $0.hasSuffix(".pack") }
            .map { chunks.appendingPathComponent($0) }
        let pack = try #require(packs.max { HearthBinary.bytes(under: $0) < HearthBinary.bytes(under: $1) })
        var bytes = [UInt8](try Data(contentsOf: pack))
        bytes[bytes.count / 2] ^= 0xFF
        try Data(bytes).write(to: pack)
        let r = try node.run(["verify", "--json"])
        #expect(r.status == 3, "verify finds the flipped byte")
        let problem = try #require(r.json?["problems"]?.arrayValue?.first?.stringValue)
        return problem
    }

    /// A (damaged), B (healthy), C (fresh): C joins through A and ends with every chunk, A's damaged
    /// chunk is never sent, and `hearth repair` heals A from B and B from A.
    @Test func corruptChunkDoesNotBlockReplicationAndRepairHeals() throws {
        let a = try HearthBinary.temporary("heal-A"), b = try HearthBinary.temporary("heal-B"), c = try HearthBinary.temporary("heal-C")
        defer { [a, b, c].forEach { $0.cleanup() } }
        let photos = a.scratch.appendingPathComponent("photos")
        try a.ok(["make-samples", photos.path, "--count", "8", "--width", "1600", "--height", "1200"])
        try a.ok(["init", "--name", "A"])
        try a.ok(["import", photos.path])
        let (serveA, portA) = try BackgroundHearth.serve(a, label: "heal-serveA")
        defer { serveA.kill() }
        try b.ok(["join", try a.invite(port: portA), "--name", "B"])
        try b.ok(["verify"])
        let (serveB, portB) = try BackgroundHearth.serve(b, label: "heal-serveB")
        defer { serveB.kill() }

        let problem = try Self.damageOneChunk(a)
        #expect(problem.contains("chunk"), "verify names the chunk: \(problem)")

        // C joins through A: everything but the damaged chunk arrives, and the join succeeds.
        try c.ok(["join", try a.invite(port: portA), "--name", "C"])
        let before = try c.run(["verify", "--json"])
        #expect(before.status == 3, "C lacks exactly the chunk A could not send")
        let missing = before.json?["problems"]?.arrayValue?.compactMap(\.stringValue) ?? []
        #expect(missing.count == 1 && missing[0].contains("1 of"), "one object misses one chunk: \(missing)")
        #expect(serveA.logText.contains("failed their hash here"), "A's daemon reports what it did not send: \(serveA.logText)")

        // C fetches the rest from B, and then holds A's originals byte for byte.
        try c.ok(["sync", "--peer", "127.0.0.1:\(portB)"])
        try c.ok(["verify"])
        let out = c.scratch.appendingPathComponent("out")
        try c.ok(["export"] + (try a.assetIDs()) + ["--to", out.path])
        for name in try FileManager.default.contentsOfDirectory(atPath: photos.path) {
            #expect(try Data(contentsOf: out.appendingPathComponent(name)) == Data(contentsOf: photos.appendingPathComponent(name)))
        }

        // A set the chunk aside when C asked for it; A's daemon, connected to B, fetches a good copy.
        let healed = try eventually(20) { try a.run(["verify"]).status == 0 }
        #expect(healed, "A's daemon healed the chunk it set aside")

        // B damaged while nobody has read the chunk yet: repair finds it, sets it aside, heals.
        _ = try Self.damageOneChunk(b)
        let repairB = try b.run(["repair", "--json"])
        #expect(repairB.status == 0, "repair heals B: \(repairB.stdout) \(repairB.stderr)")
        #expect(repairB.json?["setAside"]?.arrayValue?.count == 1)
        try b.ok(["verify"])
        #expect(try a.digest() == b.digest() && b.digest() == c.digest())
    }

    /// 4 KiB of random bytes over a page of a catalog table: queries still answer, `verify` must not.
    @Test(arguments: ["field_reg", "asset_tag_tag"])
    func verifyReportsADamagedCatalog(table: String) throws {
        let h = try HearthBinary.temporary("damaged-catalog")
        defer { h.cleanup() }
        let photos = h.scratch.appendingPathComponent("photos")
        try h.ok(["make-samples", photos.path, "--count", "40", "--width", "160", "--height", "120"])
        try h.ok(["init"])
        try h.ok(["import", photos.path])
        for id in try h.assetIDs() { try h.ok(["tag", "add", id, "Family/Trip \(id.prefix(6))"]) }
        try h.ok(["verify"])

        let libraries = h.home.appendingPathComponent("libraries")
        let dir = try #require(try FileManager.default.contentsOfDirectory(atPath: libraries.path).first)
        let path = libraries.appendingPathComponent(dir).appendingPathComponent("catalog.sqlite").path
        let (page, pageSize) = try DatabaseQueue(path: path).read { db in
            (try Int.fetchOne(db, sql: "SELECT rootpage FROM sqlite_master WHERE name = ?", arguments: [table])!,
             try Int.fetchOne(db, sql: "PRAGMA page_size")!)
        }
        let f = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try f.seek(toOffset: UInt64((page - 1) * pageSize))
        f.write(Data((0..<pageSize).map { _ in UInt8.random(in: 0...255) }))
        try f.close()

        let r = try h.run(["verify", "--json"])
        #expect(r.status == 3, "a damaged catalog is not intact: \(r.stdout)")
        #expect(r.json?["catalogDamaged"]?.boolValue == true)
        let text = try h.run(["verify"])
        #expect(text.stdout.contains("catalog of library") && text.stdout.contains("hearth repair"),
                "says which library and what to do: \(text.stdout)")
        #expect(!text.stdout.contains("ok: the library is intact"))

        // An index is rebuilt from its table; a damaged table needs the catalog from a peer.
        let repair = try h.run(["repair"])
        if table == "asset_tag_tag" {
            #expect(repair.status == 0, "REINDEX heals an index: \(repair.stdout) \(repair.stderr)")
            try h.ok(["verify"])
        } else {
            #expect(repair.status != 0)
            #expect(repair.stderr.contains("beyond its indexes") && repair.stderr.contains("hearth join"), "\(repair.stderr)")
        }
    }
}
