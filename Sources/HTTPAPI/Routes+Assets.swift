import Catalog
import Foundation
import HearthCrypto
import Hummingbird
import Node
import Presentation

extension HearthAPI {
    /// The asset a UUID names, or 404 (unknown, or purged).
    static func asset(_ uuid: String, in lib: LibraryObjects) throws -> Asset {
        guard let u = AssetUUID(string: uuid), let id = try u.resolve(in: lib.node.catalog),
              let a = try lib.node.catalog.asset(id), !a.purged else {
            throw APIError.notFound("Asset \(uuid) not found")
        }
        return a
    }

    /// The id of the asset a UUID names, or 404 (unknown, or purged), without reading the asset.
    static func assetID(_ uuid: String, in lib: LibraryObjects) throws -> Hash256 {
        guard let u = AssetUUID(string: uuid), let id = try u.resolve(in: lib.node.catalog) else {
            throw APIError.notFound("Asset \(uuid) not found")
        }
        return id
    }

    /// Commits `edits` in batches of `editsPerCommit` (each one signed batch).
    static func commitChunked(_ node: HearthNode, _ edits: [Edit]) throws {
        var i = 0
        while i < edits.count {
            let end = min(edits.count, i + editsPerCommit)
            try node.commit(Array(edits[i..<end]))
            i = end
        }
    }

    static func assetJSON(_ a: Asset, _ lib: LibraryObjects) throws -> JSON {
        AssetDTO.json(a, tags: try lib.node.catalog.tags(of: a.id))
    }

    /// The edits an `UpdateAssetDto` (or the bulk DTO's shared fields) asks for on `id`.
    static func updateEdits(_ b: JSONBody, _ id: Hash256) throws -> [Edit] {
        var edits: [Edit] = []
        if let f = try b.bool("isFavorite") { edits.append(.setFavorite(id, f)) }
        if let v = try b.oneOf("visibility", ["archive", "timeline", "hidden", "locked"]) {
            guard v == "archive" || v == "timeline" else {
                throw APIError.badRequest("visibility \(v) is not supported by this server (archive and timeline are)")
            }
            edits.append(.setArchived(id, v == "archive"))
        }
        if let d = try b.string("description", nullable: true) { edits.append(.setDescription(id, (d?.isEmpty ?? true) ? nil : d)) }
        if let r = try b.int("rating", in: -1...5) { edits.append(.setRating(id, Int(max(0, r)))) }
        if let s = try b.string("dateTimeOriginal") {
            guard let s, let t = ImmichDate.parseTakenAt(s) else {
                throw APIError.badRequest("dateTimeOriginal must be an ISO 8601 date-time")
            }
            edits.append(.setField(id, .takenAt, .takenAt(t)))
        }
        let lat = try b.number("latitude", in: -90...90), lon = try b.number("longitude", in: -180...180)
        guard (lat == nil) == (lon == nil) else { throw APIError.badRequest("latitude and longitude must be given together") }
        if let lat, let lon { edits += [.setField(id, .latitude, .double(lat)), .setField(id, .longitude, .double(lon))] }
        return edits
    }

    static let updateKeys: Set<String> = ["isFavorite", "visibility", "description", "rating", "dateTimeOriginal", "latitude",
                                          "longitude", "isArchived", "livePhotoVideoId"]

    static let assetRoutes: [APIRoute] = [
        APIRoute(.get, "/api/assets/statistics", "getAssetStatistics", tag: "Assets", "Counts of images and videos") { api, req, _ in
            let lib = try api.library(for: req)
            let q = req.uri.queryParameters
            if let v = q.get("visibility"), !["archive", "timeline"].contains(v) {
                throw APIError.badRequest("visibility must be one of the following values: archive, timeline")
            }
            let scope: AssetFilter.Scope = q.get("isTrashed") == "true" ? .trashed : q.get("visibility") == "archive" ? .archived : .library
            for key in ["isTrashed", "isFavorite"] {
                if let v = q.get(key), v != "true", v != "false" { throw APIError.badRequest("\(key) must be a boolean value") }
            }
            let fav = q.get("isFavorite") == "true"
            let assets = try await blocking { try lib.node.catalog.assets(AssetFilter(scope: scope, favoritesOnly: fav)) }
            let videos = assets.filter { $0.type == "video" }.count
            return json(.object([("images", .int(Int64(assets.count - videos))), ("videos", .int(Int64(videos))),
                                 ("total", .int(Int64(assets.count)))]))
        },
        APIRoute(.get, "/api/assets/{id}", "getAssetInfo", tag: "Assets", "One asset") { api, req, ctx in
            let lib = try api.library(for: req)
            let id = try uuidParameter(ctx)
            return json(try await blocking { try assetJSON(try asset(id, in: lib), lib) })
        },
        APIRoute(.put, "/api/assets/{id}", "updateAsset", tag: "Assets", "Edit one asset") { api, req, ctx in
            let lib = try api.library(for: req)
            let uuid = try uuidParameter(ctx)
            let body = try await JSONBody.read(req, limit: smallBody)
            return json(try await blocking {
                let a = try asset(uuid, in: lib)
                let edits = try updateEdits(body, a.id)
                if !edits.isEmpty { try lib.node.commit(edits) }
                return try assetJSON(try lib.node.catalog.asset(a.id) ?? a, lib)
            })
        },
        APIRoute(.put, "/api/assets", "updateAssets", tag: "Assets", "Edit many assets") { api, req, _ in
            let lib = try api.library(for: req)
            let body = try await JSONBody.read(req, limit: bulkBody)
            let ids = try body.uuids("ids", max: maxBulkIDs)!
            try await blocking {
                var edits: [Edit] = []
                for uuid in ids { edits += try updateEdits(body, try assetID(uuid, in: lib)) }
                try commitChunked(lib.node, edits)
            }
            return noContent()
        },
        APIRoute(.delete, "/api/assets", "deleteAssets", tag: "Assets", "Trash assets, or purge them with force") { api, req, _ in
            let lib = try api.library(for: req)
            let body = try await JSONBody.read(req, limit: bulkBody)
            let ids = try body.uuids("ids", max: maxBulkIDs)!
            let force = try body.bool("force") ?? false
            try await blocking {
                let assets = try ids.map { try asset($0, in: lib) }
                // Purging needs the asset in the trash first: trash, then purge.
                try commitChunked(lib.node, assets.filter { $0.trashedAt == nil }.map { .trash($0.id) })
                if force { try commitChunked(lib.node, assets.map { .purge($0.id) }) }
            }
            return noContent()
        },
    ]
}
