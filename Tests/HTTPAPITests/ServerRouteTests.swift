import Foundation
import HearthCrypto
import HTTPAPI
import Hummingbird
import HummingbirdTesting
import Presentation
import Testing

@Suite struct AssetUUIDTests {
    @Test func uuidKeepsTheFirstBytesAndSetsVersionAndVariant() throws {
        let id = Blake2b.hash256(Array("a photo".utf8))
        let u = AssetUUID(id)
        let text = u.description
        #expect(text.count == 36)
        let hex = text.replacingOccurrences(of: "-", with: "")
        #expect(hex.prefix(12) == id.hex.prefix(12), "the first 6 bytes are unaltered")
        #expect(Array(text)[14] == "4", "version 4 form, which Immich's typed clients insist on")
        #expect("89ab".contains(Array(text)[19]), "RFC 4122 variant")
        #expect(AssetUUID(string: text) == u)
        #expect(AssetUUID(string: text.uppercased()) == u)
        #expect(u.matches(id))
        #expect(!u.matches(Blake2b.hash256(Array("another".utf8))))
        for bad in ["", "not-a-uuid", String(text.dropLast()), text + "0", text.replacingOccurrences(of: "-", with: ""),
                    "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz"] {
            #expect(AssetUUID(string: bad) == nil, "\(bad)")
        }
    }

    @Test func resolvesBackThroughTheCatalog() throws {
        let f = try APIFixture(photos: 2, label: "uuid")
        for a in try f.assets() {
            #expect(try AssetUUID(a.id).resolve(in: f.node.catalog) == a.id)
        }
        // Same first 6 bytes, different rest: not that asset.
        let a = try f.assets()[0]
        var other = AssetUUID(a.id).description
        other.removeLast()
        other += other.last == "0" ? "1" : "0"
        #expect(try AssetUUID(string: other)!.resolve(in: f.node.catalog) == nil)
    }
}

@Suite struct ServerRouteTests {
    @Test func serverRoutesAnswerImmichShapes() async throws {
        let f = try APIFixture(photos: 2, label: "server")
        try await f.test { c in
            let wk = try await c.get("/.well-known/immich")
            #expect(wk.json?["api"]?["endpoint"] == .string("/api"))
            #expect(try await c.get("/api/server/ping").json == .object([("res", .string("pong"))]))
            let v = try #require(try await c.get("/api/server/version").json)
            #expect(v["major"] == .int(3) && v["minor"] == .int(3) && v["patch"] == .int(5))
            #expect(v["prerelease"] == .null)
            let about = try await c.get("/api/server/about").json
            #expect(about?["version"] == .string("v3.3.5"))
            #expect(about?["licensed"] == .bool(false))
            let features = try #require(try await c.get("/api/server/features").json)
            #expect(features["passwordLogin"] == .bool(true) && features["trash"] == .bool(true) && features["map"] == .bool(true))
            for off in ["oauth", "smartSearch", "facialRecognition", "duplicateDetection", "ocr", "search", "reverseGeocoding"] {
                #expect(features[off] == .bool(false), "\(off) is off")
            }
            let config = try await c.get("/api/server/config").json
            #expect(config?["isInitialized"] == .bool(true) && config?["trashDays"] == .int(30))
            let stats = try await c.get("/api/server/statistics").json
            #expect(stats?["photos"] == .int(2) && stats?["videos"] == .int(0))
            #expect((stats?["usage"]?.intValue ?? 0) > 0)
            let storage = try await c.get("/api/server/storage").json
            #expect((storage?["diskSizeRaw"]?.intValue ?? 0) > 0)
            let types = try await c.get("/api/server/media-types").json
            #expect(types?["image"]?.arrayValue?.contains(.string(".jpg")) == true)
            #expect(types?["video"]?.arrayValue?.contains(.string(".mp4")) == true)
            let history = try await c.get("/api/server/version-history").json
            #expect(history?.arrayValue?.first?["version"] == .string("v3.3.5"))
        }
    }

    @Test func unknownRouteIsAnImmich404() async throws {
        let f = try APIFixture(photos: 0, label: "404")
        try await f.test { c in
            expectImmichError(try await c.get("/api/nothing/here"), 404, "/api/nothing/here")
            expectImmichError(try await c.execute(uri: "/api/server/ping", method: .delete), 404)
            let ok = try await c.get("/api/server/ping")
            #expect(ok.head.headerFields[.init("X-Correlation-ID")!] != nil, "every response carries a correlation id")
        }
    }

    /// The spec lists exactly the registered routes, and each registered route is served (not
    /// the unknown-route 404).
    @Test func specDocumentsEveryRegisteredRoute() async throws {
        let f = try APIFixture(photos: 0, label: "spec")
        try await f.test { c in
            let spec = try #require(try await c.get("/api/spec.json").json)
            #expect(spec["openapi"] == .string("3.0.3"))
            guard case .object(let paths)? = spec["paths"] else { Issue.record("no paths"); return }
            var documented = Set<String>()
            for (path, ops) in paths {
                guard case .object(let o) = ops else { continue }
                for (method, _) in o { documented.insert("\(method.uppercased()) \(path)") }
            }
            let registered = Set(HearthAPI.routes.map { "\($0.method.rawValue) \($0.path)" })
            #expect(documented == registered)
            #expect(registered.count == HearthAPI.routes.count, "no route registered twice")
            for r in HearthAPI.routes where r.path != "/api/auth/logout" {
                let uri = r.path.replacingOccurrences(of: "{id}", with: "00000000-0000-4000-8000-000000000000")
                let resp = try await c.execute(uri: uri, method: r.method, headers: [.contentType: "application/json"],
                                               body: ByteBuffer(string: "{}"))
                let message = resp.json?["message"]?.stringValue ?? ""
                let unrouted = resp.head.status == .notFound && message.hasPrefix("Cannot ")
                #expect(unrouted == false, "\(r.method) \(r.path) is routed: \(message)")
                #expect(resp.head.status.code < 500, "\(r.method) \(r.path): \(resp.head.status.code) \(resp.text)")
            }
        }
    }

    @Test func metricsCountRequestsByRouteAndStatus() async throws {
        let f = try APIFixture(photos: 1, label: "metrics")
        try await f.test { c in
            _ = try await c.get("/api/server/ping")
            _ = try await c.get("/api/server/ping")
            _ = try await c.get("/api/assets/not-a-uuid")
            let m = try await c.get("/metrics")
            #expect(m.head.headerFields[.contentType]?.hasPrefix("text/plain") == true)
            let text = m.text
            #expect(text.contains(#"hearth_http_requests_total{route="/api/server/ping",method="GET",status="200"} 2"#), "\(text)")
            #expect(text.contains(#"route="/api/assets/{id}",method="GET",status="400"} 1"#), "\(text)")
            #expect(text.contains("hearth_http_request_duration_seconds_bucket"))
            #expect(text.contains("hearth_sync_peers_connected 3"))
            #expect(text.contains("hearth_http_response_bytes_total"))
        }
    }
}
