import Catalog
import Foundation
import HearthCrypto
import Hummingbird
import Node
import Presentation

extension HearthAPI {
    static func tagName(_ uuid: String, in lib: LibraryObjects) throws -> String {
        guard let t = try lib.node.catalog.tags().first(where: { DerivedID.tag($0.tag) == uuid }) else {
            throw APIError.notFound("Tag \(uuid) not found")
        }
        return t.tag
    }

    static func tagChange(_ api: HearthAPI, _ req: Request, _ ctx: HearthRequestContext, adding: Bool) async throws -> Response {
        let lib = try api.library(for: req)
        let uuid = try uuidParameter(ctx)
        let body = try await JSONBody.read(req, limit: bulkBody)
        let ids = try body.uuids("ids", max: maxBulkIDs)!
        return json(try await blocking {
            let tag = try tagName(uuid, in: lib)
            let tagged = Set(try lib.node.catalog.assets(AssetFilter(scope: .all, tag: tag)).filter {
                try lib.node.catalog.tags(of: $0.id).contains(tag)
            }.map(\.id))
            var edits: [Edit] = []
            var seen = Set<Hash256>()
            let results: [JSON] = try ids.map { u in
                var error: String?
                if let id = try AssetUUID(string: u)?.resolve(in: lib.node.catalog) {
                    if adding == tagged.contains(id) || !seen.insert(id).inserted { error = adding ? "duplicate" : "not_found" }
                    else { edits.append(adding ? .addTag(id, tag) : .removeTag(id, tag)) }
                } else { error = "not_found" }
                return bulkResult(u, error)
            }
            try commitChunked(lib.node, edits)
            return .array(results)
        })
    }

    static func trashed(_ lib: LibraryObjects) throws -> [Asset] { try lib.node.catalog.assets(AssetFilter(scope: .trashed)) }

    /// What Immich answers for a feature it has switched off: an empty list.
    static func emptyList(_ path: String, _ op: String, _ tag: String) -> APIRoute {
        APIRoute(.get, path, op, tag: tag, "Not a feature of this server yet: always empty") { _, _, _ in json(.array([])) }
    }

    static let otherRoutes: [APIRoute] = [
        APIRoute(.get, "/api/tags", "getAllTags", tag: "Tags", "Every tag") { api, req, _ in
            let lib = try api.library(for: req)
            return json(.array(try await blocking { try lib.node.catalog.tags() }.map { AssetDTO.tagJSON($0.tag) }))
        },
        APIRoute(.put, "/api/tags/{id}/assets", "tagAssets", tag: "Tags", "Tag assets") { api, req, ctx in
            try await tagChange(api, req, ctx, adding: true)
        },
        APIRoute(.delete, "/api/tags/{id}/assets", "untagAssets", tag: "Tags", "Untag assets") { api, req, ctx in
            try await tagChange(api, req, ctx, adding: false)
        },
        APIRoute(.post, "/api/trash/empty", "emptyTrash", tag: "Trash", "Purge everything in the trash") { api, req, _ in
            let lib = try api.library(for: req)
            let n = try await blocking {
                let ids = try trashed(lib).map(\.id)
                try commitChunked(lib.node, ids.map { .purge($0) })
                return ids.count
            }
            return json(.object([("count", .int(Int64(n)))]))
        },
        APIRoute(.post, "/api/trash/restore", "restoreTrash", tag: "Trash", "Restore everything in the trash") { api, req, _ in
            let lib = try api.library(for: req)
            let n = try await blocking {
                let ids = try trashed(lib).map(\.id)
                try commitChunked(lib.node, ids.map { .restore($0) })
                return ids.count
            }
            return json(.object([("count", .int(Int64(n)))]))
        },
        APIRoute(.post, "/api/trash/restore/assets", "restoreAssets", tag: "Trash", "Restore some assets from the trash") { api, req, _ in
            let lib = try api.library(for: req)
            let body = try await JSONBody.read(req, limit: bulkBody)
            let ids = try body.uuids("ids", max: maxBulkIDs)!
            let n = try await blocking {
                let assets = try ids.map { try asset($0, in: lib) }.filter { $0.trashedAt != nil }
                try commitChunked(lib.node, assets.map { .restore($0.id) })
                return assets.count
            }
            return json(.object([("count", .int(Int64(n)))]))
        },
        APIRoute(.get, "/api/map/markers", "getMapMarkers", tag: "Map", "Assets with a location") { api, req, _ in
            let lib = try api.library(for: req)
            let q = req.uri.queryParameters
            for key in ["isArchived", "isFavorite", "withPartners", "withSharedAlbums"] {
                if let v = q.get(key), v != "true", v != "false" { throw APIError.badRequest("\(key) must be a boolean value") }
            }
            let archived = q.get("isArchived") == "true", fav = q.get("isFavorite") == "true"
            return json(.array(try await blocking {
                var assets = try lib.node.catalog.assets(AssetFilter(scope: .library, favoritesOnly: fav))
                if archived { assets += try lib.node.catalog.assets(AssetFilter(scope: .archived, favoritesOnly: fav)) }
                return assets.compactMap { a in
                    guard let lat = a.latitude, let lon = a.longitude else { return nil }
                    return .object([("id", .string(AssetUUID(a.id).description)), ("lat", .double(lat)), ("lon", .double(lon)),
                                    ("city", .null), ("state", .null), ("country", .null)])
                }
            }))
        },
        APIRoute(.get, "/api/people", "getAllPeople", tag: "People", "Not a feature of this server yet: always empty") { _, _, _ in
            json(.object([("people", .array([])), ("total", .int(0)), ("hidden", .int(0)), ("hasNextPage", .bool(false))]))
        },
        emptyList("/api/partners", "getPartners", "Partners"),
        emptyList("/api/shared-links", "getAllSharedLinks", "Shared links"),
        emptyList("/api/memories", "searchMemories", "Memories"),
        emptyList("/api/stacks", "searchStacks", "Stacks"),
        emptyList("/api/duplicates", "getAssetDuplicates", "Duplicates"),
    ]
}
