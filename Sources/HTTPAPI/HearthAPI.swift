import Catalog
import Foundation
import HearthCrypto
import Hummingbird
import Logging
import Node
import Presentation

/// The Immich-compatible HTTP API of one node: the routes of `HearthAPI.routes`, over the node's
/// libraries. Every edit goes through `HearthNode.commit`, so sync carries it to the other devices.
///
/// Which library a request sees: the one its session or API key belongs to (`Auth`). Every
/// route but the login page's (`server/*` except statistics and storage, `auth/login`,
/// `auth/admin-sign-up`, `/.well-known/immich`, `spec.json`, `/metrics`) needs one: 401 without.
public final class HearthAPI: Sendable {
    public let libraries: [LibraryObjects]
    public let metrics: APIMetrics
    /// This node's sessions, API keys and sync checkpoints.
    public let access: AccessStore
    let logger: Logger
    let defaultIndex: Int

    /// Immich's version whose shapes this server speaks.
    public static let immichVersion = (major: 3, minor: 3, patch: 5)
    public static var versionString: String { "v\(immichVersion.major).\(immichVersion.minor).\(immichVersion.patch)" }

    /// Edits per commit (each commit is one signed batch) when a request changes many assets.
    public static let editsPerCommit = 1000
    /// Ids one bulk request may name.
    static let maxBulkIDs = 20_000
    /// Body limits: small bodies, and bulk ones (20,000 UUIDs with JSON punctuation fit in 1 MiB).
    static let smallBody = 64 << 10
    static let bulkBody = 1 << 20
    /// The largest upload (`POST /api/assets`) this server accepts, in bytes.
    public let uploadLimit: Int64

    /// 64 GiB: more than any camera's video file; `uploadLimit` lowers it (tests).
    public static let defaultUploadLimit: Int64 = 64 << 30

    /// Failed logins per client address and per account (one per process unless a test gives its own).
    public let loginLimiter: LoginLimiter

    public init(libraries: [LibraryObjects], access: AccessStore, peerCount: @escaping @Sendable () -> Int = { 0 }, logger: Logger,
                uploadLimit: Int64 = HearthAPI.defaultUploadLimit, loginLimiter: LoginLimiter = .shared) throws {
        self.uploadLimit = uploadLimit
        self.loginLimiter = loginLimiter
        guard let first = libraries.first else { throw NodeError(.notFound, "no library to serve") }
        self.libraries = libraries
        self.access = access
        self.metrics = APIMetrics(peerCount: peerCount)
        self.logger = logger
        let wanted = first.node.config.defaultLibrary
        defaultIndex = libraries.firstIndex { $0.node.libraryID == wanted } ?? 0
    }

    /// A router with every route of `routes`, Immich's error bodies, metrics and the access log.
    public func router() -> Router<HearthRequestContext> {
        let router = Router(context: HearthRequestContext.self)
        router.middlewares.add(ImmichErrorMiddleware<HearthRequestContext>(metrics: metrics))
        for r in Self.routes {
            router.on(RouterPath(r.hummingbirdPath), method: r.method) { [self] request, context in
                if !r.open { _ = try authenticate(request) }
                return try await r.handler(self, request, context)
            }
        }
        return router
    }

    // MARK: Responses

    static func json(_ j: JSON, status: HTTPResponse.Status = .ok) -> Response {
        let buffer = ByteBuffer(string: j.serialized())
        var headers = HTTPFields()
        headers[.contentType] = "application/json; charset=utf-8"
        headers[.contentLength] = String(buffer.readableBytes)
        return Response(status: status, headers: headers, body: .init(byteBuffer: buffer))
    }

    static func noContent() -> Response { Response(status: .noContent) }

    /// Runs blocking work (SQLite, chunk reads) off the event loop.
    static func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { c in
            DispatchQueue.global().async { c.resume(with: Result { try body() }) }
        }
    }
}

/// One route: the single table the router and `GET /api/spec.json` are both built from.
public struct APIRoute: Sendable {
    public let method: HTTPRequest.Method
    /// OpenAPI spelling: `/api/assets/{id}`.
    public let path: String
    public let operationId: String
    public let tag: String
    public let summary: String
    /// Served without a session or API key.
    public let open: Bool
    let handler: @Sendable (HearthAPI, Request, HearthRequestContext) async throws -> Response

    init(_ method: HTTPRequest.Method, _ path: String, _ operationId: String, tag: String, _ summary: String, open: Bool = false,
         _ handler: @escaping @Sendable (HearthAPI, Request, HearthRequestContext) async throws -> Response) {
        (self.method, self.path, self.operationId, self.tag, self.summary, self.handler) = (method, path, operationId, tag, summary, handler)
        self.open = open
    }

    /// Hummingbird's spelling: `/api/assets/:id`.
    var hummingbirdPath: String {
        path.split(separator: "/", omittingEmptySubsequences: false).map { seg in
            seg.hasPrefix("{") && seg.hasSuffix("}") ? ":" + seg.dropFirst().dropLast() : String(seg)
        }.joined(separator: "/")
    }

    var pathParameters: [String] {
        path.split(separator: "/").filter { $0.hasPrefix("{") }.map { String($0.dropFirst().dropLast()) }
    }
}

extension HearthAPI {
    /// Every route this server registers.
    public static let routes: [APIRoute] = serverRoutes + authRoutes + uploadRoutes + assetRoutes + mediaRoutes + albumRoutes
        + timelineRoutes + otherRoutes + syncRoutes + [
        APIRoute(.get, "/api/spec.json", "getSpec", tag: "Server", "This server's OpenAPI document", open: true) { _, _, _ in
            json(OpenAPIDocument.make(HearthAPI.routes))
        },
        APIRoute(.get, "/metrics", "getMetrics", tag: "Server", "Prometheus metrics", open: true) { api, _, _ in
            let text = ByteBuffer(string: api.metrics.render())
            var h = HTTPFields()
            h[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            h[.contentLength] = String(text.readableBytes)
            return Response(status: .ok, headers: h, body: .init(byteBuffer: text))
        },
    ]
}
