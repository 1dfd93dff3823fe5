import Catalog
import Foundation
import HearthCrypto
@testable import HTTPAPI
import Hummingbird
import HummingbirdTesting
import Presentation
import Testing

/// Immich's sync stream over a real catalog: a fresh session receives every asset once (a
/// library larger than one page), acks, and then receives only what changed; reset, per-session
/// checkpoints, API keys refused, bad types and acks refused.
@Suite struct SyncStreamTests {
    static let coreTypes = #"["AuthUsersV1","UsersV1","AssetsV2","AssetExifsV1","AlbumsV2","AlbumUsersV1","AlbumToAssetsV1"]"#

    static func bearer(_ token: String) -> HTTPFields { [.authorization: "Bearer \(token)"] }

    /// A new session of the fixture's first person (made on first use), as a login makes one.
    static func session(_ f: APIFixture) throws -> String {
        let person = try f.node.catalog.people().first
            ?? f.node.addPerson(email: "ann@example.com", name: "Ann", password: nil, isAdmin: true)
        return try f.api.access.createSession(library: f.node.libraryID, person: person.id, now: 1_700_000_000_000).token
    }

    /// The stream's lines, parsed; records an issue for a line that is not a JSON object.
    static func lines(_ r: TestResponse, sourceLocation: SourceLocation = #_sourceLocation) -> [JSON] {
        r.text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().compactMap { line in
            guard let j = try? JSONDecoder().decode(JSON.self, from: Data(line.utf8)) else {
                Issue.record("not JSON: \(line.prefix(200))", sourceLocation: sourceLocation)
                return nil
            }
            return j
        }
    }

    static func stream(_ c: any TestClientProtocol, _ token: String, types: String = coreTypes, reset: Bool = false) async throws -> TestResponse {
        try await c.send(.post, "/api/sync/stream", json: #"{"types":\#(types)\#(reset ? #","reset":true"# : "")}"#, headers: bearer(token))
    }

    static func of(_ lines: [JSON], _ type: String) -> [JSON] { lines.filter { $0["type"] == .string(type) } }

    /// The last ack of each type, as the app acks after a batch.
    static func lastAcks(_ lines: [JSON]) -> [String] {
        var last: [String: String] = [:]
        var order: [String] = []
        for l in lines {
            guard let t = l["type"]?.stringValue, let a = l["ack"]?.stringValue else { continue }
            if last[t] == nil { order.append(t) }
            last[t] = a
        }
        return order.map { last[$0]! }
    }

    static func ackBody(_ acks: [String]) -> String {
        #"{"acks":[\#(acks.map { "\"\($0)\"" }.joined(separator: ","))]}"#
    }

    /// `count` generated assets (catalog entries; their bytes are not needed here), committed a
    /// thousand at a time.
    static func generate(_ f: APIFixture, count: Int, video every: Int = 0) throws {
        var imports: [Edit] = []
        for i in 0..<count {
            let id = Blake2b.hash256(Array("sync generated \(i)".utf8))
            var fields: [AssetField: FieldValue] = [.type: .text("image"), .mimeType: .text("image/jpeg"),
                                                    .takenAt: .takenAt(TakenAt(localSeconds: 1_600_000_000 + Int64(i) * 60, utcOffsetMinutes: 120)),
                                                    .width: .int(4000), .height: .int(3000), .make: .text("Canon"), .iso: .int(200),
                                                    .fNumber: .double(2.8), .exposureTime: .double(0.008)]
            if every > 0, i % every == 0 {
                fields[.type] = .text("video")
                fields[.mimeType] = .text("video/mp4")
                fields[.durationSeconds] = .double(5.25)
            }
            imports.append(.importAsset(AssetImport(id: id, fileName: "G\(i).jpg", original: ObjectRef(id: id, size: 1000, chunks: [id]),
                                                    fields: fields)))
        }
        for start in stride(from: 0, to: count, by: 1000) { try f.node.commit(Array(imports[start..<min(count, start + 1000)])) }
    }

    @Test func freshSessionGetsEverythingOnceThenOnlyWhatChanged() async throws {
        let f = try APIFixture(photos: 0, label: "sync")
        let count = 3 * HearthAPI.syncPageSize + 17
        try Self.generate(f, count: count)
        let all = try f.assets()
        #expect(all.count == count)
        let uuids = all.map(f.uuid)
        let clock = ContinuousClock()
        let s1 = try Self.session(f), s2 = try Self.session(f)
        try await f.test { c in
            let made = try await c.send(.post, "/api/albums", json: #"{"albumName":"Trip","assetIds":["\#(uuids[0])","\#(uuids[1])"]}"#)
            let album = try #require(made.json?["id"]?.stringValue)

            var t = clock.now
            let first = try await Self.stream(c, s1)
            let elapsed = clock.now - t
            #expect(first.head.status == .ok)
            #expect(first.head.headerFields[.contentType] == "application/jsonlines+json")
            let lines = Self.lines(first)
            let assets = Self.of(lines, "AssetV2")
            #expect(assets.count == count, "every asset once")
            #expect(Set(assets.compactMap { $0["data"]?["id"]?.stringValue }) == Set(uuids))
            #expect(Self.of(lines, "AssetExifV1").count == count)
            #expect(Self.of(lines, "AssetDeleteV1").isEmpty)
            #expect(Self.of(lines, "AuthUserV1").count == 1 && Self.of(lines, "UserV1").count == 1)
            let albums = Self.of(lines, "AlbumV2")
            #expect(albums.count == 1 && albums.first?["data"]?["id"] == .string(album) && albums.first?["data"]?["name"] == .string("Trip"))
            let owners = Self.of(lines, "AlbumUserV1")
            #expect(owners.count == 1 && owners.first?["data"]?["role"] == .string("owner") && owners.first?["data"]?["albumId"] == .string(album))
            #expect(owners.first?["data"]?["userId"] == Self.of(lines, "AuthUserV1").first?["data"]?["id"], "the album's owner is a user the client has")
            #expect(Set(Self.of(lines, "AlbumToAssetV1").compactMap { $0["data"]?["assetId"]?.stringValue }) == [uuids[0], uuids[1]])
            #expect(lines.last?["type"] == .string("SyncCompleteV1"))
            // Parents before children: the types appear in Immich's order, each in one run.
            let order = ["AuthUserV1", "UserV1", "AssetV2", "AlbumV2", "AlbumUserV1", "AlbumToAssetV1", "AssetExifV1", "SyncCompleteV1"]
            var runs: [String] = []
            for l in lines { if let ty = l["type"]?.stringValue, runs.last != ty { runs.append(ty) } }
            #expect(runs == order, "\(runs)")
            // Within a type, acks follow the feed order.
            let seqs = assets.compactMap { $0["ack"]?.stringValue.flatMap { SyncUpdateID.parse(String($0.split(separator: "|")[1])) } }
            #expect(seqs.count == count && seqs == seqs.sorted() && Set(seqs).count == count)

            let acks = Self.lastAcks(lines)
            let acked = try await c.send(.post, "/api/sync/ack", json: Self.ackBody(acks), headers: Self.bearer(s1))
            #expect(acked.head.status == .noContent, "\(acked.text)")
            let listed = try await c.get("/api/sync/ack", headers: Self.bearer(s1))
            #expect(Set(listed.json?.arrayValue?.compactMap { $0["ack"]?.stringValue } ?? []) == Set(acks))

            let again = Self.lines(try await Self.stream(c, s1))
            #expect(again.map { $0["type"] } == [.string("SyncCompleteV1")], "nothing changed: \(again.prefix(3))")

            // Another session has its own checkpoints.
            #expect(Self.of(Self.lines(try await Self.stream(c, s2)), "AssetV2").count == count)

            // Edit one, trash one, purge one, add one to the album and take one out.
            #expect(try await c.send(.put, "/api/assets/\(uuids[10])", json: #"{"isFavorite":true}"#).head.status == .ok)
            #expect(try await c.send(.delete, "/api/assets", json: #"{"ids":["\#(uuids[11])"]}"#).head.status == .noContent)
            try f.node.commit([.trash(all[12].id)])
            try f.node.commit([.purge(all[12].id)])
            #expect(try await c.send(.put, "/api/albums/\(album)/assets", json: #"{"ids":["\#(uuids[13])"]}"#).head.status == .ok)
            #expect(try await c.send(.delete, "/api/albums/\(album)/assets", json: #"{"ids":["\#(uuids[1])"]}"#).head.status == .ok)

            t = clock.now
            let changed = Self.lines(try await Self.stream(c, s1))
            let deltaElapsed = clock.now - t
            #expect(Self.of(changed, "AssetDeleteV1").compactMap { $0["data"]?["assetId"]?.stringValue } == [uuids[12]])
            let upserts = Self.of(changed, "AssetV2")
            #expect(upserts.compactMap { $0["data"]?["id"]?.stringValue } == [uuids[10], uuids[11]], "\(upserts)")
            #expect(upserts.first?["data"]?["isFavorite"] == .bool(true))
            #expect(upserts.last?["data"]?["deletedAt"]?.stringValue != nil, "a trashed asset carries deletedAt")
            #expect(Self.of(changed, "AssetExifV1").count == 2)
            #expect(Self.of(changed, "AlbumToAssetV1").compactMap { $0["data"]?["assetId"]?.stringValue } == [uuids[13]])
            #expect(Self.of(changed, "AlbumToAssetDeleteV1").compactMap { $0["data"]?["assetId"]?.stringValue } == [uuids[1]])
            #expect(Self.of(changed, "AlbumV2").isEmpty && Self.of(changed, "AuthUserV1").isEmpty)
            #expect(changed.last?["type"] == .string("SyncCompleteV1"))
            let changedTypes: [String] = changed.compactMap { $0["type"]?.stringValue }
            #expect(changedTypes.count == 8, "\(changedTypes)")

            // Renaming and deleting the album.
            #expect(try await c.send(.post, "/api/sync/ack", json: Self.ackBody(Self.lastAcks(changed)), headers: Self.bearer(s1)).head.status == .noContent)
            #expect(try await c.send(.patch, "/api/albums/\(album)", json: #"{"albumName":"Trip 2"}"#).head.status == .ok)
            let renamed = Self.lines(try await Self.stream(c, s1))
            #expect(Self.of(renamed, "AlbumV2").first?["data"]?["name"] == .string("Trip 2"))
            #expect(try await c.send(.post, "/api/sync/ack", json: Self.ackBody(Self.lastAcks(renamed)), headers: Self.bearer(s1)).head.status == .noContent)
            #expect(try await c.execute(uri: "/api/albums/\(album)", method: .delete).head.status == .noContent)
            let deleted = Self.lines(try await Self.stream(c, s1))
            #expect(Self.of(deleted, "AlbumDeleteV1").first?["data"]?["albumId"] == .string(album))
            #expect(Self.of(deleted, "AlbumUserDeleteV1").count == 1 && Self.of(deleted, "AlbumV2").isEmpty)

            // Reset: SyncResetV1 first, then everything again.
            let reset = Self.lines(try await Self.stream(c, s1, reset: true))
            #expect(reset.first?["type"] == .string("SyncResetV1") && reset.first?["ack"] == .string("SyncResetV1|reset"))
            #expect(Self.of(reset, "AssetV2").count == count - 1, "all but the purged one")
            #expect(Self.of(reset, "AssetDeleteV1").count == 1)
            #expect(reset.last?["type"] == .string("SyncCompleteV1"))

            // DELETE /sync/ack forgets the named types only.
            #expect(try await c.send(.post, "/api/sync/ack", json: Self.ackBody(Self.lastAcks(reset)), headers: Self.bearer(s1)).head.status == .noContent)
            #expect(try await c.send(.delete, "/api/sync/ack", json: #"{"types":["AssetExifV1"]}"#, headers: Self.bearer(s1)).head.status == .noContent)
            let exifOnly = Self.lines(try await Self.stream(c, s1))
            #expect(Self.of(exifOnly, "AssetExifV1").count == count - 1 && Self.of(exifOnly, "AssetV2").isEmpty)
            #expect(try await c.execute(uri: "/api/sync/ack", method: .delete, headers: Self.bearer(s1)).head.status == .noContent)
            #expect(try await c.get("/api/sync/ack", headers: Self.bearer(s1)).json == .array([]))
            print("SyncStreamTests: \(count) assets — full stream \(elapsed) (\(lines.count) lines, \(first.body.readableBytes) bytes), "
                  + "delta stream \(deltaElapsed)")
        }
    }

    @Test func refusedRequests() async throws {
        let f = try APIFixture(photos: 1, label: "sync-bad")
        let token = try Self.session(f)
        let person = try #require(try f.node.catalog.people().first)
        let key = try f.api.access.createAPIKey(library: f.node.libraryID, person: person.id, name: "ha", now: 1_700_000_000_000).secret
        try await f.test { c in
            let keyed = try await c.send(.post, "/api/sync/stream", json: #"{"types":["AssetsV2"]}"#, headers: [.init("x-api-key")!: key])
            expectImmichError(keyed, 403, "Sync endpoints cannot be used with API keys")
            expectImmichError(try await c.send(.post, "/api/sync/stream?apiKey=\(key)", json: #"{"types":["AssetsV2"]}"#), 403, "API keys")
            expectImmichError(try await c.get("/api/sync/ack", headers: [.init("x-api-key")!: key]), 403, "API keys")
            expectImmichError(try await c.get("/api/sync/ack", headers: [.init("x-api-key")!: "not-a-key"]), 401, "Invalid API key")
            expectImmichError(try await Self.stream(c, "no-such-session"), 401, "Invalid user token")
            expectImmichError(try await Self.stream(c, token, types: #"["AssetsV2","PhotosV9"]"#), 400, "types")
            expectImmichError(try await Self.stream(c, token, types: #""AssetsV2""#), 400, "types must be an array")
            expectImmichError(try await c.send(.post, "/api/sync/stream", json: #"{"types":["AssetsV2"],"reset":"yes"}"#, headers: Self.bearer(token)), 400, "reset")
            expectImmichError(try await c.send(.post, "/api/sync/stream", json: "{not json", headers: Self.bearer(token)), 400)
            expectImmichError(try await c.send(.post, "/api/sync/ack", json: Self.ackBody(["PhotoV9|0190a0a0-0000-7000-8000-000000000000"]), headers: Self.bearer(token)), 400, "Invalid ack type")
            expectImmichError(try await c.send(.post, "/api/sync/ack", json: Self.ackBody(["AssetV2|not-a-uuid"]), headers: Self.bearer(token)), 400, "Invalid ack")
            expectImmichError(try await c.send(.post, "/api/sync/ack", json: Self.ackBody(["AssetV2"]), headers: Self.bearer(token)), 400, "Invalid ack")
            expectImmichError(try await c.send(.post, "/api/sync/ack", json: #"{"acks":[1]}"#, headers: Self.bearer(token)), 400, "acks")
            expectImmichError(try await c.send(.delete, "/api/sync/ack", json: #"{"types":["AssetsV2"]}"#, headers: Self.bearer(token)), 400, "types")
            // Nothing refused was stored.
            #expect(try await c.get("/api/sync/ack", headers: Self.bearer(token)).json == .array([]))
            // Every other type 3.3.5 accepts is accepted and emits nothing; the cookie carries a session too.
            let others = #"["PartnersV1","StacksV1","MemoriesV1","PeopleV1","AssetFacesV2","UserMetadataV1","AssetMetadataV1","AssetEditsV1","AssetOcrV1","AlbumAssetsV2"]"#
            let r = try await c.send(.post, "/api/sync/stream", json: #"{"types":\#(others)}"#, headers: [.cookie: "a=b; immich_access_token=\(token)"])
            #expect(r.head.status == .ok)
            #expect(Self.lines(r).map { $0["type"] } == [.string("SyncCompleteV1")])
        }
        // No credential at all.
        try await f.test(headers: [:]) { c in
            expectImmichError(try await c.send(.post, "/api/sync/stream", json: #"{"types":["AssetsV2"]}"#), 401)
        }
    }

    @Test func updateIDsAreUUIDv7ShapedAndRoundTrip() {
        for seq: Int64 in [0, 1, 255, 256, 1_000_000, (1 << 48) - 1] {
            let s = SyncUpdateID.string(seq)
            #expect(SyncUpdateID.parse(s) == seq)
            #expect(Array(s)[14] == "7", "version 7: \(s)")
        }
        #expect(SyncUpdateID.string(2) < SyncUpdateID.string(10) && SyncUpdateID.string(255) < SyncUpdateID.string(256))
        #expect(SyncUpdateID.parse("0190a0a0-1234-7abc-8def-0123456789ab") == nil, "an updateId another server wrote")
    }

    /// Every line of a stream of every type (V1 and V2, videos, trashed, archived, purged, albums)
    /// validates as immichpy's model of its type (Tests/immich/check_sync_lines.py).
    @Test(.enabled(if: ImmichVenv.python != nil, ImmichVenv.skipMessage)) func everyLineValidatesAgainstImmichModels() async throws {
        let python = try #require(ImmichVenv.python)
        let f = try APIFixture(photos: 2, label: "sync-models")
        try Self.generate(f, count: 40, video: 7)
        let all = try f.assets(.all)
        try f.node.commit([.trash(all[3].id), .setField(all[4].id, .archived, .bool(true)), .trash(all[5].id),
                           .setField(all[6].id, .rating, .int(4)), .setField(all[6].id, .description, .text("a \"quoted\" note\n"))])
        try f.node.commit([.purge(all[5].id)])
        let dir = f.dir.appendingPathComponent("streams")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let files: [String] = try await f.test { c in
            var files: [String] = []
            let made = try await c.send(.post, "/api/albums", json: #"{"albumName":"Models","description":"d","assetIds":["\#(f.uuid(all[0]))","\#(f.uuid(all[1]))"]}"#)
            let album = try #require(made.json?["id"]?.stringValue)
            let gone = try #require(try await c.send(.post, "/api/albums", json: #"{"albumName":"Gone"}"#).json?["id"]?.stringValue)
            #expect(try await c.execute(uri: "/api/albums/\(gone)", method: .delete).head.status == .noContent)
            _ = try await c.send(.delete, "/api/albums/\(album)/assets", json: #"{"ids":["\#(f.uuid(all[1]))"]}"#)
            let allTypes = "[" + SyncNames.requestOrder.map { "\"\($0)\"" }.joined(separator: ",") + "]"
            for (name, types, reset) in [("all", allTypes, true), ("v1", #"["AuthUsersV1","UsersV1","AssetsV1","AlbumsV1","AlbumUsersV1","AlbumToAssetsV1","AssetExifsV1"]"#, false),
                                         ("v2", #"["AuthUsersV2","AssetsV2","AlbumsV2"]"#, false)] {
                let r = try await Self.stream(c, try Self.session(f), types: types, reset: reset)
                #expect(r.head.status == .ok)
                let path = dir.appendingPathComponent("\(name).jsonl").path
                try Data(r.body.readableBytesView).write(to: URL(fileURLWithPath: path))
                files.append(path)
            }
            return files
        }
        let out = try ImmichVenv.run(python, [ImmichVenv.checker] + files)
        #expect(out.status == 0, "check_sync_lines.py: \(out.err)")
        print("SyncStreamTests immichpy: \(out.out.trimmingCharacters(in: .whitespacesAndNewlines))")
    }
}

/// The Python venv with immichpy 9.2.4 (`make immich-deps` makes it at .cache/immich-venv;
/// `IMMICH_VENV` names another).
enum ImmichVenv {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let checker = root.appendingPathComponent("Tests/immich/check_sync_lines.py").path
    static let python: String? = {
        let venv = ProcessInfo.processInfo.environment["IMMICH_VENV"] ?? root.appendingPathComponent(".cache/immich-venv").path
        let p = venv + "/bin/python"
        return FileManager.default.isExecutableFile(atPath: p) ? p : nil
    }()
    static let skipMessage: Comment = "needs immichpy 9.2.4 in .cache/immich-venv (make immich-deps) or IMMICH_VENV; skipped"

    static func run(_ exe: String, _ args: [String]) throws -> (status: Int32, out: String, err: String) {
        let r = try ServeEndToEndTests.run(exe, args)
        return (r.status, String(decoding: r.out, as: UTF8.self), r.err)
    }
}
