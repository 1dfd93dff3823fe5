import Catalog
import Foundation
import Hummingbird
import Media
import Node
import Presentation

extension HearthAPI {
    static let features: [(String, Bool)] = [
        ("configFile", false), ("duplicateDetection", false), ("email", false), ("facialRecognition", false),
        ("importFaces", false), ("map", true), ("oauth", false), ("oauthAutoLaunch", false), ("ocr", false),
        ("passwordLogin", true), ("realtimeTranscoding", false), ("reverseGeocoding", false), ("search", false),
        ("sidecar", true), ("smartSearch", false), ("trash", true),
    ]

    static let serverRoutes: [APIRoute] = [
        APIRoute(.get, "/.well-known/immich", "getWellKnown", tag: "Server", "Where the API lives", open: true) { _, _, _ in
            json(.object([("api", .object([("endpoint", .string("/api"))]))]))
        },
        APIRoute(.get, "/api/server/ping", "pingServer", tag: "Server", "Reachability", open: true) { _, _, _ in
            json(.object([("res", .string("pong"))]))
        },
        APIRoute(.get, "/api/server/version", "getServerVersion", tag: "Server", "The Immich version whose API this is", open: true) { _, _, _ in
            json(.object([("major", .int(Int64(immichVersion.major))), ("minor", .int(Int64(immichVersion.minor))),
                          ("patch", .int(Int64(immichVersion.patch))), ("prerelease", .null)]))
        },
        APIRoute(.get, "/api/server/about", "getAboutInfo", tag: "Server", "About this server", open: true) { _, _, _ in
            json(.object([("version", .string(versionString)),
                          ("versionUrl", .string("https://github.com/immich-app/immich/releases/tag/\(versionString)")),
                          ("licensed", .bool(false)), ("build", .string("hearth")), ("nodejs", .null), ("ffmpeg", .null),
                          ("libvips", .null), ("exiftool", .null), ("imagemagick", .null)]))
        },
        APIRoute(.get, "/api/server/features", "getServerFeatures", tag: "Server", "Which features this server has", open: true) { _, _, _ in
            json(.object(features.map { ($0.0, .bool($0.1)) }))
        },
        APIRoute(.get, "/api/server/config", "getServerConfig", tag: "Server", "Login-page configuration", open: true) { api, _, _ in
            let lib = api.libraries[api.defaultIndex]
            let initialized = try await blocking { try !lib.node.catalog.people().isEmpty }
            return json(.object([
                ("externalDomain", .string("")), ("isInitialized", .bool(initialized)), ("isOnboarded", .bool(true)),
                ("loginPageMessage", .string("")), ("maintenanceMode", .bool(false)), ("mapDarkStyleUrl", .string("")),
                ("mapLightStyleUrl", .string("")), ("minFaces", .int(3)), ("oauthButtonText", .string("")),
                ("publicUsers", .bool(false)), ("trashDays", .int(30)), ("userDeleteDelay", .int(7)),
            ]))
        },
        APIRoute(.get, "/api/server/statistics", "getServerStatistics", tag: "Server", "Counts and bytes of the library") { api, req, _ in
            let lib = try api.library(for: req)
            return json(try await blocking {
                let all = try lib.node.catalog.assets(AssetFilter(scope: .all))
                let videos = all.filter { $0.type == "video" }
                let usage = all.reduce(Int64(0)) { $0 + Int64($1.original.size) }
                let videoUsage = videos.reduce(Int64(0)) { $0 + Int64($1.original.size) }
                return .object([("photos", .int(Int64(all.count - videos.count))), ("videos", .int(Int64(videos.count))),
                                ("usage", .int(usage)), ("usagePhotos", .int(usage - videoUsage)), ("usageVideos", .int(videoUsage)),
                                ("usageByUser", .array([]))])
            })
        },
        APIRoute(.get, "/api/server/storage", "getStorage", tag: "Server", "Disk space where the node keeps its data") { api, req, _ in
            let lib = try api.library(for: req)
            let attrs = try FileManager.default.attributesOfFileSystem(forPath: lib.node.home.root.path)
            let size = (attrs[.systemSize] as? NSNumber)?.int64Value ?? 0
            let free = (attrs[.systemFreeSize] as? NSNumber)?.int64Value ?? 0
            let used = max(0, size - free)
            let pct = size > 0 ? (Double(used) / Double(size) * 10000).rounded() / 100 : 0
            return json(.object([
                ("diskSize", .string(ByteFormat.string(UInt64(size)))), ("diskUse", .string(ByteFormat.string(UInt64(used)))),
                ("diskAvailable", .string(ByteFormat.string(UInt64(free)))), ("diskSizeRaw", .int(size)),
                ("diskUseRaw", .int(used)), ("diskAvailableRaw", .int(free)), ("diskUsagePercentage", .double(pct)),
            ]))
        },
        APIRoute(.get, "/api/server/media-types", "getSupportedMediaTypes", tag: "Server", "File types this server imports", open: true) { _, _, _ in
            let formats = MediaFormat.allCases.filter { $0 != .unknown }
            let ext = { (t: Media.MediaType) in formats.filter { $0.type == t }.map { JSON.string("." + $0.rawValue) } }
            return json(.object([("image", .array(ext(.image) + [.string(".jpg"), .string(".tif")])), ("video", .array(ext(.video))),
                                 ("sidecar", .array([.string(".xmp")]))]))
        },
        APIRoute(.get, "/api/server/version-history", "getVersionHistory", tag: "Server", "Versions this server reported", open: true) { _, _, _ in
            json(.array([.object([("id", .string("00000000-0000-4000-8000-000000030305")), ("createdAt", .string(ImmichDate.unknown)),
                                  ("version", .string(versionString))])]))
        },
    ]
}
