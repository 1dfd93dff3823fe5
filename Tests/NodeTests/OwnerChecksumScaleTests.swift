import Catalog
import ChunkStore
import Foundation
import HearthCrypto
import Node
import Testing

/// Every imported asset records its owner and its original's SHA-1, at a scale of thousands;
/// the backfill restores SHA-1s from the stored originals; a file large enough to stream
/// through the chunk store gets the same SHA-1 as one read whole.
@Suite(.serialized)
struct OwnerChecksumScaleTests {
    @Test func thousandsOfImportsRecordOwnerAndSHA1AndTheBackfillRestoresThem() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("hearth-scale-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: dir) }
        let node = try HearthNode.create(home: Home(path: dir.appendingPathComponent("home").path), deviceName: "nas")
        let ann = try node.addPerson(email: "ann@example.org", name: "Ann", password: "ann password", isAdmin: true)
        let count = 2500
        let photos = dir.appendingPathComponent("photos").path
        let paths = try SamplePhotos.write(to: photos, count: count, width: 24, height: 16, seed: 7)
        var expected: [String: String] = [:]  // sha1 -> file name
        for p in paths { expected[SHA1.base64(try SHA1.digest(fileAt: p))] = (p as NSString).lastPathComponent }
        #expect(expected.count == count, "the generated photos differ")
        var options = ImportOptions()
        options.derived = false
        let started = Date()
        let report = try node.importPaths([photos], options: options)
        let seconds = Date().timeIntervalSince(started)
        #expect(report.imported.count == count && report.failed.isEmpty, "\(report.failed.prefix(3))")
        let assets = try node.catalog.assets(AssetFilter(scope: .all))
        #expect(assets.count == count)
        var wrong = 0
        for a in assets {
            guard a.owner == ann.id, let sha = a.sha1, expected[sha] == a.fileName,
                  try node.catalog.assets(sha1: sha) == [a.id] else { wrong += 1; continue }
        }
        #expect(wrong == 0, "\(wrong) of \(count) assets lack the right owner or SHA-1")
        print("imported \(count) assets with owner and SHA-1 in \(String(format: "%.1f", seconds)) s")

        // Assets of before SHA-1s: cleared here, restored from the chunk store by the backfill.
        let cleared = assets.prefix(700).map(\.id)
        for part in stride(from: 0, to: cleared.count, by: 250) {
            try node.commit(cleared[part..<min(part + 250, cleared.count)].map { .setField($0, .sha1, .null) })
        }
        #expect(try node.catalog.assetsMissingSHA1(after: nil, limit: 10_000).count == 700)
        var calls = 0
        let b = try node.backfillChecksums(batchSize: 128) { _, _ in calls += 1 }
        #expect(b == ChecksumBackfill(updated: 700, notLocal: 0, failed: 0, errors: []))
        #expect(calls >= 6, "one batch per 128 assets")
        #expect(try node.catalog.assetsMissingSHA1(after: nil, limit: 10).isEmpty)
        for id in cleared.prefix(50) {
            let a = try #require(try node.catalog.asset(id))
            #expect(a.sha1.flatMap { expected[$0] } == a.fileName)
        }
        #expect(try node.backfillChecksums().updated == 0, "nothing left to do")
    }

    /// Files above the in-memory limit stream through the chunk store; the observer sees every
    /// byte once, in order.
    @Test func aStreamedFileGetsTheSameSHA1() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("hearth-stream-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try ChunkStore.open(directory: dir.appendingPathComponent("chunks").path)
        for size in [0, 1, 300_000, (64 << 20) + 12_345] {
            let path = dir.appendingPathComponent("f\(size)").path
            var g = SystemRandomNumberGenerator()
            var bytes = [UInt8](repeating: 0, count: size)
            for i in stride(from: 0, to: size, by: 8) {
                let r = g.next()
                for j in 0..<min(8, size - i) { bytes[i + j] = UInt8(truncatingIfNeeded: r >> (8 * UInt64(j))) }
            }
            FileManager.default.createFile(atPath: path, contents: Data(bytes))
            var h = SHA1()
            var seen = 0
            let obj = try store.store(fileAt: path, observe: { h.update($0); seen += $0.count })
            #expect(seen == size && obj.size == UInt64(size))
            #expect(h.finalize() == SHA1.digest(bytes), "size \(size)")
            try? FileManager.default.removeItem(atPath: path)
        }
    }
}
