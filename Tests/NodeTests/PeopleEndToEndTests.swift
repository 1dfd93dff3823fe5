import Catalog
import Foundation
import HearthCrypto
import Node
import Presentation
import Testing

/// People, passwords and API keys through the real `hearth` binary, and a person created on
/// one node reaching another by sync.
@Suite(.serialized)
struct PeopleEndToEndTests {
    static func field(_ j: JSON?, _ key: String) -> JSON? {
        guard case .object(let f)? = j else { return nil }
        return f.first { $0.0 == key }?.1
    }

    @Test func userAndAPIKeyCommands() throws {
        let h = try HearthBinary.temporary("people")
        defer { h.cleanup() }
        try h.ok(["init", "--name", "laptop"])
        #expect(try h.ok(["user", "list", "--json"]).json?.arrayValue?.isEmpty == true)
        let added = try h.run(["user", "add", "--email", "Ann@Example.org", "--name", "Ann", "--admin", "--password-stdin",
                               "--json"], input: "correct horse\n")
        #expect(added.status == 0, "\(added.stderr)")
        let annID = try #require(Self.field(added.json, "id")?.stringValue)
        #expect(PersonID(uuid: annID) != nil && Self.field(added.json, "isAdmin") == .bool(true))
        // Clear refusals, nothing changed by them.
        let dup = try h.run(["user", "add", "--email", "ann@example.org", "--name", "Other", "--password-stdin"], input: "whatever12")
        #expect(dup.status == 3 && dup.stderr.contains("already exists"), "\(dup.status) \(dup.stderr)")
        let weak = try h.run(["user", "add", "--email", "bob@example.org", "--name", "Bob", "--password-stdin"], input: "short\n")
        #expect(weak.status == 2 && weak.stderr.contains("too weak"), "\(weak.stderr)")
        let empty = try h.run(["user", "add", "--email", "bob@example.org", "--name", "Bob", "--password-stdin"], input: "\n")
        #expect(empty.status == 2 && empty.stderr.contains("empty"), "\(empty.stderr)")
        let noTTY = try h.run(["user", "add", "--email", "bob@example.org", "--name", "Bob"])
        #expect(noTTY.status == 2 && noTTY.stderr.contains("--password-stdin"), "\(noTTY.stderr)")
        let badEmail = try h.run(["user", "add", "--email", "bob", "--name", "Bob", "--password-stdin"], input: "long enough")
        #expect(badEmail.status == 3 && badEmail.stderr.contains("not an email"), "\(badEmail.stderr)")
        try h.ok(["user", "add", "--email", "bob@example.org", "--name", "Bob", "--avatar-color", "green", "--password-stdin"]
                 .map { $0 }, input: "bobs password")
        let list = try #require(try h.ok(["user", "list", "--json"]).json?.arrayValue)
        #expect(list.count == 2)
        #expect(list.compactMap { Self.field($0, "email")?.stringValue } == ["Ann@Example.org", "bob@example.org"])
        #expect(Self.field(list[0], "devices")?.arrayValue?.count == 1, "the first person owns the device")
        #expect(Self.field(list[1], "devices")?.arrayValue?.isEmpty == true)
        #expect(Self.field(list[1], "avatarColor")?.stringValue == "green")

        // API keys: the secret once, only its hash on disk, revocation.
        let created = try h.ok(["api-key", "create", "--user", "ann@example.org", "--name", "uploader",
                                "--permission", "asset.upload", "--permission", "asset.read", "--json"])
        let secret = try #require(Self.field(created.json, "secret")?.stringValue)
        let keyID = try #require(Self.field(created.json, "id")?.stringValue)
        let keys = try #require(try h.ok(["api-key", "list", "--json"]).json?.arrayValue)
        let listed = try h.ok(["api-key", "list"]).stdout
        #expect(keys.count == 1 && Self.field(keys[0], "secret") == nil && !listed.contains(secret))
        let access = try AccessStore.open(home: Home(path: h.home.path))
        let key = try #require(try access.apiKey(secret: secret))
        #expect(key.person.uuid == annID && key.allows("asset.read") && !key.allows("user.delete"))
        let onDisk = [access.path, access.path + "-wal"].flatMap { (try? [UInt8](Data(contentsOf: URL(fileURLWithPath: $0)))) ?? [] }
        #expect(!String(decoding: onDisk, as: UTF8.self).contains(secret))
        let unknownUser = try h.run(["api-key", "create", "--user", "nobody@example.org", "--name", "x"])
        #expect(unknownUser.status == 3 && unknownUser.stderr.contains("no person"), "\(unknownUser.stderr)")
        try h.ok(["api-key", "revoke", keyID])
        #expect(try access.apiKey(secret: secret) == nil)
        let again = try h.run(["api-key", "revoke", keyID])
        #expect(again.status == 3 && again.stderr.contains("no API key"))

        // Passwords change; a removed person cannot log in.
        try h.ok(["user", "passwd", "ann@example.org", "--password-stdin"].map { $0 }, input: "a new password\n")
        let node = try HearthNode.open(home: Home(path: h.home.path))
        let limiter = LoginLimiter()
        let now = HearthNode.wallClockMillis()
        #expect(try node.login(email: "ann@example.org", password: "a new password", address: nil, now: now, limiter: limiter)
                .id.uuid == annID)
        #expect(throws: NodeError.self) {
            try node.login(email: "ann@example.org", password: "correct horse", address: nil, now: now, limiter: limiter)
        }
        try h.ok(["user", "remove", "bob@example.org"])
        #expect(try h.ok(["user", "list", "--json"]).json?.arrayValue?.count == 1)
        let gone = try h.run(["user", "remove", "bob@example.org"])
        #expect(gone.status == 3 && gone.stderr.contains("no person"))
        let lastAdmin = try h.run(["user", "passwd", "nobody@example.org", "--password-stdin"], input: "long enough")
        #expect(lastAdmin.status == 3)

        // What this device imports now records Ann as its owner, and every original's SHA-1.
        let photos = h.scratch.appendingPathComponent("photos")
        try h.ok(["make-samples", photos.path, "--count", "4", "--width", "320", "--height", "240"])
        try h.ok(["import", photos.path])
        let fresh = try HearthNode.open(home: Home(path: h.home.path))
        let assets = try fresh.catalog.assets()
        #expect(assets.count == 4)
        for name in try FileManager.default.contentsOfDirectory(atPath: photos.path) {
            let path = photos.appendingPathComponent(name).path
            let sha = SHA1.base64(try SHA1.digest(fileAt: path))
            let ids = try fresh.catalog.assets(sha1: sha)
            #expect(ids.count == 1, "\(name)")
            #expect(try ids.first.flatMap { try fresh.catalog.asset($0) }?.owner?.uuid == annID)
        }
    }

    /// Assets without a SHA-1 (imported before SHA-1s were recorded) get theirs from the local
    /// originals: by `hearth verify --repair`, and by `hearth serve` when it starts.
    @Test func verifyRepairAndServeBackfillChecksums() throws {
        let h = try HearthBinary.temporary("backfill")
        defer { h.cleanup() }
        let photos = h.scratch.appendingPathComponent("photos")
        try h.ok(["make-samples", photos.path, "--count", "6", "--width", "320", "--height", "240"])
        try h.ok(["init", "--name", "nas"])
        try h.ok(["import", photos.path])
        // A library without people writes no format 3 field (release 6847644 keeps syncing).
        #expect(try HearthNode.open(home: Home(path: h.home.path)).catalog.assets().allSatisfy { $0.sha1 == nil && $0.owner == nil })
        try h.ok(["verify", "--repair"])
        #expect(try HearthNode.open(home: Home(path: h.home.path)).catalog.assets().allSatisfy { $0.sha1 == nil })
        try h.ok(["user", "add", "--email", "ann@example.org", "--name", "Ann", "--admin", "--password-stdin"], input: "ann password")
        try h.ok(["verify", "--repair"])
        var expected: [String: String] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: photos.path) {
            expected[name] = SHA1.base64(try SHA1.digest(fileAt: photos.appendingPathComponent(name).path))
        }
        func clear(_ n: Int) throws {
            let node = try HearthNode.open(home: Home(path: h.home.path))
            try node.commit(try node.catalog.assets().prefix(n).map { .setField($0.id, .sha1, .null) })
        }
        func checked() throws -> Bool {
            let assets = try HearthNode.open(home: Home(path: h.home.path)).catalog.assets()
            return assets.count == 6 && assets.allSatisfy { $0.sha1 != nil && $0.sha1 == expected[$0.fileName] }
        }
        #expect(try checked(), "once there are people, verify --repair records every SHA-1")
        try clear(4)
        #expect(try !checked())
        try h.ok(["verify", "--repair"])
        #expect(try checked(), "verify --repair restored them")
        try clear(3)
        let (serve, _) = try BackgroundHearth.serve(h, label: "serve")
        defer { serve.kill() }
        #expect(try eventually(30) { try checked() }, "hearth serve did not backfill: \(serve.logText.suffix(2000))")
        #expect(try eventually(5) { serve.logText.contains("checksums backfilled") })
    }

    /// A person added on A logs in on B after a sync; B's device, which belonged to no one,
    /// is linked to the library's first person when B adds one.
    @Test func aPersonAddedOnOneNodeReachesAnother() throws {
        let a = try HearthBinary.temporary("A"), b = try HearthBinary.temporary("B")
        defer { [a, b].forEach { $0.cleanup() } }
        try a.ok(["init", "--name", "A"])
        try a.ok(["user", "add", "--email", "ann@example.org", "--name", "Ann", "--admin", "--password-stdin"], input: "ann password")
        let (serveA, portA) = try BackgroundHearth.serve(a, label: "serveA")
        defer { serveA.kill() }
        try b.ok(["join", try a.invite(port: portA), "--name", "B"])
        try b.ok(["sync"])
        let onB = try #require(try b.ok(["user", "list", "--json"]).json?.arrayValue)
        #expect(onB.compactMap { Self.field($0, "email")?.stringValue } == ["ann@example.org"])
        let nodeB = try HearthNode.open(home: Home(path: b.home.path))
        let ann = try nodeB.login(email: "ann@example.org", password: "ann password", address: "127.0.0.1",
                                  now: HearthNode.wallClockMillis(), limiter: LoginLimiter())
        try b.ok(["user", "add", "--email", "bea@example.org", "--name", "Bea", "--password-stdin"], input: "bea password")
        #expect(try HearthNode.open(home: Home(path: b.home.path)).currentPerson() == ann.id)
        // And back: A's daemon receives Bea.
        let arrived = try eventually(20) {
            try b.ok(["sync"])
            return try a.ok(["user", "list", "--json"]).json?.arrayValue?.count == 2
        }
        #expect(arrived, "A did not receive the person added on B")
        #expect(try a.digest() == b.digest())
    }
}
