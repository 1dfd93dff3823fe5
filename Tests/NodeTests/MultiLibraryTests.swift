import Foundation
import Jobs
import Media
import Node
import Testing
#if canImport(Glibc)
import Glibc
import Presentation
#endif

/// One node holding several libraries, through the real `hearth` binary: `--library`, the
/// default, `hearth libraries`, and a home made by release 6847644 upgrading in place.
@Suite(.serialized) struct MultiLibraryTests {
    static func json(_ r: HearthBinary.Result) -> [(String, JSON)] {
        if case .object(let f)? = r.json { return f }
        return []
    }

    static func libraries(_ h: HearthBinary) throws -> [[String: JSON]] {
        try h.ok(["libraries", "--json"]).json?.arrayValue?.map { item in
            guard case .object(let f) = item else { return [:] }
            return Dictionary(f, uniquingKeysWith: { a, _ in a })
        } ?? []
    }

    @Test func severalLibrariesInOneHome() throws {
        let h = try HearthBinary.temporary("libs")
        defer { h.cleanup() }
        let photos = h.scratch.appendingPathComponent("photos")
        _ = try SamplePhotos.write(to: photos.path, count: 3, width: 320, height: 240, seed: 11)
        try h.ok(["init", "--name", "laptop"])
        let trips = try h.ok(["init", "--library-name", "trips", "--policy", "thumbnails", "--json"])
        let tripsID = try #require(trips.json?["libraryId"]?.stringValue)
        #expect(trips.json?["storagePolicy"]?.stringValue == "thumbnails")
        #expect(trips.json?["deviceId"] == (try h.ok(["status", "--json"]).json?["deviceId"]), "one device identity for both")

        let libs = try Self.libraries(h)
        #expect(libs.map { $0["name"]?.stringValue } == ["library", "trips"])
        #expect(libs.map { $0["default"]?.boolValue } == [true, false], "the first library is the default")
        #expect(libs[1]["id"]?.stringValue == tripsID)

        // Import into trips only: the default library stays empty; each has its own chunk store.
        try h.ok(["--library", "trips", "import", photos.path])
        #expect(try h.ok(["assets", "--json"]).json?.arrayValue?.count == 0)
        #expect(try h.ok(["assets", "--json", "--library", "trips"]).json?.arrayValue?.count == 3)
        #expect(try h.ok(["--library", String(tripsID.prefix(6)), "assets", "--json"]).json?.arrayValue?.count == 3,
                "an id prefix selects too")
        let tripsChunks = h.home.appendingPathComponent("libraries/\(tripsID)/chunks/packs")
        #expect(HearthBinary.bytes(under: tripsChunks) > 0)
        #expect(try h.ok(["status", "--json"]).json?["chunkCount"]?.intValue == 0)
        #expect(try h.ok(["--library", "trips", "verify", "--json"]).json?["ok"]?.boolValue == true)

        // Without a default, a command that needs a library says which there are.
        try h.ok(["libraries", "--default", "none"])
        let ambiguous = try h.run(["assets"])
        #expect(ambiguous.status == 3)
        #expect(ambiguous.stderr.contains("library") && ambiguous.stderr.contains("trips") && ambiguous.stderr.contains("--library"),
                "\(ambiguous.stderr)")
        try h.ok(["libraries", "--default", "trips"])
        #expect(try h.ok(["assets", "--json"]).json?.arrayValue?.count == 3)
        let unknown = try h.run(["--library", "nope", "assets"])
        #expect(unknown.status == 3 && unknown.stderr.contains("no library \"nope\""), "\(unknown.stderr)")
        let taken = try h.run(["init", "--library-name", "trips"])
        #expect(taken.status != 0 && taken.stderr.contains("already has a library named"), "\(taken.stderr)")
        #expect(try Self.libraries(h).count == 2, "a refused init adds nothing")
    }

    @Test func aNewerConfigIsRefusedNamingBothVersions() throws {
        let h = try HearthBinary.temporary("newer")
        defer { h.cleanup() }
        try h.ok(["init"])
        let file = h.home.appendingPathComponent("config.json")
        let text = try String(contentsOf: file, encoding: .utf8)
        #expect(text.contains("\"version\" : 2"))
        try text.replacingOccurrences(of: "\"version\" : 2", with: "\"version\" : 7").write(to: file, atomically: true, encoding: .utf8)
        let r = try h.run(["status"])
        #expect(r.status == 3)
        #expect(r.stderr.contains("version 7") && r.stderr.contains("version 2"), "\(r.stderr)")
    }

    /// Turns a layout-2 home with one library back into layout 1 as release 6847644 wrote it,
    /// stopping after `steps` of the upgrade's moves are (as if) done: 0 is a layout-1 home,
    /// 1 a crash after moving the catalog, 2 after moving the chunk store too.
    static func makeLayout1(_ h: HearthBinary, stoppedAfter steps: Int) throws {
        let fm = FileManager.default
        let config = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: h.home.appendingPathComponent("config.json"))) as? [String: Any])
        let lib = try #require((config["libraries"] as? [[String: Any]])?.first)
        let id = try #require(lib["id"] as? String)
        let dir = h.home.appendingPathComponent("libraries/\(id)")
        if steps < 1 {
            for suffix in ["", "-wal", "-shm"] where fm.fileExists(atPath: dir.path + "/catalog.sqlite" + suffix) {
                try fm.moveItem(atPath: dir.path + "/catalog.sqlite" + suffix, toPath: h.home.path + "/libraries/\(id).sqlite" + suffix)
            }
        }
        if steps < 2 { try fm.moveItem(at: dir.appendingPathComponent("chunks"), to: h.home.appendingPathComponent("chunks")) }
        if steps < 1 { try fm.removeItem(at: dir) }
        let v1: [String: Any] = ["libraryID": id, "deviceName": config["deviceName"]!, "epoch": lib["epoch"]!,
                                 "storagePolicy": lib["storagePolicy"]!, "peers": [] as [Any]]
        try JSONSerialization.data(withJSONObject: v1, options: [.prettyPrinted, .sortedKeys])
            .write(to: h.home.appendingPathComponent("config.json"))
    }

    /// A layout-1 home upgrades in place, and so does one whose upgrade was cut short at each step.
    @Test(arguments: [0, 1, 2]) func aLayout1HomeUpgradesInPlace(stoppedAfter steps: Int) throws {
        let h = try HearthBinary.temporary("layout1-\(steps)")
        defer { h.cleanup() }
        let photos = h.scratch.appendingPathComponent("photos")
        _ = try SamplePhotos.write(to: photos.path, count: 2, width: 320, height: 240, seed: 5)
        try h.ok(["init", "--name", "old"])
        try h.ok(["import", photos.path])
        let ids = try h.assetIDs()
        try h.ok(["describe", ids[0], "kept across the upgrade"])
        let digest = try h.digest()
        try Self.makeLayout1(h, stoppedAfter: steps)

        #expect(try h.digest() == digest, "the same catalog after the upgrade")
        #expect(try h.ok(["verify", "--json"]).json?["ok"]?.boolValue == true, "every chunk moved with it")
        #expect(try h.ok(["show", ids[0], "--json"]).json?["description"]?.stringValue == "kept across the upgrade")
        let config = try String(contentsOf: h.home.appendingPathComponent("config.json"), encoding: .utf8)
        #expect(config.contains("\"version\" : 2"))
        #expect(!FileManager.default.fileExists(atPath: h.home.appendingPathComponent("chunks").path))
        let libs = try Self.libraries(h)
        #expect(libs.count == 1 && libs[0]["default"]?.boolValue == true && libs[0]["name"]?.stringValue == "library")
    }

    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/release-6847644")

    /// The committed home made by release 6847644 itself (Tests/Fixtures/release-6847644) moves
    /// to layout 2: one library, the default, with everything it held.
    @Test func theRelease6847644FixtureUpgrades() throws {
        let h = try HearthBinary.temporary("fixture")
        defer { h.cleanup() }
        try FileManager.default.copyItem(at: Self.fixture.appendingPathComponent("home"), to: h.home)
        let expect = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: Self.fixture.appendingPathComponent("expect.json"))) as? [String: Any])
        let library = (expect["library"] as? [String]) ?? []
        let trashed = (expect["trashed"] as? [String]) ?? []
        #expect(try h.assetIDs().sorted() == library.sorted())
        let inTrash = try h.ok(["assets", "--trashed", "--json"]).json?.arrayValue?.compactMap { $0["id"]?.stringValue } ?? []
        #expect(inTrash.sorted() == trashed.sorted())
        #expect(try h.ok(["verify", "--json"]).json?["ok"]?.boolValue == true)
        let libs = try Self.libraries(h)
        #expect(libs.count == 1 && libs[0]["default"]?.boolValue == true)
        #expect(try String(contentsOf: h.home.appendingPathComponent("config.json"), encoding: .utf8).contains("\"version\" : 2"))
    }
}

/// The node's job runner, run for real: periodic jobs, failures, tasks, stopping.
@Suite struct JobRunnerTests {
    struct Boom: Error, CustomStringConvertible { var description: String { "boom" } }

    @Test(.timeLimit(.minutes(5))) func runsJobsReportsFailuresAndStopsWhenCancelled() async throws {
        let jobs = JobRunner()
        // Every job body says when it ran; the test waits on those events and the runner's report.
        let ran = AsyncStream<String>.makeStream()
        jobs.every("tick", .milliseconds(5)) { ran.continuation.yield("tick") }
        jobs.every("fails", .milliseconds(5)) { ran.continuation.yield("fails"); throw Boom() }
        jobs.launch("task") { ran.continuation.yield("task") }
        let run = Task { await jobs.run() }
        var seen: [String: Int] = [:]
        for await name in ran.stream {
            seen[name, default: 0] += 1
            if (seen["tick"] ?? 0) >= 3, (seen["fails"] ?? 0) >= 3, seen["task"] == 1 { break }
        }
        // The runner counts a run once its body has returned: the third run of each has.
        #expect((jobs.status(of: "tick")?.runs ?? 0) >= 2 && (jobs.status(of: "fails")?.failures ?? 0) >= 2)
        run.cancel()
        await run.value // returns once every job has stopped
        let s = jobs.status()
        #expect(s.map(\.name) == ["tick", "fails", "task"])
        #expect(s[0].failures == 0 && s[0].lastError == nil)
        #expect(s[1].failures == s[1].runs && s[1].lastError == "boom")
        #expect(s[2].runs == 1 && !s[2].running)
    }
}

/// One `hearth serve` serving two libraries on one port: a peer joins each by its own ticket
/// (the second into its existing home), and each library syncs with its own catalog and chunks.
@Suite(.serialized) struct MultiLibrarySyncTests {
    @Test func oneDaemonServesEveryLibrary() throws {
        let a = try HearthBinary.temporary("mlA"), b = try HearthBinary.temporary("mlB")
        defer { [a, b].forEach { $0.cleanup() } }
        let home = a.scratch.appendingPathComponent("home-photos"), trip = a.scratch.appendingPathComponent("trip-photos")
        _ = try SamplePhotos.write(to: home.path, count: 3, width: 320, height: 240, seed: 21)
        _ = try SamplePhotos.write(to: trip.path, count: 2, width: 320, height: 240, seed: 41)
        try a.ok(["init", "--name", "A"])
        try a.ok(["init", "--name", "A", "--library-name", "trip"])
        try a.ok(["import", home.path])
        try a.ok(["--library", "trip", "import", trip.path])
        let (serveA, portA) = try BackgroundHearth.serve(a, label: "serveA")
        defer { serveA.kill() }

        try b.ok(["join", try a.invite(port: portA), "--name", "B"])
        let tripTicket = try a.ok(["--library", "trip", "invite", "--address", "127.0.0.1:\(portA)"])
            .stdout.split(separator: "\n").last.map(String.init) ?? ""
        try b.ok(["join", tripTicket, "--name", "B", "--library-name", "trip"])
        let libs = try MultiLibraryTests.libraries(b)
        #expect(libs.map { $0["name"]?.stringValue } == ["library", "trip"])

        #expect(try b.assetIDs().sorted() == a.assetIDs().sorted())
        #expect(try b.ok(["--library", "trip", "assets", "--json"]).json?.arrayValue?.count == 2)
        #expect(try b.digest() == a.digest())
        func tripDigest(_ h: HearthBinary) throws -> String? {
            try h.ok(["--library", "trip", "status", "--json"]).json?["catalogDigest"]?.stringValue
        }
        #expect(try tripDigest(b) == tripDigest(a))
        #expect(try b.ok(["--library", "trip", "verify", "--json"]).json?["ok"]?.boolValue == true)

        // An edit in the second library reaches the serving node through a sync of that library.
        let tripAsset = try #require(try b.ok(["--library", "trip", "assets", "--json"]).json?.arrayValue?.first?["id"]?.stringValue)
        try b.ok(["--library", "trip", "describe", tripAsset, "from B"])
        try b.ok(["--library", "trip", "sync"])
        #expect(try a.ok(["--library", "trip", "show", tripAsset, "--json"]).json?["description"]?.stringValue == "from B")
        #expect(try tripDigest(b) == tripDigest(a))
        #expect(try b.digest() == a.digest(), "the other library is untouched")
        #expect(serveA.logText.contains("serving"), "\(serveA.logText)")

        // A join into an existing home that fails (nobody listens at the ticket's address)
        // leaves the home as it was: the same libraries, no half-made library folder.
        let x = try a.ok(["init", "--name", "A", "--library-name", "x", "--json"]).json?["libraryId"]?.stringValue ?? ""
        let dead = try a.ok(["--library", "x", "invite", "--address", "127.0.0.1:1"]).stdout.split(separator: "\n").last.map(String.init) ?? ""
        let failed = try b.run(["join", dead, "--name", "B", "--library-name", "x"])
        #expect(failed.status == 3, "\(failed.stderr)")
        #expect(try MultiLibraryTests.libraries(b).map { $0["name"]?.stringValue } == ["library", "trip"])
        #expect(!FileManager.default.fileExists(atPath: b.home.appendingPathComponent("libraries/\(x)").path))
        #expect(try b.ok(["--library", "trip", "verify", "--json"]).json?["ok"]?.boolValue == true)
    }
}
