import Foundation
import HearthCrypto
import Node
import Testing

/// Media features through the binary: XMP sidecars written on export and read back on import,
/// Live Photos as one asset, Motion Photo videos exported at their recorded byte range, 360°.
@Suite struct MediaPipelineTests {
    @Test func xmpSidecarRoundTripsEdits() throws {
        let h = try HearthBinary.temporary("xmp")
        defer { h.cleanup() }
        let photos = h.scratch.appendingPathComponent("photos")
        _ = try SamplePhotos.write(to: photos.path, count: 1, width: 320, height: 240, seed: 3)
        try h.ok(["init"])
        try h.ok(["import", photos.path])
        let id = try #require(try h.ok(["assets", "--json"]).json?.arrayValue?.first?["id"]?.stringValue)
        try h.ok(["describe", id, "Fête <at> the bay & more"])
        try h.ok(["rate", id, "4"])
        try h.ok(["tag", "add", id, "Places/Japan", "Family"])
        let out = h.scratch.appendingPathComponent("out")
        let written = try #require(try h.ok(["export", id, "--to", out.path, "--xmp", "--json"]).json?["written"]?.arrayValue)
        #expect(written.count == 2)
        #expect(written.last?.stringValue?.hasSuffix(".jpg.xmp") == true)

        // A second library imports the exported folder: the sidecar brings the edits along.
        let other = HearthBinary(home: h.scratch.appendingPathComponent("other"))
        try other.ok(["init"])
        let r = try #require(try other.ok(["import", out.path, "--json"]).json)
        #expect(r["imported"]?.intValue == 1)
        #expect(r["skipped"]?.arrayValue?.first?["reason"]?.stringValue == "sidecar, read with its photo")
        let a = try #require(try other.ok(["show", id, "--json"]).json)
        #expect(a["description"]?.stringValue == "Fête <at> the bay & more")
        #expect(a["rating"]?.intValue == 4)
        #expect(Set(a["tags"]?.arrayValue?.compactMap(\.stringValue) ?? []) == ["Places/Japan", "Family"])
        let before = try #require(try h.ok(["show", id, "--json"]).json)
        #expect(a["takenAt"]?.stringValue == before["takenAt"]?.stringValue)
    }

    @Test(.enabled(if: CorpusImportTests.corpus != nil, "no media corpus (set HEARTH_CORPUS or put it at ../shared/corpus)"))
    func liveAndMotionPhotosFromTheCorpus() throws {
        let corpus = try #require(CorpusImportTests.corpus)
        let h = try HearthBinary.temporary("motion")
        defer { h.cleanup() }
        try h.ok(["init"])
        // A Live Photo: HEIC + MOV sharing a ContentIdentifier become one asset with a motion part.
        let live = corpus.appendingPathComponent("synthetic/livephoto")
        let r = try #require(try h.run(["import", live.path, "--json"]).json)
        #expect(r["imported"]?.intValue == 1)
        #expect(r["skipped"]?.arrayValue?.first?["reason"]?.stringValue?.contains("Live Photo") == true)
        let still = try #require(try h.ok(["assets", "--json"]).json?.arrayValue?.first)
        #expect(still["motion"]?.boolValue == true)
        #expect(still["type"]?.stringValue == "image")
        let out = h.scratch.appendingPathComponent("out")
        let id = try #require(still["id"]?.stringValue)
        try h.ok(["export", id, "--motion", "--to", out.path])
        let mov = try Data(contentsOf: live.appendingPathComponent("IMG_5195.MOV"))
        #expect(try Data(contentsOf: out.appendingPathComponent("IMG_5195.mov")) == mov)

        // Motion Photos: the embedded video's byte range matches the manifest.
        let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: corpus.appendingPathComponent("motion/manifest.json"))) as? [String: Any]
        let files = manifest?["files"] as? [[String: Any]] ?? []
        var checked = 0
        for f in files {
            guard let path = f["path"] as? String, let expected = f["expected"] as? [String: Any],
                  expected["is_motion_photo"] as? Bool == true,
                  let start = expected["video_index_start"] as? Int, let end = expected["video_index_end"] as? Int else { continue }
            let url = corpus.appendingPathComponent("motion").appendingPathComponent((path as NSString).lastPathComponent)
            guard FileManager.default.fileExists(atPath: url.path) else { continue }
            try h.ok(["import", url.path])
            let bytes = try Data(contentsOf: url)
            let assetID = Blake2b.hash256([UInt8](bytes)).hex
            #expect(try h.ok(["show", assetID, "--json"]).json?["motion"]?.boolValue == true)
            let dir = h.scratch.appendingPathComponent("motion-\(checked)")
            let written = try #require(try h.ok(["export", assetID, "--motion", "--to", dir.path, "--json"]).json?["written"]?.arrayValue)
            let video = try Data(contentsOf: URL(fileURLWithPath: try #require(written.last?.stringValue)))
            #expect(video == bytes.subdata(in: start..<end), "\(url.lastPathComponent): video at \(start)..<\(end)")
            checked += 1
        }
        #expect(checked >= 1, "the corpus has at least one Motion Photo from the manifest")

        // 360°: an equirectangular video is marked, with its duration.
        try h.ok(["import", corpus.appendingPathComponent("synthetic/equirect360_v1_synthetic.mp4").path])
        let videos = try #require(try h.ok(["assets", "--json"]).json?.arrayValue?.filter { $0["type"]?.stringValue == "video" })
        #expect(videos.first?["projection"]?.stringValue == "equirectangular")
        #expect((videos.first?["durationSeconds"]?.doubleValue ?? 0) > 0)
    }
}

/// ThumbHashes through the binary: made with each thumbnail on import, left out with
/// `--no-thumbhash`, and backfilled from the stored thumbnails by `hearth thumbhashes`.
@Suite struct ThumbhashPipelineTests {
    @Test func importMakesThumbhashesAndTheBackfillMakesTheSame() throws {
        let h = try HearthBinary.temporary("thumbhash")
        defer { h.cleanup() }
        let photos = h.scratch.appendingPathComponent("photos")
        _ = try SamplePhotos.write(to: photos.path, count: 3, width: 320, height: 240, seed: 5)
        try h.ok(["init"])
        try h.ok(["import", photos.path])
        let assets = try #require(try h.ok(["assets", "--json"]).json?.arrayValue)
        #expect(assets.count == 3)
        var made: [String: String] = [:]
        for a in assets {
            let hash = try #require(a["thumbhash"]?.stringValue, "an imported photo has a thumbhash")
            #expect((8...48).contains(hash.count))
            made[a["id"]!.stringValue!] = hash
        }

        // Imported without: nothing until the backfill, which reads the stored thumbnails.
        let other = HearthBinary(home: h.scratch.appendingPathComponent("other"))
        try other.ok(["init"])
        try other.ok(["import", photos.path, "--no-thumbhash"])
        #expect(try other.ok(["assets", "--json"]).json?.arrayValue?.allSatisfy { $0["thumbhash"]?.stringValue == nil } == true)
        let r = try #require(try other.ok(["thumbhashes", "--json"]).json)
        #expect(r["made"]?.intValue == 3 && r["missing"]?.intValue == 0 && r["failed"]?.arrayValue?.isEmpty == true)
        for a in try #require(try other.ok(["assets", "--json"]).json?.arrayValue) {
            let hash = try #require(a["thumbhash"]?.stringValue)
            // From the WebP rather than the in-memory image: the same picture, maybe not the same bits.
            let fromImport = try #require(made[a["id"]!.stringValue!])
            // The average colour (the header's 6-bit L, P and Q) agrees within 2 steps.
            func lpq(_ b64: String) -> [Int] {
                let b = [UInt8](Data(base64Encoded: b64) ?? Data())
                guard b.count >= 5 else { return [] }
                let header = Int(b[0]) | Int(b[1]) << 8 | Int(b[2]) << 16
                return [header & 63, (header >> 6) & 63, (header >> 12) & 63]
            }
            let x = lpq(hash), y = lpq(fromImport)
            #expect(x.count == 3 && y.count == 3 && zip(x, y).allSatisfy { abs($0 - $1) <= 2 }, "\(hash) vs \(fromImport)")
        }
        #expect(try other.ok(["thumbhashes", "--json"]).json?["made"]?.intValue == 0, "a second run has nothing to do")
    }
}
