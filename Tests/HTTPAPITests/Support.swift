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

    init(photos count: Int = 4, label: String = "api") throws {
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
        api = try HearthAPI(libraries: [try LibraryObjects(node: node)], peerCount: { 3 }, logger: Logger(label: "test.http"))
    }

    deinit { try? FileManager.default.removeItem(at: dir) }

    func assets(_ scope: AssetFilter.Scope = .library) throws -> [Asset] { try node.catalog.assets(AssetFilter(scope: scope)) }

    func uuid(_ a: Asset) -> String { AssetUUID(a.id).description }

    /// Runs `body` with a client of the API's router.
    func test<T: Sendable>(_ body: @Sendable @escaping (any TestClientProtocol) async throws -> T) async throws -> T {
        let app = Application(router: api.router())
        return try await app.test(.router) { client in try await body(client) }
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
