import Foundation
import Testing
import Node
import Presentation

/// Replication well past every page size in the code: 1,200 small generated photos, some
/// archived and some trashed, must reach a joining `everything` node whole. Sync once wanted
/// only the newest 200 assets of the library view, so the rest never arrived and a second sync
/// reported success having moved nothing.
@Suite(.serialized)
struct LargeLibrarySyncTests {
    static func status(_ node: HearthBinary) throws -> [String: JSON] {
        guard case .object(let f)? = try node.ok(["status", "--json"]).json else { throw TestFailure("status --json") }
        return Dictionary(f, uniquingKeysWith: { a, _ in a })
    }

    @Test func everyChunkOfAThousandAssetsArrivesAndVerifies() throws {
        let a = try HearthBinary.temporary("A"), b = try HearthBinary.temporary("B")
        defer { [a, b].forEach { $0.cleanup() } }
        let photos = a.scratch.appendingPathComponent("photos")
        let count = 1200
        try a.ok(["make-samples", photos.path, "--count", "\(count)", "--width", "64", "--height", "48"])
        try a.ok(["init", "--name", "A"])
        try a.ok(["import", photos.path])
        let ids = try a.ok(["assets", "--all", "--json"]).json?.arrayValue?.compactMap { item -> String? in
            guard case .object(let f) = item else { return nil }
            return f.first { $0.0 == "id" }?.1.stringValue
        } ?? []
        try #require(ids.count == count, "A lists every asset with no page limit")
        // The oldest assets are the ones a page of the newest would leave out.
        try a.ok(["archive"] + ids.suffix(60))
        try a.ok(["trash"] + ids.suffix(120).prefix(60))

        let before = try Self.status(a)
        #expect(before["archivedCount"]?.intValue == 60)
        #expect(before["trashedCount"]?.intValue == 60)
        let (serveA, portA) = try BackgroundHearth.serve(a, label: "serveA")
        defer { serveA.kill() }
        try b.ok(["join", try a.invite(port: portA), "--name", "B", "--policy", "everything"])

        let sa = try Self.status(a), sb = try Self.status(b)
        #expect(sb["catalogDigest"]?.stringValue == sa["catalogDigest"]?.stringValue)
        #expect(sb["assetCount"]?.intValue == Int64(count))
        #expect(sb["chunkCount"]?.intValue == sa["chunkCount"]?.intValue, "B holds every chunk A holds")
        #expect(sb["storedBytes"]?.intValue == sa["storedBytes"]?.intValue, "B holds every byte A holds")
        let verify = try b.run(["verify", "--json"])
        guard case .object(let v)? = verify.json else { throw TestFailure("verify --json: \(verify.stdout)") }
        let problems = v.first { $0.0 == "problems" }?.1.arrayValue ?? []
        #expect(verify.status == 0 && problems.isEmpty, "verify on B: \(problems.prefix(5))")

        // A trashed asset restored on B still has its bytes there.
        try b.ok(["restore", ids[count - 61]])
        let out = b.scratch.appendingPathComponent("out")
        try b.ok(["export", ids[count - 61], ids[count - 1], "--to", out.path])
        #expect(try FileManager.default.contentsOfDirectory(atPath: out.path).count == 2)
    }
}
