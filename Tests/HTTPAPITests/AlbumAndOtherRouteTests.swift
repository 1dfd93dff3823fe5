import Catalog
import Foundation
import HTTPAPI
import Hummingbird
import HummingbirdTesting
import Presentation
import Testing

@Suite struct AlbumRouteTests {
    @Test func albumLifecycle() async throws {
        let f = try APIFixture(photos: 3, label: "album")
        let all = try f.assets()
        try await f.test { c in
            let made = try await c.send(.post, "/api/albums", json: #"{"albumName":"Lake","description":"Summer","assetIds":["\#(f.uuid(all[0]))"]}"#)
            #expect(made.head.status == .created, "\(made.text)")
            let album = try #require(made.json)
            let id = try #require(album["id"]?.stringValue)
            #expect(album["albumName"] == .string("Lake") && album["description"] == .string("Summer"))
            #expect(album["assetCount"] == .int(1))
            #expect(album["albumUsers"]?.arrayValue?.first?["role"] == .string("owner"), "an owner row, which Immich clients need")
            #expect(try await c.get("/api/albums").json?.arrayValue?.count == 1)
            #expect(try await c.get("/api/albums?assetId=\(f.uuid(all[0]))").json?.arrayValue?.count == 1)
            #expect(try await c.get("/api/albums?assetId=\(f.uuid(all[1]))").json?.arrayValue?.count == 0)
            #expect(try await c.get("/api/albums/\(id)").json?["albumName"] == .string("Lake"))

            let add = try await c.send(.put, "/api/albums/\(id)/assets",
                                       json: #"{"ids":["\#(f.uuid(all[0]))","\#(f.uuid(all[1]))","00000000-0000-4000-8000-000000000000"]}"#)
            let results = try #require(add.json?.arrayValue)
            #expect(results.map { $0["success"] } == [.bool(false), .bool(true), .bool(false)])
            #expect(results.map { $0["error"] } == [.string("duplicate"), nil, .string("not_found")])
            #expect(try await c.get("/api/albums/\(id)").json?["assetCount"] == .int(2))

            let patched = try await c.send(.patch, "/api/albums/\(id)", json: #"{"albumName":"Lake 2021","albumThumbnailAssetId":"\#(f.uuid(all[1]))"}"#)
            #expect(patched.json?["albumName"] == .string("Lake 2021"))
            #expect(patched.json?["albumThumbnailAssetId"] == .string(f.uuid(all[1])))
            expectImmichError(try await c.send(.patch, "/api/albums/\(id)", json: #"{"albumName":""}"#), 400, "albumName")
            expectImmichError(try await c.send(.patch, "/api/albums/\(id)", json: #"{"order":"sideways"}"#), 400, "order")

            let removed = try await c.send(.delete, "/api/albums/\(id)/assets", json: #"{"ids":["\#(f.uuid(all[0]))","\#(f.uuid(all[2]))"]}"#)
            #expect(removed.json?.arrayValue?.map { $0["success"] } == [.bool(true), .bool(false)])
            #expect(try await c.get("/api/albums/\(id)").json?["assetCount"] == .int(1))

            expectImmichError(try await c.send(.post, "/api/albums", json: #"{"albumName":7}"#), 400, "albumName")
            expectImmichError(try await c.send(.post, "/api/albums", json: #"{}"#), 400, "albumName")
            expectImmichError(try await c.send(.post, "/api/albums", json: #"{"albumName":"x","assetIds":["00000000-0000-4000-8000-000000000000"]}"#), 404)
            expectImmichError(try await c.get("/api/albums/not-an-id"), 400)
            expectImmichError(try await c.get("/api/albums/00000000-0000-4000-8000-000000000000"), 404)
            expectImmichError(try await c.send(.put, "/api/albums/\(id)/assets", json: #"{"ids":{}}"#), 400)

            let del = try await c.execute(uri: "/api/albums/\(id)", method: .delete)
            #expect(del.head.status == .noContent)
            expectImmichError(try await c.get("/api/albums/\(id)"), 404)
        }
        #expect(try f.node.catalog.albums().isEmpty)
        #expect(try f.assets().count == 3, "deleting an album keeps its assets")
    }
}

@Suite struct OtherRouteTests {
    @Test func tagsTrashMapAndFeaturesThatAreOff() async throws {
        let f = try APIFixture(photos: 3, label: "other")
        let all = try f.assets()
        try f.node.commit([.addTag(all[0].id, "Places/Lake")])
        try await f.test { c in
            let tags = try #require(try await c.get("/api/tags").json?.arrayValue)
            #expect(tags.count == 1 && tags[0]["value"] == .string("Places/Lake") && tags[0]["name"] == .string("Lake"))
            let tagID = try #require(tags[0]["id"]?.stringValue)
            let tagged = try await c.send(.put, "/api/tags/\(tagID)/assets", json: #"{"ids":["\#(f.uuid(all[0]))","\#(f.uuid(all[1]))"]}"#)
            #expect(tagged.json?.arrayValue?.map { $0["success"] } == [.bool(false), .bool(true)])
            expectImmichError(try await c.send(.put, "/api/tags/00000000-0000-4000-8000-000000000000/assets", json: #"{"ids":[]}"#), 404)
            #expect(try await c.get("/api/assets/\(f.uuid(all[1]))").json?["tags"]?.arrayValue?.count == 1)

            _ = try await c.send(.delete, "/api/assets", json: #"{"ids":["\#(f.uuid(all[0]))","\#(f.uuid(all[1]))","\#(f.uuid(all[2]))"]}"#)
            let one = try await c.send(.post, "/api/trash/restore/assets", json: #"{"ids":["\#(f.uuid(all[0]))"]}"#)
            #expect(one.json == .object([("count", .int(1))]))
            expectImmichError(try await c.send(.post, "/api/trash/restore/assets", json: #"{"ids":"x"}"#), 400)
            let rest = try await c.execute(uri: "/api/trash/restore", method: .post)
            #expect(rest.json == .object([("count", .int(2))]))
            _ = try await c.send(.delete, "/api/assets", json: #"{"ids":["\#(f.uuid(all[2]))"]}"#)
            let emptied = try await c.execute(uri: "/api/trash/empty", method: .post)
            #expect(emptied.json == .object([("count", .int(1))]))

            let markers = try #require(try await c.get("/api/map/markers").json?.arrayValue)
            let located = try f.assets().filter { $0.latitude != nil }
            #expect(markers.count == located.count)
            for m in markers { #expect(m["lat"] != nil && m["lon"] != nil && m["id"]?.stringValue?.count == 36) }
            expectImmichError(try await c.get("/api/map/markers?isFavorite=perhaps"), 400)

            for path in ["/api/partners", "/api/shared-links", "/api/memories", "/api/stacks", "/api/duplicates"] {
                #expect(try await c.get(path).json == .array([]), "\(path)")
            }
            #expect(try await c.get("/api/people").json?["people"] == .array([]))
        }
        #expect(try f.node.catalog.asset(all[2].id)?.purged == true)
        #expect(try f.assets().count == 2)
    }
}

@Suite struct AlbumIDTests {
    /// An album made by the CLI (16 random bytes, any version bits) is reachable by its UUID too.
    @Test func anAlbumMadeElsewhereIsFoundByItsUUID() async throws {
        let f = try APIFixture(photos: 1, label: "albumid")
        let raw = AlbumID(bytes: [UInt8](repeating: 0xFF, count: 16))!
        try f.node.commit([.createAlbum(raw, name: "From the CLI")])
        try await f.test { c in
            let listed = try #require(try await c.get("/api/albums").json?.arrayValue?.first)
            let id = try #require(listed["id"]?.stringValue)
            #expect(id == "ffffffff-ffff-4fff-bfff-ffffffffffff")
            #expect(try await c.get("/api/albums/\(id)").json?["albumName"] == .string("From the CLI"))
            #expect(try await c.get("/api/albums/\(id.uppercased())").head.status == .ok)
        }
    }
}
