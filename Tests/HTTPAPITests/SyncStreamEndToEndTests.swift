import Foundation
import HearthCrypto
import Node
import Testing

/// The issue's curl test, through the real `hearth serve`: a fresh session's stream holds every
/// asset once; after its acks the next stream holds only what changed since. With immichpy at
/// hand every line of the streams is checked against Immich's models.
@Suite struct SyncStreamEndToEndTests {
    typealias E2E = ServeEndToEndTests

    /// A running `hearth serve` over a library of `photos` imported sample photos.
    final class Served {
        let dir: URL
        let serve = Process()
        let port: Int
        let photos: [String]
        /// A session of the library's person, made as a login would make it.
        let token: String

        init(photos count: Int, label: String) async throws {
            let hearth = try #require(E2E.hearth).path
            dir = FileManager.default.temporaryDirectory.appendingPathComponent("hearth-sync-\(label)-\(UUID().uuidString.prefix(8))")
            let home = dir.appendingPathComponent("home").path
            photos = try SamplePhotos.write(to: dir.appendingPathComponent("photos").path, count: count, width: 320, height: 240, seed: 51)
            #expect(try E2E.run(hearth, ["--home", home, "init", "--name", "nas"]).status == 0)
            let imp = try E2E.run(hearth, ["--home", home, "import", dir.appendingPathComponent("photos").path])
            #expect(imp.status == 0, "\(imp.err)")
            do {
                let node = try HearthNode.open(home: Home(path: home))
                let p = try node.addPerson(email: "ann@example.com", name: "Ann", password: nil, isAdmin: true)
                token = try AccessStore.open(home: node.home).createSession(library: node.libraryID, person: p.id,
                                                                            now: Int64(Date().timeIntervalSince1970 * 1000)).token
            }
            let portFile = dir.appendingPathComponent("http.port").path
            serve.executableURL = URL(fileURLWithPath: hearth)
            serve.arguments = ["--home", home, "serve", "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0", "--http-port-file", portFile]
            serve.standardError = FileHandle.nullDevice
            serve.standardOutput = FileHandle.nullDevice
            try serve.run()
            var port: Int?
            for _ in 0..<300 where port == nil && serve.isRunning {
                if let s = try? String(contentsOfFile: portFile, encoding: .utf8) { port = Int(s.trimmingCharacters(in: .whitespacesAndNewlines)) }
                if port == nil { try await Task.sleep(for: .milliseconds(100)) }
            }
            self.port = try #require(port, "the HTTP port file appears")
        }

        deinit {
            if serve.isRunning { serve.terminate(); serve.waitUntilExit() }
            try? FileManager.default.removeItem(at: dir)
        }

        /// curl with a session token; the body as text (status checked with -f).
        func curl(_ method: String, _ path: String, json: String? = nil, file: String? = nil) throws -> String {
            var args = ["-s", "-S", "-f", "--max-time", "30", "-X", method, "-H", "Authorization: Bearer \(token)"]
            if let json { args += ["-H", "Content-Type: application/json", "--data-binary", json] }
            if let file { args += ["-o", file] }
            let r = try E2E.run(try #require(E2E.curl), args + ["http://127.0.0.1:\(port)\(path)"])
            #expect(r.status == 0, "curl \(method) \(path): \(r.err)")
            return String(decoding: r.out, as: UTF8.self)
        }

        func stream(_ types: String, file: String? = nil) throws -> [[String: Any]] {
            let text = try curl("POST", "/api/sync/stream", json: #"{"types":\#(types)}"#, file: file)
            let body = file.map { (try? String(contentsOfFile: $0, encoding: .utf8)) ?? "" } ?? text
            return body.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        }
    }

    static func of(_ lines: [[String: Any]], _ type: String) -> [[String: Any]] { lines.filter { $0["type"] as? String == type } }

    static func acks(_ lines: [[String: Any]]) -> String {
        var last: [String: String] = [:]
        for l in lines { if let t = l["type"] as? String, let a = l["ack"] as? String { last[t] = a } }
        return #"{"acks":[\#(last.values.sorted().map { "\"\($0)\"" }.joined(separator: ","))]}"#
    }

    static let types = #"["AuthUsersV1","UsersV1","AssetsV2","AlbumsV2","AlbumUsersV1","AlbumToAssetsV1","AssetExifsV1"]"#

    @Test(.enabled(if: E2E.hearth != nil && E2E.curl != nil, "needs the built hearth binary and curl"), .timeLimit(.minutes(3)))
    func curlStreamAckAndStreamAgain() async throws {
        let s = try await Served(photos: 3, label: "curl")
        let first = try s.stream(Self.types)
        let ids = Self.of(first, "AssetV2").compactMap { ($0["data"] as? [String: Any])?["id"] as? String }
        #expect(ids.count == 3 && Set(ids).count == 3, "a fresh session receives every asset once: \(ids)")
        #expect(first.last?["type"] as? String == "SyncCompleteV1")
        #expect(try s.curl("POST", "/api/sync/ack", json: Self.acks(first)).isEmpty)

        let again = try s.stream(Self.types)
        #expect(again.map { $0["type"] as? String } == ["SyncCompleteV1"], "nothing changed since the acks")

        _ = try s.curl("PUT", "/api/assets/\(ids[1])", json: #"{"isFavorite":true}"#)
        let changed = try s.stream(Self.types)
        let upserts = Self.of(changed, "AssetV2")
        #expect(upserts.count == 1 && (upserts.first?["data"] as? [String: Any])?["id"] as? String == ids[1], "only the edited asset: \(changed)")
        #expect(((upserts.first?["data"] as? [String: Any])?["isFavorite"] as? Bool) == true)
        #expect(Self.of(changed, "AssetExifV1").count == 1 && changed.last?["type"] as? String == "SyncCompleteV1")
    }

    @Test(.enabled(if: E2E.hearth != nil && E2E.curl != nil && ImmichVenv.python != nil,
                   "needs the built hearth binary, curl and immichpy 9.2.4 in .cache/immich-venv (make immich-deps); skipped"),
          .timeLimit(.minutes(3)))
    func servedLinesValidateAgainstImmichModels() async throws {
        let python = try #require(ImmichVenv.python)
        let s = try await Served(photos: 3, label: "models")
        let first = try s.stream(Self.types)
        let ids = Self.of(first, "AssetV2").compactMap { ($0["data"] as? [String: Any])?["id"] as? String }
        try #require(ids.count == 3)
        _ = try s.curl("POST", "/api/albums", json: #"{"albumName":"Served","assetIds":["\#(ids[0])","\#(ids[1])"]}"#)
        _ = try s.curl("DELETE", "/api/assets", json: #"{"ids":["\#(ids[2])"]}"#)
        let all = "[" + ["AuthUsersV1", "AuthUsersV2", "UsersV1", "AssetsV1", "AssetsV2", "AlbumsV1", "AlbumsV2", "AlbumUsersV1",
                         "AlbumToAssetsV1", "AssetExifsV1", "PeopleV1", "MemoriesV1"].map { "\"\($0)\"" }.joined(separator: ",") + "]"
        let file = s.dir.appendingPathComponent("stream.jsonl").path
        let lines = try s.stream(all, file: file)
        #expect(lines.count > 10)
        let out = try ImmichVenv.run(python, [ImmichVenv.checker, file])
        #expect(out.status == 0, "check_sync_lines.py: \(out.err)")
        print("SyncStreamEndToEndTests immichpy: \(out.out.trimmingCharacters(in: .whitespacesAndNewlines))")
    }
}
