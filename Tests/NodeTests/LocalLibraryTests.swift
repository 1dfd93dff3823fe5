import Foundation
import HearthCrypto
import Media
import Node
import Testing
import Presentation

/// The local library through the real `hearth` binary: import, list, edit, export, verify, gc.
@Suite(.serialized) struct LocalLibraryTests {
    /// Writes `count` small sample photos plus the usual clutter of a real folder.
    static func samplePhotos(_ dir: URL, count: Int = 5) throws -> [URL] {
        let paths = try SamplePhotos.write(to: dir.path, count: count, width: 640, height: 480, seed: 100)
        return paths.map(URL.init(fileURLWithPath:))
    }

    static func b2(_ url: URL) throws -> String {
        Blake2b.hash256([UInt8](try Data(contentsOf: url))).hex
    }

    @Test func importListExportVerify() throws {
        let h = try HearthBinary.temporary("import")
        defer { h.cleanup() }
        let photos = h.scratch.appendingPathComponent("photos")
        let originals = try Self.samplePhotos(photos)
        // A duplicate under another name (in a subfolder), a corrupt photo, a note and a dangling link.
        let sub = photos.appendingPathComponent("sub")
        try FileManager.default.createDirectory(at: sub, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: originals[0], to: sub.appendingPathComponent("copy.jpg"))
        try Data((0..<4000).map { UInt8(truncatingIfNeeded: $0 &* 7) }).write(to: photos.appendingPathComponent("broken.jpg"))
        try Data([0xFF, 0xD8, 0xFF, 0xE0, 0, 16]).write(to: photos.appendingPathComponent("truncated.jpg"))
        try "milk, eggs".write(to: photos.appendingPathComponent("notes.txt"), atomically: true, encoding: .utf8)
        try Data("Thumbs".utf8).write(to: photos.appendingPathComponent("Thumbs.db"))

        try h.ok(["init", "--name", "laptop"])
        let r = try h.run(["import", photos.path, "--json"])
        #expect(r.status == 1, "some inputs failed and the rest imported: exit 1, got \(r.status) \(r.stderr)")
        let report = try #require(r.json)
        #expect(report["imported"]?.intValue == 5)
        #expect(report["duplicates"]?.intValue == 1)
        let failed = report["failed"]?.arrayValue ?? []
        #expect(Set(failed.compactMap { $0["path"]?.stringValue.map { ($0 as NSString).lastPathComponent } })
                == ["broken.jpg", "truncated.jpg"])
        for f in failed {
            let msg = f["error"]?.stringValue ?? ""
            #expect(msg.contains(".jpg"), "the reason names the file: \(msg)")
        }
        let skipped = report["skipped"]?.arrayValue ?? []
        #expect(Set(skipped.compactMap { $0["path"]?.stringValue.map { ($0 as NSString).lastPathComponent } })
                == ["notes.txt", "Thumbs.db"])

        // assets --json: the scripting contract.
        let assets = try #require(try h.ok(["assets", "--json"]).json?.arrayValue)
        #expect(assets.count == 5)
        let byName = Dictionary(uniqueKeysWithValues: assets.map { ($0["fileName"]!.stringValue!, $0) })
        for (i, url) in originals.enumerated() {
            let a = try #require(byName[url.lastPathComponent])
            #expect(a["id"]?.stringValue == (try Self.b2(url)))
            let expected = SamplePhotos.fields(seed: 100 + i)
            let iso = HearthNode.iso8601(.init(localSeconds: expected.takenAt!.localSeconds,
                                               utcOffsetMinutes: expected.takenAt!.offsetMinutes.map(Int32.init)))
            #expect(a["takenAt"]?.stringValue == iso)
            #expect(a["make"]?.stringValue == expected.make)
            #expect(a["model"]?.stringValue == expected.model)
            #expect(a["orientation"]?.intValue == Int64(expected.orientation!))
            #expect(a["mimeType"]?.stringValue == "image/jpeg")
            #expect(a["type"]?.stringValue == "image")
            #expect(a["width"]?.intValue == 640 && a["height"]?.intValue == 480)
            #expect(a["bytes"]?.intValue == Int64(try Data(contentsOf: url).count))
            if let lat = expected.latitude {
                #expect(abs((a["latitude"]?.doubleValue ?? 999) - lat) < 1e-4)
                #expect(abs((a["longitude"]?.doubleValue ?? 999) - expected.longitude!) < 1e-4)
            } else {
                #expect(a["latitude"]?.isNull == true)
            }
            for key in ["favorite", "archived", "trashed", "albums", "tags", "description", "rating",
                        "motion", "projection", "durationSeconds"] {
                #expect(a[key] != nil, "assets --json carries \(key)")
            }
        }
        // Newest first.
        let dates = assets.compactMap { $0["takenAt"]?.stringValue }
        #expect(dates.count == 5)

        // Export: byte-identical under the original name; a clash gets a suffix, never an overwrite.
        let out = h.scratch.appendingPathComponent("out")
        let first = originals[0]
        let prefix = String(try Self.b2(first).prefix(10))
        try h.ok(["export", prefix, "--to", out.path])
        try h.ok(["export", prefix, "--to", out.path])
        #expect(try Data(contentsOf: out.appendingPathComponent(first.lastPathComponent)) == Data(contentsOf: first))
        let stem = first.deletingPathExtension().lastPathComponent
        #expect(try Data(contentsOf: out.appendingPathComponent("\(stem) (1).jpg")) == Data(contentsOf: first))

        // Thumbnails and previews exist and are the right formats and sizes.
        let thumb = h.scratch.appendingPathComponent("t.webp"), preview = h.scratch.appendingPathComponent("p.jpg")
        try h.ok(["thumbnail", prefix, "--out", thumb.path])
        try h.ok(["thumbnail", prefix, "--size", "preview", "--out", preview.path])
        #expect([UInt8](try Data(contentsOf: thumb).prefix(4)) == Array("RIFF".utf8))
        #expect([UInt8](try Data(contentsOf: preview).prefix(2)) == [0xFF, 0xD8])

        let status = try #require(try h.ok(["status", "--json"]).json)
        #expect(status["assetCount"]?.intValue == 5)
        #expect(status["deviceId"]?.stringValue?.count == 63)
        #expect(status["libraryId"]?.stringValue?.count == 32)
        #expect((status["storedBytes"]?.intValue ?? 0) > 0)
        #expect(status["catalogDigest"]?.stringValue?.count == 64)
        #expect(status["versionVector"] != nil)

        let v = try h.ok(["verify", "--json"]).json
        #expect(v?["ok"]?.boolValue == true)

        // A second import of the same folder only finds duplicates.
        let again = try #require(try h.run(["import", photos.path, "--json"]).json)
        #expect(again["imported"]?.intValue == 0)
        #expect(again["duplicates"]?.intValue == 6)
    }

    @Test func editsFiltersTrashAndGC() throws {
        let h = try HearthBinary.temporary("edits")
        defer { h.cleanup() }
        let photos = h.scratch.appendingPathComponent("photos")
        let originals = try Self.samplePhotos(photos, count: 4)
        try h.ok(["init"])
        try h.ok(["import", photos.path])
        let ids = try originals.map { String(try Self.b2($0).prefix(12)) }
        func list(_ args: [String] = []) throws -> [JSON] { try h.ok(["assets", "--json"] + args).json?.arrayValue ?? [] }
        func one(_ id: String) throws -> JSON { try #require(try h.ok(["show", id, "--json"]).json) }

        try h.ok(["album", "create", "Summer"])
        try h.ok(["album", "add", "Summer", ids[0], ids[1]])
        #expect(try list(["--album", "Summer"]).count == 2)
        try h.ok(["album", "remove", "Summer", ids[1]])
        #expect(try list(["--album", "Summer"]).map { String($0["id"]!.stringValue!.prefix(12)) } == [ids[0]])
        try h.ok(["album", "rename", "Summer", "Summer 2019"])
        let albums = try #require(try h.ok(["album", "list", "--json"]).json?.arrayValue)
        #expect(albums.map { $0["name"]?.stringValue } == ["Summer 2019"])
        #expect(try one(ids[0])["albums"]?.arrayValue?.map(\.stringValue) == ["Summer 2019"])

        try h.ok(["tag", "add", ids[2], "Places/Japan"])
        #expect(try list(["--tag", "Places"]).count == 1)
        #expect(try list(["--tag", "Places/Japan"]).count == 1)
        #expect(try list(["--tag", "Plac"]).isEmpty)
        try h.ok(["tag", "remove", ids[2], "Places/Japan"])
        #expect(try list(["--tag", "Places"]).isEmpty)

        try h.ok(["favorite", ids[3]])
        #expect(try list(["--favorites"]).count == 1)
        try h.ok(["favorite", "--off", ids[3]])
        #expect(try list(["--favorites"]).isEmpty)

        try h.ok(["describe", ids[0], "Sunset over the bay"])
        try h.ok(["rate", ids[0], "4"])
        #expect(try one(ids[0])["description"]?.stringValue == "Sunset over the bay")
        #expect(try one(ids[0])["rating"]?.intValue == 4)

        try h.ok(["archive", ids[1]])
        #expect(try list().count == 3)
        #expect(try list(["--archived"]).count == 1)
        try h.ok(["archive", "--off", ids[1]])
        #expect(try list().count == 4)

        // Date filters: the sample dates are spread over ten years.
        let all = try list()
        let years = all.compactMap { $0["takenAt"]?.stringValue?.prefix(4) }.compactMap { Int($0) }.sorted()
        let median = years[years.count / 2]
        let from = try list(["--from", "\(median)-01-01"])
        #expect(from.count == years.filter { $0 >= median }.count)

        // Trash, restore, empty-trash, gc.
        try h.ok(["trash", ids[2], ids[3]])
        #expect(try list().count == 2)
        #expect(try list(["--trashed"]).count == 2)
        try h.ok(["restore", ids[3]])
        #expect(try list(["--trashed"]).count == 1)
        let before = try #require(try h.ok(["status", "--json"]).json?["storedBytes"]?.intValue)
        try h.ok(["empty-trash"])
        #expect(try list(["--trashed"]).isEmpty)
        #expect(try list(["--all"]).count == 3)
        let gc = try #require(try h.ok(["gc", "--json"]).json)
        #expect((gc["chunksRemoved"]?.intValue ?? 0) >= 1)
        let after = try #require(try h.ok(["status", "--json"]).json?["storedBytes"]?.intValue)
        #expect(after < before)
        #expect(try h.ok(["verify", "--json"]).json?["ok"]?.boolValue == true)
        // The purged photo's bytes are gone; the others still export byte-identical.
        let out = h.scratch.appendingPathComponent("out")
        try h.ok(["export", ids[0], "--to", out.path])
        #expect(try Data(contentsOf: out.appendingPathComponent(originals[0].lastPathComponent)) == Data(contentsOf: originals[0]))
        #expect(try h.run(["show", ids[2]]).status != 0)

        try h.ok(["album", "delete", "Summer 2019"])
        #expect(try h.ok(["album", "list", "--json"]).json?.arrayValue?.isEmpty == true)
    }

    @Test func usageErrorsAndUnknownAssets() throws {
        let h = try HearthBinary.temporary("usage")
        defer { h.cleanup() }
        let notInit = try h.run(["status"])
        #expect(notInit.status != 0 && notInit.status != 2)
        #expect(notInit.stderr.contains("hearth init"))
        try h.ok(["init"])
        #expect(try h.run(["frobnicate"]).status == 2)
        #expect(try h.run(["rate"]).status == 2)
        #expect(try h.run(["assets", "--from", "yesterday"]).status == 2)
        let unknown = try h.run(["show", "abcdef"])
        #expect(unknown.status == 3)
        #expect(unknown.stderr.contains("abcdef"))
        #expect(try h.run(["init"]).stderr.contains("already"))
    }

    @Test func verifyDetectsCorruptionAndNamesTheChunk() throws {
        let h = try HearthBinary.temporary("corrupt")
        defer { h.cleanup() }
        let photos = h.scratch.appendingPathComponent("photos")
        _ = try Self.samplePhotos(photos, count: 2)
        try h.ok(["init"])
        try h.ok(["import", photos.path])
        let chunks = try h.chunksDir()
        let packs = FileManager.default.enumerator(atPath: chunks.path)!
            .compactMap { $0 as? String }.filter { $0.hasSuffix(".pack") }
        let pack = chunks.appendingPathComponent(try #require(packs.first))
        var bytes = [UInt8](try Data(contentsOf: pack))
        bytes[bytes.count / 2] ^= 0xFF
        try Data(bytes).write(to: pack)
        let r = try h.run(["verify", "--json"])
        #expect(r.status == 3)
        let problems = r.json?["problems"]?.arrayValue ?? []
        #expect(!problems.isEmpty)
        #expect(problems.contains { $0.stringValue?.contains("chunk") == true })
    }

    @Test func killedImportLeavesAVerifiableLibrary() throws {
        let h = try HearthBinary.temporary("crash")
        defer { h.cleanup() }
        let photos = h.scratch.appendingPathComponent("photos")
        _ = try SamplePhotos.write(to: photos.path, count: 24, width: 1200, height: 900, seed: 7)
        try h.ok(["init"])
        let packs = try h.chunksDir().appendingPathComponent("packs")
        // Killed first once chunks reach the packs (nothing committed yet, most likely), then once
        // assets are in the catalog: each kill waits for its moment to happen, not for a delay.
        func assetCount() -> Int { (try? h.run(["assets", "--all", "--json"]))?.json?.arrayValue?.count ?? 0 }
        for moment in ["chunks written", "assets committed"] {
            let before = assetCount()
            let reached = moment == "chunks written" ? { HearthBinary.bytes(under: packs) > 0 } : { assetCount() > before }
            let p = Process()
            p.executableURL = HearthBinary.url
            p.arguments = ["--home", h.home.path, "import", photos.path, "--json"]
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            let seen = eventually(60, interval: 0.01) { reached() || !p.isRunning }
            #expect(seen, "import reached \(moment) or finished")
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            #expect(try h.ok(["verify", "--json"]).json?["ok"]?.boolValue == true)
        }
        let r = try #require(try h.ok(["import", photos.path, "--json"]).json)
        #expect((r["imported"]?.intValue ?? 0) + (r["duplicates"]?.intValue ?? 0) == 24)
        #expect(try h.ok(["assets", "--json"]).json?.arrayValue?.count == 24)
        try h.ok(["gc"])
        #expect(try h.ok(["verify", "--json"]).json?["ok"]?.boolValue == true)
    }
}
