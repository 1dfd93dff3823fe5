import Foundation
import HTTPAPI
import Hummingbird
import HummingbirdTesting
import Presentation
import Testing

/// Every JSON body this server answers, parsed by the pydantic models of `immichpy` 9.2.4 (the
/// typed client generated from Immich 3.3.5's OpenAPI document): strict types, required fields,
/// UUID and email patterns, as a real client checks them.
///
/// The wheel comes from PyPI (`pip download`, pinned) into .cache/pypi; the test is skipped, with
/// this reason, when PyPI cannot be reached or Python has no pydantic 2.
@Suite struct ImmichModelTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let version = "9.2.4"

    static func sh(_ args: [String], timeout: TimeInterval = 120) -> (Int32, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["timeout", String(Int(timeout))] + args
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        do { try p.run() } catch { return (-1, "\(error)") }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// The unpacked immichpy package, or nil when it cannot be had here.
    static let models: URL? = {
        guard sh(["python3", "-c", "import pydantic, sys; sys.exit(0 if pydantic.VERSION.startswith('2') else 1)"]).0 == 0 else { return nil }
        let dir = root.appendingPathComponent(".cache/pypi/immichpy-\(version)")
        let marker = dir.appendingPathComponent("immichpy/client/generated/models/asset_response_dto.py")
        if FileManager.default.fileExists(atPath: marker.path) { return dir }
        let wheels = root.appendingPathComponent(".cache/pypi/wheels").path
        guard sh(["python3", "-m", "pip", "download", "-q", "--no-deps", "-d", wheels, "immichpy==\(version)"]).0 == 0 else { return nil }
        let wheel = wheels + "/immichpy-\(version)-py3-none-any.whl"
        guard sh(["python3", "-c", "import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])", wheel, dir.path]).0 == 0,
              FileManager.default.fileExists(atPath: marker.path) else { return nil }
        return dir
    }()

    @Test(.enabled(if: models != nil, "immichpy \(version) could not be fetched from PyPI, or python3 has no pydantic 2"))
    func everyBodyParsesWithImmichsModels() async throws {
        let models = try #require(Self.models)
        let f = try APIFixture(photos: 3, label: "models")
        let all = try f.assets()
        try f.node.commit([.addTag(all[0].id, "Places/Lake")])
        let a = f.uuid(all[0])
        // (model, how the body is read: one object or a list of them, the body)
        let bodies: [(String, String, String)] = try await f.test { c in
            var out: [(String, String, String)] = []
            func one(_ model: String, _ r: TestResponse) { out.append((model, "one", r.text)) }
            func list(_ model: String, _ r: TestResponse) { out.append((model, "list", r.text)) }
            one("ServerPingResponse", try await c.get("/api/server/ping"))
            one("ServerVersionResponseDto", try await c.get("/api/server/version"))
            one("ServerAboutResponseDto", try await c.get("/api/server/about"))
            one("ServerFeaturesDto", try await c.get("/api/server/features"))
            one("ServerConfigDto", try await c.get("/api/server/config"))
            one("ServerStatsResponseDto", try await c.get("/api/server/statistics"))
            one("ServerStorageResponseDto", try await c.get("/api/server/storage"))
            one("ServerMediaTypesResponseDto", try await c.get("/api/server/media-types"))
            list("ServerVersionHistoryResponseDto", try await c.get("/api/server/version-history"))
            one("AssetResponseDto", try await c.get("/api/assets/\(a)"))
            one("AssetResponseDto", try await c.send(.put, "/api/assets/\(a)", json: #"{"isFavorite":true,"rating":2,"description":"x"}"#))
            one("AssetStatsResponseDto", try await c.get("/api/assets/statistics"))
            let made = try await c.send(.post, "/api/albums", json: #"{"albumName":"Lake","assetIds":["\#(a)"]}"#)
            one("AlbumResponseDto", made)
            let album = made.json?["id"]?.stringValue ?? ""
            list("AlbumResponseDto", try await c.get("/api/albums"))
            one("AlbumResponseDto", try await c.get("/api/albums/\(album)"))
            one("AlbumResponseDto", try await c.send(.patch, "/api/albums/\(album)", json: #"{"description":"summer"}"#))
            list("BulkIdResponseDto", try await c.send(.put, "/api/albums/\(album)/assets",
                                                       json: #"{"ids":["\#(f.uuid(all[1]))","\#(a)","00000000-0000-4000-8000-000000000000"]}"#))
            list("TagResponseDto", try await c.get("/api/tags"))
            list("MapMarkerResponseDto", try await c.get("/api/map/markers"))
            one("PeopleResponseDto", try await c.get("/api/people"))
            one("TrashResponseDto", try await c.execute(uri: "/api/trash/restore", method: .post))
            one("UserAdminResponseDto", try await c.get("/api/users/me"))
            one("UserPreferencesResponseDto", try await c.get("/api/users/me/preferences"))
            list("UserResponseDto", try await c.get("/api/users"))
            one("ValidateAccessTokenResponseDto", try await c.send(.post, "/api/auth/validateToken", json: "{}"))
            let key = try await c.send(.post, "/api/api-keys", json: #"{"name":"cli","permissions":["all"]}"#)
            one("ApiKeyCreateResponseDto", key)
            list("ApiKeyResponseDto", try await c.get("/api/api-keys"))
            one("LoginResponseDto", try await c.send(.post, "/api/auth/login", json: #"{"email":"ann@example.com","password":"correct horse battery"}"#))
            one("LogoutResponseDto", try await c.send(.post, "/api/auth/logout", json: "{}"))
            return out
        }
        let data = try JSONSerialization.data(withJSONObject: bodies.map { [$0.0, $0.1, $0.2] })
        let input = f.dir.appendingPathComponent("bodies.json")
        try data.write(to: input)
        let script = """
        import json, sys
        sys.path.insert(0, sys.argv[1])
        import immichpy.client.generated.models as M
        bad = 0
        for model, kind, body in json.load(open(sys.argv[2])):
            cls = getattr(M, model)
            try:
                if kind == 'one': cls.from_json(body)
                else:
                    items = json.loads(body)
                    assert isinstance(items, list) and items, 'expected a non-empty list: ' + body[:200]
                    for x in items: cls.from_dict(x)
            except Exception as e:
                bad += 1
                print('%s: %s\\n  %s' % (model, str(e)[:600], body[:300]))
        print('%d bodies, %d rejected' % (len(json.load(open(sys.argv[2]))), bad))
        sys.exit(1 if bad else 0)
        """
        let (status, out) = Self.sh(["python3", "-c", script, models.path, input.path])
        #expect(status == 0, "immichpy's models reject bodies:\n\(out)")
    }
}
