import Catalog
import Foundation
import HearthCrypto
import Hummingbird
import Node
import Presentation

/// Immich's timeline (`timeline/buckets`, the columnar `timeline/bucket`) and search
/// (`search/metadata`, `search/random`, `search/explore`), over the catalog's timeline queries.
extension HearthAPI {
    static let timelineRoutes: [APIRoute] = [
        APIRoute(.get, "/api/timeline/buckets", "getTimeBuckets", tag: "Timeline", "Local months with their asset counts") { api, req, _ in
            let lib = try api.library(for: req)
            let filter = try timelineFilter(req, lib)
            let buckets = try await blocking { try lib.node.catalog.timeBuckets(filter) }
            return json(.array(buckets.map { .object([("timeBucket", .string($0.timeBucket)), ("count", .int(Int64($0.count)))]) }))
        },
        APIRoute(.get, "/api/timeline/bucket", "getTimeBucket", tag: "Timeline", "One month's assets, columnar") { api, req, _ in
            let lib = try api.library(for: req)
            guard let text = req.uri.queryParameters.get("timeBucket") else { throw APIError.badRequest("timeBucket is required") }
            guard let month = TimelineMonth(String(text)) else { throw APIError.badRequest("timeBucket must be a date (YYYY-MM-DD)") }
            let filter = try timelineFilter(req, lib)
            let assets = try await blocking { try lib.node.catalog.timeBucket(month, filter) }
            return json(bucketJSON(assets))
        },
        APIRoute(.post, "/api/search/metadata", "searchAssets", tag: "Search", "Search by dates, camera, names, tags, albums") { api, req, _ in
            let lib = try api.library(for: req)
            let body = try await JSONBody.read(req, limit: smallBody)
            let (search, impossible, exact) = try metadataSearch(body, lib)
            let page = try await blocking { () -> (SearchPage, [JSON]) in
                let p: SearchPage
                if impossible {
                    p = SearchPage(assets: [], nextPage: nil)
                } else if let exact {
                    // By id or checksum: those assets (the trash only with withDeleted), no paging.
                    let found = try exact.compactMap { try lib.node.catalog.asset($0) }
                        .filter { !$0.purged && ($0.trashedAt == nil || search.withDeleted || search.isTrashed) }
                    p = SearchPage(assets: found, nextPage: nil)
                } else {
                    p = try lib.node.catalog.searchMetadata(search)
                }
                return (p, try p.assets.map { try assetJSON($0, lib) })
            }
            return json(searchJSON(page.1, nextPage: page.0.nextPage))
        },
        APIRoute(.post, "/api/search/random", "searchRandom", tag: "Search", "Random assets") { api, req, _ in
            let lib = try api.library(for: req)
            let body = try await JSONBody.read(req, limit: smallBody)
            let count = Int(try body.int("size", in: 1...Int64(MetadataSearch.maxSize)) ?? 250)
            let visibility = try body.oneOf("visibility", ["archive", "timeline"])
            let v: TimelineFilter.Visibility = visibility == "archive" ? .archive : visibility == "timeline" ? .timeline : .all
            return json(.array(try await blocking {
                try lib.node.catalog.randomAssets(count, visibility: v).map { try assetJSON($0, lib) }
            }))
        },
        APIRoute(.get, "/api/search/explore", "getExploreData", tag: "Search",
                 "Places and things to explore: empty until there is a geocoder and smart search") { api, req, _ in
            _ = try api.library(for: req)
            return json(.array([]))
        },
    ]

    /// A request's timeline filters (query parameters, as Immich names them); 400 on a bad value.
    static func timelineFilter(_ req: Request, _ lib: LibraryObjects) throws -> TimelineFilter {
        let q = req.uri.queryParameters
        func bool(_ key: String) throws -> Bool? {
            guard let v = q.get(key) else { return nil }
            guard v == "true" || v == "false" else { throw APIError.badRequest("\(key) must be a boolean value") }
            return v == "true"
        }
        var f = TimelineFilter()
        if let v = q.get("visibility") {
            switch v {
            case "timeline": f.visibility = .timeline
            case "archive": f.visibility = .archive
            case "hidden", "locked": throw APIError.badRequest("visibility \(v) is not supported by this server (archive and timeline are)")
            default: throw APIError.badRequest("visibility must be one of the following values: archive, timeline, hidden, locked")
            }
        }
        f.isFavorite = try bool("isFavorite")
        f.isTrashed = try bool("isTrashed") ?? false
        _ = try bool("withPartners"); _ = try bool("withStacked"); _ = try bool("withCoordinates")
        if let o = q.get("order") {
            guard o == "asc" || o == "desc" else { throw APIError.badRequest("order must be one of the following values: asc, desc") }
            f.order = o == "asc" ? .ascending : .descending
        }
        if let a = q.get("albumId") {
            guard let bytes = UUIDText.parse(String(a)), let id = AlbumID(bytes: bytes) else { throw APIError.badRequest("albumId must be a UUID") }
            f.album = id
        }
        for key in ["userId", "personId", "tagId"] {
            if let v = q.get(key), UUIDText.parse(String(v)) == nil { throw APIError.badRequest("\(key) must be a UUID") }
        }
        return f
    }

    /// Immich's `TimeBucketAssetResponseDto`: one array per field, index i describing asset i.
    static func bucketJSON(_ assets: [TimelineAsset]) -> JSON {
        func col(_ key: String, _ value: (TimelineAsset) -> JSON) -> (String, JSON) { (key, .array(assets.map(value))) }
        func opt(_ s: String?) -> JSON { s.map { .string($0) } ?? .null }
        func optD(_ d: Double?) -> JSON { d.map { .double($0) } ?? .null }
        return .object([
            col("id") { .string(AssetUUID($0.id).description) },
            col("ownerId") { .string($0.owner?.uuid ?? DerivedID.device($0.importedBy)) },
            col("ratio") { .double($0.ratio) },
            col("isFavorite") { .bool($0.isFavorite) },
            col("isImage") { .bool($0.isImage) },
            col("isTrashed") { .bool($0.isTrashed) },
            col("visibility") { .string($0.isArchived ? "archive" : "timeline") },
            col("thumbhash") { opt($0.thumbhash) },
            col("fileCreatedAt") { .string(ImmichDate.string(seconds: $0.fileCreatedAt)) },
            col("localOffsetHours") { .double($0.localOffsetHours) },
            col("duration") { a in a.durationSeconds.map { .int(Int64(($0 * 1000).rounded())) } ?? .null },
            col("livePhotoVideoId") { a in a.motionVideo.map { .string(AssetUUID($0).description) } ?? .null },
            col("projectionType") { opt($0.projection) },
            col("city") { opt($0.city) },
            col("country") { opt($0.country) },
            col("latitude") { optD($0.latitude) },
            col("longitude") { optD($0.longitude) },
            col("createdAt") { .string(ImmichDate.string(millis: $0.createdAt)) },
            col("stack") { _ in .null },
        ])
    }

    /// Immich's `SearchResponseDto`: the assets page, and no albums (album search is not offered).
    static func searchJSON(_ items: [JSON], nextPage: Int?) -> JSON {
        .object([
            ("albums", .object([("total", .int(0)), ("count", .int(0)), ("items", .array([])), ("facets", .array([]))])),
            ("assets", .object([("total", .int(Int64(items.count))), ("count", .int(Int64(items.count))), ("items", .array(items)),
                                ("facets", .array([])), ("nextPage", nextPage.map { .string(String($0)) } ?? .null)])),
        ])
    }

    /// Immich's `MetadataSearchDto` as a catalog search; `impossible` when a filter names something
    /// this server cannot have (people, OCR, an unknown tag): the answer is then empty, as Immich's
    /// is for a feature that found nothing.
    /// `exact` is set when the search names an asset by `id` or `checksum`.
    static func metadataSearch(_ b: JSONBody, _ lib: LibraryObjects) throws -> (MetadataSearch, impossible: Bool, exact: [Hash256]?) {
        var s = MetadataSearch()
        var impossible = false
        var exact: Set<Hash256>?
        func instant(_ key: String) throws -> Int64? {
            guard let v = try b.string(key) else { return nil }
            guard let text = v, let d = ImmichDate.parseInstant(text) else { throw APIError.badRequest("\(key) must be an ISO 8601 date-time") }
            return Int64(d.timeIntervalSince1970.rounded(.down))
        }
        func text(_ key: String) throws -> String? {
            guard let v = try b.string(key, maxBytes: 1024, nullable: true) else { return nil }
            return v
        }
        s.takenAfter = try instant("takenAfter")
        s.takenBefore = try instant("takenBefore")
        for key in ["createdAfter", "createdBefore", "updatedAfter", "updatedBefore", "trashedAfter", "trashedBefore"] {
            _ = try instant(key)
        }
        s.make = try text("make")
        s.model = try text("model")
        s.lens = try text("lensModel")
        s.originalFileName = try text("originalFileName")
        s.description = try text("description")
        s.city = try text("city")
        s.state = try text("state")
        s.country = try text("country")
        s.isFavorite = try b.bool("isFavorite")
        s.isMotion = try b.bool("isMotion")
        if let r = try b.int("rating", in: -1...5) { s.rating = Int(max(0, r)) }
        if let t = try b.oneOf("type", ["IMAGE", "VIDEO", "AUDIO", "OTHER"]) {
            if t == "IMAGE" || t == "VIDEO" { s.type = t.lowercased() } else { impossible = true }
        }
        if let v = try b.oneOf("visibility", ["archive", "timeline", "hidden", "locked"]) {
            switch v {
            case "archive": s.visibility = .archive
            case "timeline": s.visibility = .timeline
            default: impossible = true
            }
        }
        s.withDeleted = try b.bool("withDeleted") ?? false
        s.isTrashed = try b.string("trashedAfter") != nil || b.string("trashedBefore") != nil
        if let albums = try b.uuids("albumIds", required: false, max: 100) {
            s.albums = albums.compactMap { UUIDText.parse($0).flatMap(AlbumID.init(bytes:)) }
        }
        if let tagIDs = try b.uuids("tagIds", required: false, max: 100), !tagIDs.isEmpty {
            let byID = Dictionary(try lib.node.catalog.tags().map { (DerivedID.tag($0.tag), $0.tag) }, uniquingKeysWith: { a, _ in a })
            let names = tagIDs.compactMap { byID[$0] }
            if names.count < tagIDs.count { impossible = true }
            s.tags = names
        }
        if let people = try b.uuids("personIds", required: false, max: 100), !people.isEmpty { impossible = true }
        if try b.bool("isNotInAlbum") == true || b.bool("isOffline") == true || b.bool("isEncoded") == true { impossible = true }
        if let ocr = try text("ocr"), !ocr.isEmpty { impossible = true }
        if let id = try b.string("id"), let uuid = id {
            guard UUIDText.parse(uuid) != nil else { throw APIError.badRequest("id must be a UUID") }
            exact = Set([try AssetUUID(string: uuid)?.resolve(in: lib.node.catalog)].compactMap { $0 })
        }
        if let sum = try b.string("checksum"), let c = sum {
            guard let b64 = ImmichChecksum.base64(c) else { throw APIError.badRequest("checksum must be a SHA-1 in hex (40) or base64 (28)") }
            let found = Set(try lib.node.catalog.assets(sha1: b64))
            exact = exact.map { $0.intersection(found) } ?? found
        }
        s.size = Int(try b.int("size", in: 1...Int64(MetadataSearch.maxSize)) ?? 250)
        s.page = Int(try b.int("page", in: 1...Int64(MetadataSearch.maxPage)) ?? 1)
        if let o = try b.oneOf("order", ["asc", "desc"]) { s.order = o == "asc" ? .ascending : .descending }
        return (s, impossible, exact.map { $0.sorted() })
    }
}
