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
/// What each type carries today: users are the library's devices (`UserV1` per member,
/// `AuthUserV1`/`V2` this node's own device) until the catalog has people; assets, EXIF, albums,
/// album owners (`AlbumUserV1`, role `owner`: the client shows only albums with one) and album
/// membership from the change feed. Every other type 3.3.5 accepts emits nothing.
extension HearthAPI {
    /// Rows read per query while streaming: the stream never holds more than one page.
    static let syncPageSize = 1000
    /// Acks one `POST /api/sync/ack` may carry.
    static let maxAcks = 1000

    /// The request's session token. An API key is refused (403, as Immich: sync checkpoints
    /// belong to a session); no token is a 401.
    static func syncSession(_ req: Request) throws -> String {
        if req.headers[.init("x-api-key")!] != nil || req.uri.queryParameters.get("apiKey") != nil {
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
        guard token.utf8.count <= 512 else { throw APIError(.unauthorized, "Invalid user token") }
        return token
    }

    static let syncRoutes: [APIRoute] = [
        APIRoute(.post, "/api/sync/stream", "getSyncStream", tag: "Sync",
                 "Changes since the session's checkpoints, as JSON lines (application/jsonlines+json)") { api, req, _ in
            let session = try syncSession(req)
            let lib = api.library(for: req)
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
            if reset { api.syncCheckpoints.delete(session, types: nil) }
            let high = try await blocking { try lib.node.catalog.feedHighWater() }
            let streamer = SyncStreamer(catalog: lib.node.catalog, me: lib.node.catalog.device,
                                        acks: api.syncCheckpoints.acks(session), high: high)
            let requested = types
            var h = HTTPFields()
            h[.contentType] = "application/jsonlines+json"
            return Response(status: .ok, headers: h, body: ResponseBody { writer in
                try await streamer.run(types: requested, reset: reset) { try await writer.write($0) }
                try await writer.finish(nil)
            })
        },
        APIRoute(.post, "/api/sync/ack", "sendSyncAck", tag: "Sync", "Store the session's checkpoints") { api, req, _ in
            let session = try syncSession(req)
            let body = try await JSONBody.read(req, limit: smallBody)
            guard case .array(let items)? = body.raw("acks") else { throw APIError.badRequest("acks must be an array") }
            guard items.count <= maxAcks else { throw APIError.badRequest("acks must contain at most \(maxAcks) elements") }
            let acks = try items.map { item -> SyncAck in
                guard case .string(let s) = item else { throw APIError.badRequest("each value in acks must be a string") }
                return try SyncAck.parse(s)
            }
            api.syncCheckpoints.set(session, acks)
            return noContent()
        },
        APIRoute(.get, "/api/sync/ack", "getSyncAck", tag: "Sync", "The session's checkpoints") { api, req, _ in
            let session = try syncSession(req)
            let acks = api.syncCheckpoints.acks(session).values.sorted { $0.type < $1.type }
            return json(.array(acks.map { .object([("type", .string($0.type)), ("ack", .string($0.text))]) }))
        },
        APIRoute(.delete, "/api/sync/ack", "deleteSyncAck", tag: "Sync", "Forget the session's checkpoints (of the named types)") { api, req, _ in
            let session = try syncSession(req)
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
            api.syncCheckpoints.delete(session, types: types)
            return noContent()
        },
    ]
}

/// Writes one sync stream: the requested types in order, a page of rows at a time, each page
/// read off the event loop and written before the next is read. Rows numbered after the stream
/// began (`high`) wait for the next stream, so a stream always ends.
struct SyncStreamer: Sendable {
    let catalog: Catalog
    let me: DeviceID
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
            try await users(type == "AuthUsersV1" ? "AuthUserV1" : "AuthUserV2", auth: true, done: &done, emit: emit)
        case "UsersV1":
            try await users("UserV1", auth: false, done: &done, emit: emit)
        case "AssetsV1", "AssetsV2":
            try await pages("AssetDeleteV1", done: &done, emit: emit) { after in
                try catalog.feedAssets(after: after, limit: page, purged: true).map {
                    ($0.seq, .object([("assetId", .string(AssetUUID($0.asset.id).description))]))
                }
            }
            let v2 = type == "AssetsV2"
            try await pages(v2 ? "AssetV2" : "AssetV1", done: &done, emit: emit) { after in
                try catalog.feedAssets(after: after, limit: page, purged: false).map { ($0.seq, SyncDTO.asset($0.asset, v2: v2)) }
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
            let v2 = type == "AlbumsV2", me = me
            try await pages(v2 ? "AlbumV2" : "AlbumV1", done: &done, emit: emit) { after in
                try catalog.feedAlbums(after: after, limit: page, deleted: false).map {
                    ($0.seq, SyncDTO.album($0, owner: Self.owner($0, me), v2: v2))
                }
            }
        case "AlbumUsersV1":
            let me = me
            try await pages("AlbumUserDeleteV1", done: &done, emit: emit) { after in
                try catalog.feedAlbums(after: after, limit: page, deleted: true).map {
                    ($0.seq, .object([("albumId", .string($0.id.uuid)), ("userId", .string(Self.owner($0, me)))]))
                }
            }
            try await pages("AlbumUserV1", done: &done, emit: emit) { after in
                try catalog.feedAlbums(after: after, limit: page, deleted: false).map {
                    ($0.seq, .object([("albumId", .string($0.id.uuid)), ("userId", .string(Self.owner($0, me))),
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

    /// An album's owner: the device that named it, else this node's.
    static func owner(_ a: FeedAlbum, _ me: DeviceID) -> String { DerivedID.device(a.namedBy ?? me) }

    /// Streams one entity type's rows after its checkpoint, a page at a time, in feed order, up to `high`.
    private func pages(_ entity: String, done: inout Set<String>, emit: Emit,
                       _ fetch: @escaping @Sendable (Int64) throws -> [(Int64, JSON)]) async throws {
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
                    out += SyncDTO.line(entity, data, ack: SyncAck.make(entity, seq))
                    last = seq
                }
                return (out, last, rows.count == HearthAPI.syncPageSize && last < high && last > from)
            }
            if !text.isEmpty { try await emit(ByteBuffer(string: text)) }
            after = last
            if !more { break }
        }
    }

    /// Users until the catalog has people: the library's devices, numbered by how many there
    /// are (a new device makes the list stream again; a renamed one waits for people).
    private func users(_ entity: String, auth: Bool, done: inout Set<String>, emit: Emit) async throws {
        guard done.insert(entity).inserted else { return }
        let catalog = catalog, me = me
        let members = try await HearthAPI.blocking { try catalog.members() }
        let seq = Int64(members.count)
        guard seq > acks[entity]?.seq ?? 0 else { return }
        var out = ""
        for m in members where !auth || m.device == me {
            let data = SyncDTO.user(id: DerivedID.device(m.device), name: m.name, auth: auth, isAdmin: m.role == .admin)
            out += SyncDTO.line(entity, data, ack: SyncAck.make(entity, seq))
        }
        if !out.isEmpty { try await emit(ByteBuffer(string: out)) }
    }
}
