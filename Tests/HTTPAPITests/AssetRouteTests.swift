import Catalog
import Foundation
import HTTPAPI
import Node
import Hummingbird
import HummingbirdTesting
import Presentation
import Testing

@Suite struct AssetRouteTests {
    @Test func getAssetHasImmichFields() async throws {
        let f = try APIFixture(photos: 2, label: "get")
        let a = try f.assets()[0]
        try await f.test { c in
            let r = try await c.get("/api/assets/\(f.uuid(a))")
            #expect(r.head.status == .ok)
            let j = try #require(r.json)
            #expect(j["id"] == .string(f.uuid(a)))
            #expect(j["originalFileName"] == .string(a.fileName))
            #expect(j["type"] == .string("IMAGE"))
            #expect(j["originalMimeType"] == .string("image/jpeg"))
            #expect(j["visibility"] == .string("timeline"))
            #expect(j["isFavorite"] == .bool(false) && j["isTrashed"] == .bool(false) && j["isArchived"] == .bool(false))
            #expect(j["width"] == .int(a.width ?? -1))
            for key in ["ownerId", "checksum", "fileCreatedAt", "fileModifiedAt", "localDateTime", "createdAt", "updatedAt",
                        "isOffline", "isEdited", "hasMetadata", "duration", "thumbhash", "exifInfo"] {
                #expect(j[key] != nil, "\(key) is present")
            }
            #expect(j["exifInfo"]?["make"] == .optional(a.make))
            #expect(j["exifInfo"]?["fileSizeInByte"] == .int(Int64(a.original.size)))
            // localDateTime is the camera's wall clock; fileCreatedAt the instant.
            let t = try #require(a.takenAt)
            #expect(j["localDateTime"]?.stringValue?.hasPrefix(String(HearthNode.iso8601(TakenAt(localSeconds: t.localSeconds)).prefix(19))) == true)
        }
    }

    @Test func badAndUnknownIds() async throws {
        let f = try APIFixture(photos: 1, label: "ids")
        try await f.test { c in
            expectImmichError(try await c.get("/api/assets/not-a-uuid"), 400, "id must be a UUID")
            expectImmichError(try await c.get("/api/assets/00000000-0000-4000-8000-000000000000"), 404, "not found")
            expectImmichError(try await c.send(.put, "/api/assets/00000000-0000-4000-8000-000000000000", json: #"{"isFavorite":true}"#), 404)
            expectImmichError(try await c.get("/api/assets/00000000-0000-4000-8000-000000000000/original"), 404)
        }
    }

    @Test func updateOneAssetCommitsEveryField() async throws {
        let f = try APIFixture(photos: 1, label: "put")
        let a = try f.assets()[0]
        let before = try f.node.catalog.counts().batches
        try await f.test { c in
            let body = #"{"isFavorite":true,"visibility":"archive","description":"At the lake","rating":4,"#
                + #""dateTimeOriginal":"2021-06-05T14:30:00.000+02:00","latitude":46.5,"longitude":6.6}"#
            let r = try await c.send(.put, "/api/assets/\(f.uuid(a))", json: body)
            #expect(r.head.status == .ok, "\(r.text)")
            #expect(r.json?["isFavorite"] == .bool(true))
            #expect(r.json?["visibility"] == .string("archive"))
            #expect(r.json?["exifInfo"]?["description"] == .string("At the lake"))
            #expect(r.json?["exifInfo"]?["timeZone"] == .string("UTC+2"))
        }
        let b = try #require(try f.node.catalog.asset(a.id))
        #expect(b.favorite && b.archived && b.description == "At the lake" && b.rating == 4)
        #expect(b.takenAt == TakenAt(localSeconds: AssetView.parseDate("2021-06-05T14:30:00", endOfDay: false)!, utcOffsetMinutes: 120))
        #expect(b.latitude == 46.5 && b.longitude == 6.6)
        #expect(try f.node.catalog.counts().batches == before + 1, "one signed batch, which sync carries")
        try await f.test { c in
            let r = try await c.send(.put, "/api/assets/\(f.uuid(a))", json: #"{"visibility":"timeline","description":null}"#)
            #expect(r.json?["visibility"] == .string("timeline"))
        }
        let c2 = try #require(try f.node.catalog.asset(a.id))
        #expect(!c2.archived && c2.description == nil)
    }

    @Test func badBodiesLeaveTheAssetAsItWas() async throws {
        let f = try APIFixture(photos: 1, label: "badput")
        let a = try f.assets()[0]
        let digest = try f.node.catalog.digest()
        let uri = "/api/assets/\(f.uuid(a))"
        try await f.test { c in
            expectImmichError(try await c.send(.put, uri, json: "{not json"), 400, "not valid JSON")
            expectImmichError(try await c.send(.put, uri, json: "[1,2]"), 400, "JSON object")
            expectImmichError(try await c.send(.put, uri, json: ""), 400)
            expectImmichError(try await c.send(.put, uri, json: #"{"isFavorite":"yes"}"#), 400, "isFavorite must be a boolean")
            expectImmichError(try await c.send(.put, uri, json: #"{"rating":9}"#), 400, "rating")
            expectImmichError(try await c.send(.put, uri, json: #"{"rating":"4"}"#), 400, "rating")
            expectImmichError(try await c.send(.put, uri, json: #"{"visibility":"everywhere"}"#), 400, "visibility")
            expectImmichError(try await c.send(.put, uri, json: #"{"visibility":"locked"}"#), 400, "not supported")
            expectImmichError(try await c.send(.put, uri, json: #"{"latitude":95,"longitude":1}"#), 400, "latitude")
            expectImmichError(try await c.send(.put, uri, json: #"{"latitude":45}"#), 400, "together")
            expectImmichError(try await c.send(.put, uri, json: #"{"dateTimeOriginal":"yesterday"}"#), 400, "dateTimeOriginal")
            expectImmichError(try await c.send(.put, uri, json: #"{"description":5}"#), 400, "description must be a string")
            // A valid field beside a bad one: nothing is applied.
            expectImmichError(try await c.send(.put, uri, json: #"{"isFavorite":true,"rating":77}"#), 400)
            // Deep nesting within the size limit: an error, never a crash.
            expectImmichError(try await c.send(.put, uri, json: String(repeating: "[", count: 60_000)), 400)
            expectImmichError(try await c.send(.put, uri, json: "{\"a\":" + String(repeating: "[", count: 20_000) + String(repeating: "]", count: 20_000) + "}"), 400)
            expectImmichError(try await c.send(.put, "/api/assets", json: "{\"ids\":" + String(repeating: "[", count: 200_000)), 400)
            let big = "{\"description\":\"" + String(repeating: "x", count: 70_000) + "\"}"
            expectImmichError(try await c.send(.put, uri, json: big), 413)
            expectImmichError(try await c.send(.put, uri, json: #"{"isFavorite":true}"#, headers: [.contentType: "application/xml"]), 415)
        }
        #expect(try f.node.catalog.digest() == digest, "the library is as it was")
    }

    @Test func bulkUpdateTrashAndPurge() async throws {
        let f = try APIFixture(photos: 3, label: "bulk")
        let all = try f.assets()
        let ids = all.map { "\"\(f.uuid($0))\"" }.joined(separator: ",")
        try await f.test { c in
            let r = try await c.send(.put, "/api/assets", json: #"{"ids":[\#(ids)],"isFavorite":true,"rating":3}"#)
            #expect(r.head.status == .noContent, "\(r.text)")
            expectImmichError(try await c.send(.put, "/api/assets", json: #"{"ids":"all"}"#), 400, "ids must be an array")
            expectImmichError(try await c.send(.put, "/api/assets", json: #"{"ids":["nope"]}"#), 400, "UUID")
            expectImmichError(try await c.send(.put, "/api/assets", json: #"{"isFavorite":true}"#), 400, "ids")
            expectImmichError(try await c.send(.put, "/api/assets", json: #"{"ids":["00000000-0000-4000-8000-000000000000"],"isFavorite":true}"#), 404)
        }
        #expect(try f.assets().allSatisfy { $0.favorite && $0.rating == 3 })
        try await f.test { c in
            let stats = try await c.get("/api/assets/statistics").json
            #expect(stats?["images"] == .int(3) && stats?["videos"] == .int(0) && stats?["total"] == .int(3))
            let r = try await c.send(.delete, "/api/assets", json: #"{"ids":["\#(f.uuid(all[0]))","\#(f.uuid(all[1]))"]}"#)
            #expect(r.head.status == .noContent, "\(r.text)")
            #expect(try await c.get("/api/assets/statistics?isTrashed=true").json?["total"] == .int(2))
            #expect(try await c.get("/api/assets/\(f.uuid(all[0]))").json?["isTrashed"] == .bool(true))
            let p = try await c.send(.delete, "/api/assets", json: #"{"ids":["\#(f.uuid(all[0]))"],"force":true}"#)
            #expect(p.head.status == .noContent, "\(p.text)")
            expectImmichError(try await c.get("/api/assets/\(f.uuid(all[0]))"), 404)
            let q = try await c.send(.delete, "/api/assets", json: #"{"ids":["\#(f.uuid(all[2]))"],"force":true}"#)
            #expect(q.head.status == .noContent, "force purges an asset not yet trashed too")
            expectImmichError(try await c.send(.delete, "/api/assets", json: #"{"ids":[],"force":"yes"}"#), 400, "force")
            expectImmichError(try await c.get("/api/assets/statistics?isFavorite=maybe"), 400)
        }
        #expect(try f.node.catalog.asset(all[0].id)?.purged == true)
        #expect(try f.node.catalog.asset(all[2].id)?.purged == true)
        #expect(try f.assets(.trashed).map(\.id) == [all[1].id])
    }
}
