import Catalog
import Foundation
import HearthCrypto
import Hummingbird
import Node
import Presentation

extension HearthAPI {
    /// Immich's `AlbumResponseDto` (3.3.5, without assets: v3 dropped them).
    static func albumJSON(_ a: Album, owner: JSON) -> JSON {
        .object([
            ("id", .string(a.id.uuid)),
            ("albumName", .string(a.name)),
            ("description", .string(a.description ?? "")),
            ("albumThumbnailAssetId", a.cover.map { .string(AssetUUID($0).description) } ?? .null),
            ("createdAt", .string(ImmichDate.unknown)),
            ("updatedAt", .string(ImmichDate.unknown)),
            ("albumUsers", .array([.object([("role", .string("owner")), ("user", owner)])])),
            ("assetCount", .int(Int64(a.assetCount))),
            ("shared", .bool(false)),
            ("hasSharedLink", .bool(false)),
            ("isActivityEnabled", .bool(false)),
            ("order", .string("desc")),
            ("startDate", .null),
            ("endDate", .null),
            ("lastModifiedAssetTimestamp", .null),
        ])
    }

    /// Who owns albums (the catalog does not record an album's creator): the person of the
    /// library's founding device, as a `UserResponseDto` (Immich clients need an owner row). A
    /// library without people yet shows the founding device, with a placeholder email under the
    /// reserved `.invalid` domain, never a real address.
    static func owner(_ lib: LibraryObjects) throws -> JSON {
        let founder = try lib.node.catalog.founder().map { DeviceID(publicKey: $0) } ?? lib.node.identity.deviceID
        if let pid = try lib.node.catalog.person(ofDevice: founder), let p = try lib.node.catalog.person(pid) { return userJSON(p) }
        let name = try lib.node.catalog.members().first { $0.device == founder }?.name ?? lib.node.config.deviceName
        return .object([
            ("id", .string(DerivedID.device(founder))), ("email", .string("device-\(founder.short.lowercased())@hearth.invalid")),
            ("name", .string(name)), ("profileImagePath", .string("")), ("avatarColor", .string("primary")),
            ("profileChangedAt", .string(ImmichDate.unknown)),
        ])
    }

    static func album(_ uuid: String, in lib: LibraryObjects) throws -> Album {
        guard UUIDText.parse(uuid) != nil, let a = try lib.node.catalog.albums().first(where: { $0.id.uuid == uuid.lowercased() }) else {
            throw APIError.notFound("Album \(uuid) not found")
        }
        return a
    }

    /// `[{id, success, error?}]` for each requested id, committing the edits for the ones that succeed.
    static func bulkAlbumChange(_ uuids: [String], album: Album, adding: Bool, lib: LibraryObjects) throws -> JSON {
        let members = Set(try lib.node.catalog.assets(AssetFilter(scope: .all, album: album.id)).map(\.id))
        var seen = Set<Hash256>()
        var edits: [Edit] = []
        var results: [JSON] = []
        for uuid in uuids {
            let id = try AssetUUID(string: uuid)?.resolve(in: lib.node.catalog)
            var error: String?
            if let id {
                if adding {
                    if members.contains(id) || !seen.insert(id).inserted { error = "duplicate" } else { edits.append(.addToAlbum(album.id, id)) }
                } else {
                    if !members.contains(id) || !seen.insert(id).inserted { error = "not_found" } else { edits.append(.removeFromAlbum(album.id, id)) }
                }
            } else {
                error = "not_found"
            }
            results.append(bulkResult(uuid, error))
        }
        try commitChunked(lib.node, edits)
        return .array(results)
    }

    /// Immich's `BulkIdResponseDto`: `{id, success, error?}`.
    static func bulkResult(_ id: String, _ error: String?) -> JSON {
        var pairs: [(String, JSON)] = [("id", .string(id)), ("success", .bool(error == nil))]
        if let error { pairs.append(("error", .string(error))) }
        return .object(pairs)
    }

    static let albumRoutes: [APIRoute] = [
        APIRoute(.get, "/api/albums", "getAllAlbums", tag: "Albums", "Every album (or those holding assetId)") { api, req, _ in
            let lib = try api.library(for: req)
            let assetID: String? = req.uri.queryParameters.get("assetId")
            if let assetID, UUIDText.parse(assetID) == nil { throw APIError.badRequest("assetId must be a UUID") }
            if let s = req.uri.queryParameters.get("shared"), s != "true", s != "false" { throw APIError.badRequest("shared must be a boolean value") }
            let shared = req.uri.queryParameters.get("shared") == "true"
            return json(try await blocking {
                if shared { return .array([]) }
                let albums = try assetID.map { try lib.node.catalog.albums(of: try asset($0, in: lib).id) } ?? lib.node.catalog.albums()
                let o = try owner(lib)
                return .array(albums.map { albumJSON($0, owner: o) })
            })
        },
        APIRoute(.post, "/api/albums", "createAlbum", tag: "Albums", "A new album, optionally with assets") { api, req, _ in
            let lib = try api.library(for: req)
            let body = try await JSONBody.read(req, limit: bulkBody)
            guard let n = try body.string("albumName", maxBytes: 1024), let name = n, !name.isEmpty else {
                throw APIError.badRequest("albumName must be a non-empty string")
            }
            let description = try body.string("description") ?? nil
            let ids = try body.uuids("assetIds", required: false, max: maxBulkIDs) ?? []
            if case .array(let users)? = body.raw("albumUsers"), !users.isEmpty {
                throw APIError.badRequest("albumUsers: sharing albums with users is not supported by this server yet")
            }
            let created: Album = try await blocking {
                let assets = try ids.map { try asset($0, in: lib).id }
                let id = AlbumID.randomV4()
                var first: [Edit] = [.createAlbum(id, name: name)]
                if let description, !description.isEmpty { first.append(.describeAlbum(id, description)) }
                try lib.node.commit(first)
                var unique: [Hash256] = []
                var seen = Set<Hash256>()
                for a in assets where seen.insert(a).inserted { unique.append(a) }
                try commitChunked(lib.node, unique.map { .addToAlbum(id, $0) })
                return try album(id.uuid, in: lib)
            }
            return json(albumJSON(created, owner: try await blocking { try owner(lib) }), status: .created)
        },
        APIRoute(.get, "/api/albums/{id}", "getAlbumInfo", tag: "Albums", "One album") { api, req, ctx in
            let lib = try api.library(for: req)
            let uuid = try uuidParameter(ctx)
            return json(try await blocking { albumJSON(try album(uuid, in: lib), owner: try owner(lib)) })
        },
        APIRoute(.patch, "/api/albums/{id}", "updateAlbumInfo", tag: "Albums", "Rename, describe or set the cover") { api, req, ctx in
            let lib = try api.library(for: req)
            let uuid = try uuidParameter(ctx)
            let body = try await JSONBody.read(req, limit: smallBody)
            let name = try body.string("albumName", maxBytes: 1024)
            if let name, name?.isEmpty ?? true { throw APIError.badRequest("albumName must be a non-empty string") }
            let description = try body.string("description", nullable: true)
            let cover = try body.string("albumThumbnailAssetId", nullable: true)
            if let c = cover, let c, UUIDText.parse(c) == nil { throw APIError.badRequest("albumThumbnailAssetId must be a UUID") }
            _ = try body.bool("isActivityEnabled")
            _ = try body.oneOf("order", ["asc", "desc"])
            return json(try await blocking {
                let a = try album(uuid, in: lib)
                var edits: [Edit] = []
                if let name, let name { edits.append(.renameAlbum(a.id, name)) }
                if let description { edits.append(.describeAlbum(a.id, (description?.isEmpty ?? true) ? nil : description)) }
                if let cover { edits.append(.setAlbumCover(a.id, try cover.map { try asset($0, in: lib).id })) }
                if !edits.isEmpty { try lib.node.commit(edits) }
                return albumJSON(try album(uuid, in: lib), owner: try owner(lib))
            })
        },
        APIRoute(.delete, "/api/albums/{id}", "deleteAlbum", tag: "Albums", "Delete an album (its assets stay)") { api, req, ctx in
            let lib = try api.library(for: req)
            let uuid = try uuidParameter(ctx)
            try await blocking { try lib.node.commit([.deleteAlbum(try album(uuid, in: lib).id)]) }
            return noContent()
        },
        APIRoute(.put, "/api/albums/{id}/assets", "addAssetsToAlbum", tag: "Albums", "Add assets to an album") { api, req, ctx in
            let lib = try api.library(for: req)
            let uuid = try uuidParameter(ctx)
            let body = try await JSONBody.read(req, limit: bulkBody)
            let ids = try body.uuids("ids", max: maxBulkIDs)!
            return json(try await blocking { try bulkAlbumChange(ids, album: try album(uuid, in: lib), adding: true, lib: lib) })
        },
        APIRoute(.delete, "/api/albums/{id}/assets", "removeAssetFromAlbum", tag: "Albums", "Remove assets from an album") { api, req, ctx in
            let lib = try api.library(for: req)
            let uuid = try uuidParameter(ctx)
            let body = try await JSONBody.read(req, limit: bulkBody)
            let ids = try body.uuids("ids", max: maxBulkIDs)!
            return json(try await blocking { try bulkAlbumChange(ids, album: try album(uuid, in: lib), adding: false, lib: lib) })
        },
    ]
}
