import Catalog
import Foundation
import HearthCrypto
import Hummingbird
import Node
import Presentation

/// Who a request is: the library and person its session or API key belongs to.
public struct Auth: Sendable {
    public let lib: LibraryObjects
    public let person: Person
    public let session: Session?
    public let apiKey: APIKey?
}

extension HearthAPI {
    /// The credential a request carries, as Immich's clients send them: `Authorization: Bearer`,
    /// `x-immich-user-token` / `x-immich-session-token`, the `immich_access_token` cookie (session
    /// tokens); `x-api-key` or `?apiKey=` (API keys).
    enum Credential { case session(String), apiKey(String) }

    static func credential(_ req: Request) -> Credential? {
        let h = req.headers
        if let a = h[.authorization], a.lowercased().hasPrefix("bearer ") {
            return .session(String(a.dropFirst(7)).trimmingCharacters(in: .whitespaces))
        }
        for name in ["x-immich-user-token", "x-immich-session-token"] {
            if let t = h[.init(name)!], !t.isEmpty { return .session(t) }
        }
        if let k = h[.init("x-api-key")!], !k.isEmpty { return .apiKey(k) }
        if let cookie = h[.cookie] {
            for part in cookie.split(separator: ";") {
                let kv = part.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1).map(String.init)
                if kv.count == 2, kv[0] == "immich_access_token", !kv[1].isEmpty { return .session(kv[1]) }
            }
        }
        if let k = req.uri.queryParameters.get("apiKey"), !k.isEmpty { return .apiKey(String(k)) }
        return nil
    }

    /// The request's session or API key, checked: 401 (Immich's body) when missing, unknown,
    /// revoked, or its person was removed.
    public func authenticate(_ req: Request) throws -> Auth {
        guard let cred = Self.credential(req) else { throw APIError(.unauthorized, "Authentication required") }
        let now = HearthNode.wallClockMillis()
        var session: Session?, key: APIKey?
        var library = "", personID: PersonID?
        switch cred {
        case .session(let token):
            guard token.utf8.count <= 512, let s = try access.session(token: token, now: now) else {
                throw APIError(.unauthorized, "Invalid user token")
            }
            session = s
            (library, personID) = (s.library, s.person)
        case .apiKey(let secret):
            guard secret.utf8.count <= 512, let k = try access.apiKey(secret: secret) else { throw APIError(.unauthorized, "Invalid API key") }
            key = k
            (library, personID) = (k.library, k.person)
        }
        guard let lib = libraries.first(where: { $0.node.libraryID == library }), let personID,
              let person = try lib.node.catalog.person(personID), !person.deleted else {
            throw APIError(.unauthorized, "Invalid user token")
        }
        return Auth(lib: lib, person: person, session: session, apiKey: key)
    }

    /// The library a request is served from: its session's or API key's.
    func library(for request: Request) throws -> LibraryObjects { try authenticate(request).lib }

    static func userJSON(_ p: Person) -> JSON {
        .object([("id", .string(p.id.uuid)), ("email", .string(p.email)), ("name", .string(p.name)),
                 ("profileImagePath", .string("")), ("avatarColor", .string(p.avatarColor)),
                 ("profileChangedAt", .string(ImmichDate.string(millis: p.updatedAt)))])
    }

    /// Immich's `UserAdminResponseDto`; its `clusterGroupId` names the library (the group of
    /// nodes that hold it), as a UUID.
    static func userAdminJSON(_ p: Person, library: String) -> JSON {
        guard case .object(var pairs) = userJSON(p) else { return .null }
        pairs += [("clusterGroupId", .string(UUIDText.derived(Hex.decode(library) ?? []))),("isAdmin", .bool(p.isAdmin)), ("shouldChangePassword", .bool(false)), ("storageLabel", .null),
                  ("createdAt", .string(ImmichDate.string(millis: p.createdAt))), ("updatedAt", .string(ImmichDate.string(millis: p.updatedAt))),
                  ("deletedAt", .null), ("oauthId", .string("")), ("quotaSizeInBytes", .null), ("quotaUsageInBytes", .null),
                  ("status", .string("active")), ("license", .null)]
        return .object(pairs)
    }

    static func apiKeyJSON(_ k: APIKey) -> JSON {
        .object([("id", .string(k.id)), ("name", .string(k.name)), ("permissions", .array(k.permissions.map(JSON.string))),
                 ("createdAt", .string(ImmichDate.string(millis: k.createdAt))), ("updatedAt", .string(ImmichDate.string(millis: k.updatedAt)))])
    }

    /// The cookies Immich sets at login (and clears at logout).
    static func cookies(token: String?) -> [String] {
        let age = token == nil ? "Max-Age=0" : "Max-Age=34560000"
        return ["immich_access_token=\(token ?? ""); Path=/; \(age); HttpOnly; SameSite=Lax",
                "immich_auth_type=\(token == nil ? "" : "password"); Path=/; \(age); HttpOnly; SameSite=Lax",
                "immich_is_authenticated=\(token == nil ? "" : "true"); Path=/; \(age); SameSite=Lax"]
    }

    static func withCookies(_ r: Response, token: String?) -> Response {
        var out = r
        for c in cookies(token: token) { out.headers.append(HTTPFields(dictionaryLiteral: (.setCookie, c)).first!) }
        return out
    }

    static func permissions(_ b: JSONBody, required: Bool) throws -> [String]? {
        switch b.raw("permissions") {
        case nil:
            if required { throw APIError.badRequest("permissions must be an array") }
            return nil
        case .array(let items)?:
            guard !items.isEmpty, items.count <= AccessStore.Limits.permissions else {
                throw APIError.badRequest("permissions must contain 1 to \(AccessStore.Limits.permissions) values")
            }
            return try items.map { v in
                guard case .string(let s) = v, !s.isEmpty, s.utf8.count <= AccessStore.Limits.permissionBytes else {
                    throw APIError.badRequest("each value in permissions must be a permission name")
                }
                return s
            }
        default: throw APIError.badRequest("permissions must be an array")
        }
    }

    static func preferencesJSON() -> JSON {
        func o(_ p: [(String, JSON)]) -> JSON { .object(p) }
        return o([
            ("albums", o([("defaultAssetOrder", .string("desc"))])),
            ("cast", o([("gCastEnabled", .bool(false))])),
            ("download", o([("archiveSize", .int(4 << 30)), ("includeEmbeddedVideos", .bool(false))])),
            ("emailNotifications", o([("enabled", .bool(false)), ("albumInvite", .bool(false)), ("albumUpdate", .bool(false))])),
            ("folders", o([("enabled", .bool(false)), ("sidebarWeb", .bool(false))])),
            ("memories", o([("enabled", .bool(false)), ("duration", .int(5)), ("sidebarWeb", .bool(false))])),
            ("people", o([("enabled", .bool(false)), ("sidebarWeb", .bool(false)), ("minimumFaces", .int(3)), ("updateStrategy", .string("self"))])),
            ("purchase", o([("showSupportBadge", .bool(false)), ("hideBuyButtonUntil", .string("2100-01-01T00:00:00.000Z"))])),
            ("ratings", o([("enabled", .bool(true))])),
            ("recentlyAdded", o([("sidebarWeb", .bool(false))])),
            ("sharedLinks", o([("enabled", .bool(false)), ("sidebarWeb", .bool(false))])),
            ("tags", o([("enabled", .bool(true)), ("sidebarWeb", .bool(false))])),
        ])
    }

    static func nodeErrorResponse(_ e: NodeError) -> APIError {
        switch e.code {
        case .unauthorized: APIError(.unauthorized, e.message)
        case .rateLimited: APIError(.tooManyRequests, e.message, retryAfter: e.retryAfterSeconds)
        case .forbidden: APIError(.forbidden, e.message)
        case .conflict: APIError(.conflict, e.message)
        case .invalidArgument: APIError(.badRequest, e.message)
        case .notFound: APIError(.notFound, e.message)
        default: APIError(.internalServerError, e.message)
        }
    }

    static let authRoutes: [APIRoute] = [
        APIRoute(.post, "/api/auth/login", "login", tag: "Authentication", "Log in with email and password", open: true) { api, req, ctx in
            let body = try await JSONBody.read(req, limit: smallBody)
            guard let e = try body.string("email", maxBytes: 320), let email = e, !email.isEmpty else {
                throw APIError.badRequest("email must be an email")
            }
            guard let pw = try body.string("password", maxBytes: 1024), let password = pw else {
                throw APIError.badRequest("password must be a string")
            }
            let now = HearthNode.wallClockMillis()
            let address = ctx.clientAddress
            let (token, person): (String, Person) = try await blocking {
                // The library holding that email (else the default one, so a miss costs a password check too).
                let lib = try api.libraries.first { try $0.node.catalog.person(email: email) != nil } ?? api.libraries[api.defaultIndex]
                let p: Person
                do { p = try lib.node.login(email: email, password: password, address: address, now: now, limiter: api.loginLimiter) } catch let e as NodeError {
                    throw nodeErrorResponse(e)
                }
                let s = try api.access.createSession(library: lib.node.libraryID, person: p.id,
                                                     deviceType: String((req.headers[.userAgent] ?? "").prefix(200)), now: now)
                return (s.token, p)
            }
            let r = json(.object([("accessToken", .string(token)), ("userId", .string(person.id.uuid)), ("userEmail", .string(person.email)),
                                  ("name", .string(person.name)), ("profileImagePath", .string("")), ("isAdmin", .bool(person.isAdmin)),
                                  ("shouldChangePassword", .bool(false)), ("isOnboarded", .bool(true))]), status: .created)
            return withCookies(r, token: token)
        },
        APIRoute(.post, "/api/auth/admin-sign-up", "signUpAdmin", tag: "Authentication",
                 "The first person of a library without one, as its admin", open: true) { api, req, _ in
            let body = try await JSONBody.read(req, limit: smallBody)
            guard let e = try body.string("email", maxBytes: 320), let email = e, email.contains("@") else {
                throw APIError.badRequest("email must be an email")
            }
            guard let pw = try body.string("password", maxBytes: 1024), let password = pw else { throw APIError.badRequest("password must be a string") }
            guard let n = try body.string("name", maxBytes: 1024), let name = n, !name.isEmpty else { throw APIError.badRequest("name must be a string") }
            let lib = api.libraries[api.defaultIndex]
            let person: Person = try await blocking {
                guard try lib.node.catalog.people().isEmpty else { throw APIError.badRequest("The server already has an admin") }
                do { return try lib.node.addPerson(email: email, name: name, password: password, isAdmin: true) } catch let e as NodeError {
                    throw nodeErrorResponse(e)
                }
            }
            return json(userAdminJSON(person, library: lib.node.libraryID), status: .created)
        },
        APIRoute(.post, "/api/auth/logout", "logout", tag: "Authentication", "End this session") { api, req, _ in
            let auth = try api.authenticate(req)
            if let s = auth.session { _ = try await blocking { try api.access.deleteSession(id: s.id) } }
            return withCookies(json(.object([("successful", .bool(true)), ("redirectUri", .string("/auth/login?autoLaunch=0"))])), token: nil)
        },
        APIRoute(.post, "/api/auth/validateToken", "validateAccessToken", tag: "Authentication", "Whether the credential is valid") { api, req, _ in
            _ = try api.authenticate(req)
            return json(.object([("authStatus", .bool(true))]))
        },
        APIRoute(.get, "/api/users/me", "getMyUser", tag: "Users", "The person logged in") { api, req, _ in
            let auth = try api.authenticate(req)
            return json(userAdminJSON(auth.person, library: auth.lib.node.libraryID))
        },
        APIRoute(.get, "/api/users/me/preferences", "getMyPreferences", tag: "Users", "The person's preferences (defaults)") { api, req, _ in
            _ = try api.authenticate(req)
            return json(preferencesJSON())
        },
        APIRoute(.get, "/api/users", "searchUsers", tag: "Users", "The library's people") { api, req, _ in
            let lib = try api.library(for: req)
            return json(.array(try await blocking { try lib.node.catalog.people() }.map(userJSON)))
        },
        APIRoute(.get, "/api/api-keys", "getApiKeys", tag: "API keys", "The person's API keys on this node") { api, req, _ in
            let auth = try api.authenticate(req)
            return json(.array(try api.access.apiKeys(library: auth.lib.node.libraryID, person: auth.person.id).map(apiKeyJSON)))
        },
        APIRoute(.post, "/api/api-keys", "createApiKey", tag: "API keys", "A new API key (its secret is shown once)") { api, req, _ in
            let auth = try api.authenticate(req)
            let body = try await JSONBody.read(req, limit: smallBody)
            let name = (try body.string("name", maxBytes: AccessStore.Limits.nameBytes) ?? nil) ?? "API Key"
            let perms = try permissions(body, required: true)!
            if let k = auth.apiKey, !k.allows("all") { throw APIError(.forbidden, "An API key without the all permission cannot create keys") }
            let made = try api.access.createAPIKey(library: auth.lib.node.libraryID, person: auth.person.id, name: name, permissions: perms,
                                                   now: HearthNode.wallClockMillis())
            guard case .object(var pairs) = apiKeyJSON(made.key) else { return json(.null) }
            pairs += [("secret", .string(made.secret)), ("apiKey", apiKeyJSON(made.key))]
            return json(.object(pairs), status: .created)
        },
        APIRoute(.get, "/api/api-keys/{id}", "getApiKey", tag: "API keys", "One API key") { api, req, ctx in
            let auth = try api.authenticate(req)
            return json(apiKeyJSON(try ownKey(api, auth, try uuidParameter(ctx))))
        },
        APIRoute(.put, "/api/api-keys/{id}", "updateApiKey", tag: "API keys", "Rename a key or change its permissions") { api, req, ctx in
            let auth = try api.authenticate(req)
            let id = try uuidParameter(ctx)
            let body = try await JSONBody.read(req, limit: smallBody)
            let name = try body.string("name", maxBytes: AccessStore.Limits.nameBytes) ?? nil
            let perms = try permissions(body, required: false)
            let key = try ownKey(api, auth, id)
            _ = try api.access.renameAPIKey(id: key.id, name: name, permissions: perms, now: HearthNode.wallClockMillis())
            return json(apiKeyJSON(try ownKey(api, auth, id)))
        },
        APIRoute(.delete, "/api/api-keys/{id}", "deleteApiKey", tag: "API keys", "Revoke a key") { api, req, ctx in
            let auth = try api.authenticate(req)
            try api.access.deleteAPIKey(id: try ownKey(api, auth, try uuidParameter(ctx)).id)
            return noContent()
        },
    ]

    /// A key of the requesting person (another person's is as unknown as a missing one).
    static func ownKey(_ api: HearthAPI, _ auth: Auth, _ id: String) throws -> APIKey {
        guard let k = try api.access.apiKey(id: id), k.person == auth.person.id, k.library == auth.lib.node.libraryID else {
            throw APIError.notFound("API key \(id) not found")
        }
        return k
    }
}
