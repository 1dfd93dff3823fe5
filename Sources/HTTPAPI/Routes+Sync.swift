import Catalog
import Foundation
import HearthCrypto
import Hummingbird
import Node
import Presentation

/// Immich's sync stream for its mobile app (3.3.5 format): `POST /api/sync/stream` answers JSON
/// lines `{"type","data","ack"}`, for each requested type in `SyncNames.requestOrder`, deletes
/// then upserts, each after the session's checkpoint for its entity type, and ends with
/// `SyncCompleteV1`. An `updateId` is this node's change feed number (`ChangeFeed`), so
/// checkpoints mean something on this node only: a client that moves to another node syncs
/// from nothing there (its session is another one anyway).
///
/// Checkpoints are kept per session in the node's `AccessStore` (and go with the session).
/// What each type carries today: the library's people (`UserV1`, `UserDeleteV1`; `AuthUserV1`/`V2`
/// the session's person), assets (owner: the asset's person, else the session's), EXIF, albums,
/// album owners (`AlbumUserV1`, role `owner`: the client shows only albums with one) and album
/// membership from the change feed. Every other type 3.3.5 accepts emits nothing.
extension HearthAPI {
    /// Rows read per query while streaming: the stream never holds more than one page.
    static let syncPageSize = 1000
    /// Acks one `POST /api/sync/ack` may carry.
    static let maxAcks = 1000

    /// The request's session (`Authorization: Bearer`, `x-immich-user-token` or the
    /// `immich_access_token` cookie) and its library. An API key is refused (403, as Immich: sync
    /// checkpoints belong to a session); no token, or one this node does not know, is a 401.
    func syncSession(_ req: Request) throws -> (Session, LibraryObjects) {
        let key = req.headers[.init("x-api-key")!] ?? req.uri.queryParameters.get("apiKey").map { String($0) }
        if let key {
            guard key.utf8.count <= 512, try access.apiKey(secret: key) != nil else { throw APIError(.unauthorized, "Invalid API key") }
            throw APIError(.forbidden, "Sync endpoints cannot be used with API keys")
        }
        var token: String?
        if let auth = req.headers[.authorization], auth.lowercased().hasPrefix("bearer ") {
            token = String(auth.dropFirst(7)).trimmingCharacters(in: .whitespaces)
        } else if let t = req.headers[.init("x-immich-user-token")!] {
            token = t
        } else if let cookies = req.headers[.cookie] {
            for part in cookies.split(separator: ";") {
                let kv = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                if kv.count == 2, kv[0] == "immich_access_token" { token = kv[1] }
            }
        }
        guard let token, !token.isEmpty else { throw APIError(.unauthorized, "Authentication required") }
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        guard token.utf8.count <= 512, let session = try access.session(token: token, now: now),
              let lib = libraries.first(where: { $0.node.libraryID == session.library }) else {
            throw APIError(.unauthorized, "Invalid user token")
        }
        return (session, lib)
    }

    /// The session's checkpoints by entity type; a stored ack this server cannot read is left out
    /// (the type then streams from the start).
    func syncAcks(_ session: Session) throws -> [String: SyncAck] {
        var out: [String: SyncAck] = [:]
        for (type, text) in try access.syncAcks(session: session.id) {
            if let a = try? SyncAck.parse(text), a.type == type { out[type] = a }
        }
        return out
    }

    static let syncRoutes: [APIRoute] = [
        APIRoute(.post, "/api/sync/stream", "getSyncStream", tag: "Sync",
                 "Changes since the session's checkpoints, as JSON lines (application/jsonlines+json)") { api, req, _ in
            let (session, lib) = try await blocking { try api.syncSession(req) }
            let body = try await JSONBody.read(req, limit: smallBody)
            guard case .array(let items)? = body.raw("types") else { throw APIError.badRequest("types must be an array") }
            var types = Set<String>()
            for item in items {
                guard case .string(let t) = item, SyncNames.requestTypes.contains(t) else {
                    throw APIError.badRequest("each value in types must be one of the following values: "
                                              + SyncNames.requestOrder.joined(separator: ", "))
                }
                types.insert(t)
            }
            let reset = try body.bool("reset") ?? false
            let (acks, high) = try await blocking {
                if reset { try api.access.deleteSyncAcks(session: session.id) }
                return (try api.syncAcks(session), try lib.node.catalog.feedHighWater())
            }
            let streamer = SyncStreamer(catalog: lib.node.catalog, person: session.person, acks: acks, high: high)
            let requested = types
            var h = HTTPFields()
            h[.contentType] = "application/jsonlines+json"
            return Response(status: .ok, headers: h, body: ResponseBody { writer in
                try await streamer.run(types: requested, reset: reset) { try await writer.write($0) }
                try await writer.finish(nil)
            })
        },
        APIRoute(.post, "/api/sync/ack", "sendSyncAck", tag: "Sync", "Store the session's checkpoints") { api, req, _ in
            let (session, _) = try await blocking { try api.syncSession(req) }
            let body = try await JSONBody.read(req, limit: smallBody)
            guard case .array(let items)? = body.raw("acks") else { throw APIError.badRequest("acks must be an array") }
            guard items.count <= maxAcks else { throw APIError.badRequest("acks must contain at most \(maxAcks) elements") }
            let acks = try items.map { item -> SyncAck in
                guard case .string(let s) = item else { throw APIError.badRequest("each value in acks must be a string") }
                return try SyncAck.parse(s)
            }
            // In order: a SyncResetV1 ack clears the checkpoints, the acks after it are kept.
            try await blocking {
                for a in acks {
                    if a.type == "SyncResetV1" { try api.access.deleteSyncAcks(session: session.id) }
                    else { try api.access.setSyncAck(session: session.id, type: a.type, ack: a.text) }
                }
            }
            return noContent()
        },
        APIRoute(.get, "/api/sync/ack", "getSyncAck", tag: "Sync", "The session's checkpoints") { api, req, _ in
            let acks = try await blocking { () -> [SyncAck] in
                let (session, _) = try api.syncSession(req)
                return try api.syncAcks(session).values.sorted { $0.type < $1.type }
            }
            return json(.array(acks.map { .object([("type", .string($0.type)), ("ack", .string($0.text))]) }))
        },
        APIRoute(.delete, "/api/sync/ack", "deleteSyncAck", tag: "Sync", "Forget the session's checkpoints (of the named types)") { api, req, _ in
            let (session, _) = try await blocking { try api.syncSession(req) }
            var r = req
            let raw = try await r.collectBody(upTo: smallBody)
            var types: [String]? = nil
            if !raw.readableBytesView.allSatisfy({ $0 == 32 || $0 == 10 || $0 == 13 || $0 == 9 }) {
                let body = try JSONBody.parse(Data(raw.readableBytesView))
                switch body.raw("types") {
                case nil: break
                case .array(let items)?:
                    types = try items.map { item in
                        guard case .string(let t) = item, SyncNames.entityTypes.contains(t) else {
                            throw APIError.badRequest("each value in types must be a sync entity type")
                        }
                        return t
                    }
                default: throw APIError.badRequest("types must be an array")
                }
            }
            let forget = types
            try await blocking { try api.access.deleteSyncAcks(session: session.id, types: forget) }
            return noContent()
        },
    ]
}

/// Writes one sync stream: the requested types in order, a page of rows at a time, each page
/// read off the event loop and written before the next is read. Rows numbered after the stream
/// began (`high`) wait for the next stream, so a stream always ends.
struct SyncStreamer: Sendable {
    let catalog: Catalog
    /// The session's person: the owner shown for an asset or album the catalog names none for.
    let person: PersonID
    let acks: [String: SyncAck]
    let high: Int64

    typealias Emit = (ByteBuffer) async throws -> Void

    func run(types: Set<String>, reset: Bool, emit: Emit) async throws {
        if reset {
            try await emit(ByteBuffer(string: SyncDTO.line("SyncResetV1", .object([]), ack: "SyncResetV1|reset")))
        }
        var done = Set<String>()
        for type in SyncNames.requestOrder where types.contains(type) {
            try await stream(type, done: &done, emit: emit)
        }
        try await emit(ByteBuffer(string: SyncDTO.line("SyncCompleteV1", .object([]), ack: SyncAck.make("SyncCompleteV1", high))))
    }

    private func stream(_ type: String, done: inout Set<String>, emit: Emit) async throws {
        let catalog = catalog
        let page = HearthAPI.syncPageSize
        switch type {
        case "AuthUsersV1", "AuthUsersV2":
            let me = person
            try await pages(type == "AuthUsersV1" ? "AuthUserV1" : "AuthUserV2", done: &done, emit: emit) { after in
                try catalog.feedPeople(after: after, limit: page, deleted: false).map {
                    ($0.seq, $0.person.id == me ? SyncDTO.user($0.person, auth: true) : nil)
                }
            }
        case "UsersV1":
            try await pages("UserDeleteV1", done: &done, emit: emit) { after in
                try catalog.feedPeople(after: after, limit: page, deleted: true).map {
                    ($0.seq, .object([("userId", .string($0.person.id.uuid))]))
                }
            }
            try await pages("UserV1", done: &done, emit: emit) { after in
                try catalog.feedPeople(after: after, limit: page, deleted: false).map { ($0.seq, SyncDTO.user($0.person, auth: false)) }
            }
        case "AssetsV1", "AssetsV2":
            try await pages("AssetDeleteV1", done: &done, emit: emit) { after in
                try catalog.feedAssets(after: after, limit: page, purged: true).map {
                    ($0.seq, .object([("assetId", .string(AssetUUID($0.asset.id).description))]))
                }
            }
            let v2 = type == "AssetsV2", me = person
            try await pages(v2 ? "AssetV2" : "AssetV1", done: &done, emit: emit) { after in
                try catalog.feedAssets(after: after, limit: page, purged: false).map {
                    ($0.seq, SyncDTO.asset($0.asset, owner: $0.asset.owner ?? me, v2: v2))
                }
            }
        case "AssetExifsV1":
            try await pages("AssetExifV1", done: &done, emit: emit) { after in
                try catalog.feedAssets(after: after, limit: page, purged: false).map { ($0.seq, SyncDTO.exif($0.asset)) }
            }
        case "AlbumsV1", "AlbumsV2":
            try await pages("AlbumDeleteV1", done: &done, emit: emit) { after in
                try catalog.feedAlbums(after: after, limit: page, deleted: true).map {
                    ($0.seq, .object([("albumId", .string($0.id.uuid))]))
                }
            }
            let v2 = type == "AlbumsV2", owners = AlbumOwners(catalog: catalog, fallback: person)
            try await pages(v2 ? "AlbumV2" : "AlbumV1", done: &done, emit: emit) { after in
                try catalog.feedAlbums(after: after, limit: page, deleted: false).map {
                    ($0.seq, SyncDTO.album($0, owner: try owners.owner($0), v2: v2))
                }
            }
        case "AlbumUsersV1":
            let owners = AlbumOwners(catalog: catalog, fallback: person)
            try await pages("AlbumUserDeleteV1", done: &done, emit: emit) { after in
                try catalog.feedAlbums(after: after, limit: page, deleted: true).map {
                    ($0.seq, .object([("albumId", .string($0.id.uuid)), ("userId", .string(try owners.owner($0)))]))
                }
            }
            try await pages("AlbumUserV1", done: &done, emit: emit) { after in
                try catalog.feedAlbums(after: after, limit: page, deleted: false).map {
                    ($0.seq, .object([("albumId", .string($0.id.uuid)), ("userId", .string(try owners.owner($0))),
                                      ("role", .string("owner"))]))
                }
            }
        case "AlbumToAssetsV1":
            for (entity, present) in [("AlbumToAssetDeleteV1", false), ("AlbumToAssetV1", true)] {
                try await pages(entity, done: &done, emit: emit) { after in
                    try catalog.feedAlbumAssets(after: after, limit: page, present: present).map {
                        ($0.seq, .object([("albumId", .string($0.album.uuid)), ("assetId", .string(AssetUUID($0.asset).description))]))
                    }
                }
            }
        default:
            break  // accepted; Hearth has nothing of this kind yet
        }
    }

    /// An album's owner: the person of the device that named it, else the session's person.
    struct AlbumOwners: Sendable {
        let catalog: Catalog
        let fallback: PersonID
        func owner(_ a: FeedAlbum) throws -> String {
            try (a.namedBy.flatMap { try catalog.person(ofDevice: $0) } ?? fallback).uuid
        }
    }

    /// Streams one entity type's rows after its checkpoint, a page at a time, in feed order, up to `high`.
    private func pages(_ entity: String, done: inout Set<String>, emit: Emit,
                       _ fetch: @escaping @Sendable (Int64) throws -> [(Int64, JSON?)]) async throws {
        guard done.insert(entity).inserted else { return }
        var after = acks[entity]?.seq ?? 0
        let high = high
        while after < high {
            let from = after
            let (text, last, more) = try await HearthAPI.blocking { () -> (String, Int64, Bool) in
                let rows = try fetch(from)
                var out = ""
                var last = from
                for (seq, data) in rows where seq <= high {
                    if let data { out += SyncDTO.line(entity, data, ack: SyncAck.make(entity, seq)) }
                    last = seq
                }
                return (out, last, rows.count == HearthAPI.syncPageSize && last < high && last > from)
            }
            if !text.isEmpty { try await emit(ByteBuffer(string: text)) }
            after = last
            if !more { break }
        }
    }
}
