import Catalog
import Foundation
import HTTPAPI
import Hummingbird
import HummingbirdTesting
import Node
import Presentation
import Testing

@Suite struct AuthTests {
    @Test func everyRouteButTheLoginPagesNeedsACredential() async throws {
        let f = try APIFixture(photos: 1, label: "noauth")
        let a = f.uuid(try f.assets()[0])
        try await f.test(headers: [:]) { c async throws in
            for r in HearthAPI.routes {
                let uri = r.path.replacingOccurrences(of: "{id}", with: a)
                let resp = try await c.execute(uri: uri, method: r.method, headers: [.contentType: "application/json"], body: ByteBuffer(string: "{}"))
                if r.open {
                    #expect(resp.head.status != .unauthorized, "\(r.method) \(r.path) is open")
                } else {
                    expectImmichError(resp, 401)
                }
            }
            #expect(HearthAPI.routes.filter(\.open).allSatisfy { $0.path.hasPrefix("/api/server/") || $0.path.hasPrefix("/api/auth/login")
                || $0.path == "/api/auth/admin-sign-up" || $0.path == "/.well-known/immich" || $0.path == "/api/spec.json" || $0.path == "/metrics" })
            #expect(!HearthAPI.routes.first { $0.path == "/api/server/statistics" }!.open, "counts only after auth")
            expectImmichError(try await c.get("/api/assets/\(a)", headers: [.authorization: "Bearer nope"]), 401, "Invalid user token")
            expectImmichError(try await c.get("/api/assets/\(a)", headers: [.init("x-api-key")!: "nope"]), 401, "Invalid API key")
        }
    }

    @Test func loginSetsCookiesAndEveryCredentialKindWorks() async throws {
        let f = try APIFixture(photos: 1, label: "login")
        let a = f.uuid(try f.assets()[0])
        let token: String = try await f.test(headers: [:]) { c async throws in
            let bad = try await c.send(.post, "/api/auth/login", json: #"{"email":"ann@example.com","password":"wrong password"}"#)
            expectImmichError(bad, 401, "incorrect email or password")
            expectImmichError(try await c.send(.post, "/api/auth/login", json: #"{"email":"nobody@example.com","password":"whatever it is"}"#), 401)
            expectImmichError(try await c.send(.post, "/api/auth/login", json: #"{"email":5}"#), 400)
            let r = try await c.send(.post, "/api/auth/login", json: #"{"email":"ANN@example.com","password":"correct horse battery"}"#)
            #expect(r.head.status == .created, "\(r.text)")
            let j = try #require(r.json)
            #expect(j["userEmail"] == .string("ann@example.com") && j["isAdmin"] == .bool(true) && j["name"] == .string("Ann"))
            let token = try #require(j["accessToken"]?.stringValue)
            let cookies = r.head.headerFields[values: .setCookie]
            #expect(cookies.contains { $0.hasPrefix("immich_access_token=\(token);") && $0.contains("HttpOnly") })
            #expect(cookies.contains { $0.hasPrefix("immich_is_authenticated=true") })
            // Every way Immich's clients send it.
            for h: HTTPFields in [[.authorization: "Bearer \(token)"], [.cookie: "other=1; immich_access_token=\(token)"],
                                  [.init("x-immich-user-token")!: token]] {
                #expect(try await c.get("/api/assets/\(a)", headers: h).head.status == .ok, "\(h)")
            }
            let me = try await c.get("/api/users/me", headers: [.authorization: "Bearer \(token)"]).json
            #expect(me?["email"] == .string("ann@example.com") && me?["status"] == .string("active"))
            #expect(try await c.send(.post, "/api/auth/validateToken", json: "{}", headers: [.authorization: "Bearer \(token)"]).json?["authStatus"] == .bool(true))
            return token
        }
        try await f.test(headers: [.authorization: "Bearer \(token)"]) { c async throws in
            let out = try await c.send(.post, "/api/auth/logout", json: "{}")
            #expect(out.json?["successful"] == .bool(true))
            #expect(out.head.headerFields[values: .setCookie].contains { $0.hasPrefix("immich_access_token=;") && $0.contains("Max-Age=0") })
            expectImmichError(try await c.get("/api/users/me"), 401, "Invalid user token")
        }
    }

    @Test func loginsAreRateLimitedPerAccount() async throws {
        let f = try APIFixture(photos: 0, label: "ratelimit")
        try await f.test(headers: [:]) { c async throws in
            var statuses: [Int] = []
            for _ in 0..<12 {
                statuses.append(Int(try await c.send(.post, "/api/auth/login", json: #"{"email":"ann@example.com","password":"wrong password"}"#).head.status.code))
            }
            #expect(statuses.prefix(10).allSatisfy { $0 == 401 } && statuses.suffix(2).allSatisfy { $0 == 429 }, "\(statuses)")
            let ok = try await c.send(.post, "/api/auth/login", json: #"{"email":"ann@example.com","password":"correct horse battery"}"#)
            expectImmichError(ok, 429, "too many")
        }
    }

    /// Over a real socket the client's address is known: failures spread over many accounts from
    /// one address stop that address, even for an account that never failed.
    @Test func loginsAreRateLimitedPerAddress() async throws {
        let f = try APIFixture(photos: 0, label: "ratelimit-addr")
        let api = try HearthAPI(libraries: f.api.libraries, access: f.access, logger: .init(label: "t"), loginLimiter: LoginLimiter())
        let app = Application(router: api.router())
        try await app.test(.live) { c in
            var statuses: [Int] = []
            for i in 0..<11 {
                statuses.append(Int(try await c.send(.post, "/api/auth/login", json: #"{"email":"guess\#(i)@example.com","password":"x"}"#).head.status.code))
            }
            #expect(statuses.prefix(10).allSatisfy { $0 == 401 } && statuses.last == 429, "\(statuses)")
            let ok = try await c.send(.post, "/api/auth/login", json: #"{"email":"ann@example.com","password":"correct horse battery"}"#)
            expectImmichError(ok, 429, "too many")
            #expect(ok.head.headerFields[.retryAfter] != nil)
        }
        // Another address (the in-process client has none) still logs in.
        let other = try HearthAPI(libraries: f.api.libraries, access: f.access, logger: .init(label: "t"), loginLimiter: api.loginLimiter)
        try await Application(router: other.router()).test(.router) { c in
            let ok = try await c.send(.post, "/api/auth/login", json: #"{"email":"ann@example.com","password":"correct horse battery"}"#)
            #expect(ok.head.status == .created, "\(ok.text)")
        }
    }

    @Test func apiKeysCRUDAndUse() async throws {
        let f = try APIFixture(photos: 1, label: "keys")
        let a = f.uuid(try f.assets()[0])
        let (secret, id): (String, String) = try await f.test { c async throws in
            expectImmichError(try await c.send(.post, "/api/api-keys", json: #"{"name":"cli"}"#), 400, "permissions")
            expectImmichError(try await c.send(.post, "/api/api-keys", json: #"{"name":"cli","permissions":[]}"#), 400)
            let made = try await c.send(.post, "/api/api-keys", json: #"{"name":"cli","permissions":["all"]}"#)
            #expect(made.head.status == .created, "\(made.text)")
            let secret = try #require(made.json?["secret"]?.stringValue)
            let id = try #require(made.json?["apiKey"]?["id"]?.stringValue)
            #expect(try await c.get("/api/api-keys").json?.arrayValue?.count == 1)
            #expect(try await c.get("/api/api-keys/\(id)").json?["name"] == .string("cli"))
            let renamed = try await c.send(.put, "/api/api-keys/\(id)", json: #"{"name":"uploader"}"#)
            #expect(renamed.json?["name"] == .string("uploader"))
            expectImmichError(try await c.get("/api/api-keys/00000000-0000-4000-8000-000000000000"), 404)
            return (secret, id)
        }
        try await f.test(headers: [.init("x-api-key")!: secret]) { c async throws in
            #expect(try await c.get("/api/assets/\(a)").head.status == .ok)
            #expect(try await c.get("/api/users/me").json?["email"] == .string("ann@example.com"))
        }
        try await f.test(headers: [:]) { c async throws in
            #expect(try await c.get("/api/assets/\(a)?apiKey=\(secret)").head.status == .ok)
        }
        try await f.test { c async throws in
            #expect(try await c.execute(uri: "/api/api-keys/\(id)", method: .delete).head.status == .noContent)
        }
        try await f.test(headers: [.init("x-api-key")!: secret]) { c async throws in
            expectImmichError(try await c.get("/api/assets/\(a)"), 401, "Invalid API key")
        }
    }

    @Test func adminSignUpOnlyWhileTheLibraryHasNoPerson() async throws {
        let f = try APIFixture(photos: 0, label: "signup", person: false)
        try await f.test(headers: [:]) { c async throws in
            #expect(try await c.get("/api/server/config").json?["isInitialized"] == .bool(false))
            expectImmichError(try await c.send(.post, "/api/auth/admin-sign-up", json: #"{"email":"bo@example.com","password":"p"}"#), 400, "name")
            let r = try await c.send(.post, "/api/auth/admin-sign-up", json: #"{"email":"bo@example.com","password":"a long enough password","name":"Bo"}"#)
            #expect(r.head.status == .created, "\(r.text)")
            #expect(r.json?["isAdmin"] == .bool(true) && r.json?["email"] == .string("bo@example.com"))
            expectImmichError(try await c.send(.post, "/api/auth/admin-sign-up", json: #"{"email":"cy@example.com","password":"a long enough password","name":"Cy"}"#),
                              400, "already has an admin")
            #expect(try await c.get("/api/server/config").json?["isInitialized"] == .bool(true))
            let login = try await c.send(.post, "/api/auth/login", json: #"{"email":"bo@example.com","password":"a long enough password"}"#)
            #expect(login.head.status == .created)
            let token = try #require(login.json?["accessToken"]?.stringValue)
            let users = try await c.get("/api/users", headers: [.authorization: "Bearer \(token)"]).json?.arrayValue
            #expect(users?.count == 1 && users?.first?["name"] == .string("Bo"))
        }
        #expect(try f.node.catalog.people().count == 1)
    }
}
