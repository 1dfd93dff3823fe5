import Catalog
import Foundation
import HearthCrypto
import HTTPAPI
import Hummingbird
import HummingbirdTesting
import Presentation
import Testing

/// A library of a few thousand generated assets (catalog entries whose bytes are not needed
/// here): one bulk edit and one album add of more assets than a commit holds.
@Suite struct ScaleTests {
    @Test func bulkEditsAndAlbumAddsBeyondOneCommit() async throws {
        let f = try APIFixture(photos: 0, label: "scale")
        let count = 3 * HearthAPI.editsPerCommit + 17
        var imports: [Edit] = []
        for i in 0..<count {
            let id = Blake2b.hash256(Array("generated \(i)".utf8))
            imports.append(.importAsset(AssetImport(id: id, fileName: "G\(i).jpg", original: ObjectRef(id: id, size: 1000, chunks: [id]),
                                                    fields: [.type: .text("image"), .takenAt: .takenAt(TakenAt(localSeconds: 1_600_000_000 + Int64(i)))])))
        }
        for start in stride(from: 0, to: count, by: 1000) { try f.node.commit(Array(imports[start..<min(count, start + 1000)])) }
        let all = try f.assets()
        #expect(all.count == count)
        let ids = all.map { "\"\(f.uuid($0))\"" }.joined(separator: ",")
        let batches = try f.node.catalog.counts().batches
        let clock = ContinuousClock()
        let timings: [String: Duration] = try await f.test { c in
            var timings: [String: Duration] = [:]
            var t = clock.now
            let r = try await c.send(.put, "/api/assets", json: #"{"ids":[\#(ids)],"isFavorite":true}"#)
            timings["bulk PUT"] = clock.now - t
            #expect(r.head.status == .noContent, "\(r.text.prefix(300))")
            t = clock.now
            let made = try await c.send(.post, "/api/albums", json: #"{"albumName":"Everything"}"#)
            let album = try #require(made.json?["id"]?.stringValue)
            let add = try await c.send(.put, "/api/albums/\(album)/assets", json: #"{"ids":[\#(ids)]}"#)
            timings["album add"] = clock.now - t
            let results = try #require(add.json?.arrayValue)
            #expect(results.count == count && results.allSatisfy { $0["success"] == .bool(true) })
            #expect(try await c.get("/api/albums/\(album)").json?["assetCount"] == .int(Int64(count)))
            return timings
        }
        #expect(try f.node.catalog.assets(AssetFilter(favoritesOnly: true)).count == count)
        let commits = try f.node.catalog.counts().batches - batches
        #expect(commits == 4 + 1 + 4, "each bulk change is split into commits of \(HearthAPI.editsPerCommit) edits: \(commits)")
        print("ScaleTests: \(count) assets — bulk PUT \(timings["bulk PUT"]!), album add \(timings["album add"]!)")
    }
}
