import Catalog
import Foundation
import HearthCrypto
import HTTPAPI
import Hummingbird
import HummingbirdTesting
import Logging
import Node
import Presentation
import Testing

/// A real temporary node (real SQLite catalog, real chunk store) with real imported sample photos,
/// and the HTTP API over it, driven in process through Hummingbird's router test client.
final class APIFixture: @unchecked Sendable {
    let dir: URL
    let node: HearthNode
    let api: HearthAPI
    let photos: [String]
    let access: AccessStore
    /// A session of the library's admin, sent with every request of `test` (nil: none).
    var token: String?
    var person: Person?

    init(photos count: Int = 4, label: String = "api", person withPerson: Bool = true) throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("hearth-http-\(label)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        node = try HearthNode.create(home: Home(path: dir.appendingPathComponent("home").path), deviceName: "laptop")
        if count > 0 {
            photos = try SamplePhotos.write(to: dir.appendingPathComponent("photos").path, count: count, width: 320, height: 240, seed: 7)
            let report = try node.importPaths(photos)
            guard report.imported.count == count else { throw NodeError(.io, "sample import failed: \(report.failed)") }
        } else {
            photos = []
        }
        access = try AccessStore.open(home: node.home)
        api = try HearthAPI(libraries: [try LibraryObjects(node: node)], access: access, peerCount: { 3 }, logger: Logger(label: "test.http"))
        if withPerson {
            let p = try node.addPerson(email: "ann@example.com", name: "Ann", password: "correct horse battery", isAdmin: true)
            person = p
            token = try access.createSession(library: node.libraryID, person: p.id, now: HearthNode.wallClockMillis()).token
        }
    }

    deinit { try? FileManager.default.removeItem(at: dir) }

    func assets(_ scope: AssetFilter.Scope = .library) throws -> [Asset] { try node.catalog.assets(AssetFilter(scope: scope)) }

    func uuid(_ a: Asset) -> String { AssetUUID(a.id).description }

    /// Runs `body` with a client of the API's router; every request carries `headers` (by
    /// default the admin's session as `Authorization: Bearer`).
    func test<T: Sendable>(headers: HTTPFields? = nil, _ body: @Sendable @escaping (any TestClientProtocol) async throws -> T) async throws -> T {
        let app = Application(router: api.router())
        var h = HTTPFields()
        if let headers { h = headers } else if let token { h[.authorization] = "Bearer \(token)" }
        let extra = h
        return try await app.test(.router) { client in try await body(WithHeaders(base: client, headers: extra)) }
    }
}

/// A test client that adds headers (credentials) to every request.
struct WithHeaders: TestClientProtocol {
    let base: any TestClientProtocol
    let headers: HTTPFields
    var port: Int? { base.port }
    func executeRequest(uri: String, method: HTTPRequest.Method, headers extra: HTTPFields, body: ByteBuffer?) async throws -> TestResponse {
        var h = extra
        for f in headers where h[f.name] == nil { h.append(f) }
        return try await base.executeRequest(uri: uri, method: method, headers: h, body: body)
    }
}

extension TestResponse {
    var text: String { String(buffer: body) }
    var json: JSON? { try? JSONDecoder().decode(JSON.self, from: Data(body.readableBytesView)) }
    var bytes: [UInt8] { Array(body.readableBytesView) }
}

extension TestClientProtocol {
    /// A request with a JSON body (`Content-Type: application/json`).
    func send(_ method: HTTPRequest.Method, _ uri: String, json: String, headers extra: HTTPFields = [:]) async throws -> TestResponse {
        var h = extra
        if h[.contentType] == nil { h[.contentType] = "application/json" }
        return try await execute(uri: uri, method: method, headers: h, body: ByteBuffer(string: json))
    }

    func get(_ uri: String, headers: HTTPFields = [:]) async throws -> TestResponse {
        try await execute(uri: uri, method: .get, headers: headers)
    }
}

/// Checks an Immich error answer: the status, the four body fields and the correlation header.
func expectImmichError(_ r: TestResponse, _ status: Int, _ messagePart: String? = nil,
                       sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(Int(r.head.status.code) == status, "status \(r.head.status.code), body \(r.text)", sourceLocation: sourceLocation)
    let j = r.json
    #expect(j?["statusCode"] == .int(Int64(status)), "body \(r.text)", sourceLocation: sourceLocation)
    #expect(j?["error"] == .string(APIError.errorName(status)) && j?["message"]?.stringValue?.isEmpty == false, "body \(r.text)", sourceLocation: sourceLocation)
    let cid = j?["correlationId"]
    #expect(cid != nil && cid == r.head.headerFields[.init("X-Correlation-ID")!].map(JSON.string),
            "correlation id in body and header: \(r.text)", sourceLocation: sourceLocation)
    if let messagePart {
        if case .string(let m)? = j?["message"] {
            #expect(m.contains(messagePart), "message \"\(m)\" names \"\(messagePart)\"", sourceLocation: sourceLocation)
        } else {
            Issue.record("no message in \(r.text)", sourceLocation: sourceLocation)
        }
    }
}

extension JSON {
    var stringValue: String? { if case .string(let s) = self { s } else { nil } }
    var intValue: Int64? { if case .int(let i) = self { i } else { nil } }
    var boolValue: Bool? { if case .bool(let b) = self { b } else { nil } }
    var arrayValue: [JSON]? { if case .array(let a) = self { a } else { nil } }
}
