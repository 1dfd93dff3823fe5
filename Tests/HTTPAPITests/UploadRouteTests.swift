import Catalog
import Foundation
import HearthCrypto
import HTTPAPI
import Hummingbird
import HummingbirdTesting
import Node
import Presentation
import Testing

/// A multipart/form-data body as Immich's clients send an upload.
struct MultipartForm {
    let boundary = "----hearth-test-\(UUID().uuidString.prefix(8))"
    var bytes: [UInt8] = []

    mutating func field(_ name: String, _ value: String) {
        bytes += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n".utf8)
    }

    mutating func file(_ name: String, fileName: String, _ data: [UInt8], type: String = "application/octet-stream") {
        bytes += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"; filename=\"\(fileName)\"\r\nContent-Type: \(type)\r\n\r\n".utf8)
        bytes += data
        bytes += Array("\r\n".utf8)
    }

    var body: ByteBuffer { ByteBuffer(bytes: bytes + Array("--\(boundary)--\r\n".utf8)) }
    var headers: HTTPFields { [.contentType: "multipart/form-data; boundary=\(boundary)"] }

    /// Immich's upload form for one file.
    static func upload(_ data: [UInt8], fileName: String, extra: [(String, String)] = []) -> MultipartForm {
        var f = MultipartForm()
        f.field("fileCreatedAt", "2023-04-05T06:07:08.000Z")
        f.field("fileModifiedAt", "2023-04-05T06:07:08.000Z")
        for (k, v) in extra { f.field(k, v) }
        f.file("assetData", fileName: fileName, data)
        return f
    }
}

extension TestClientProtocol {
    func upload(_ form: MultipartForm, headers extra: HTTPFields = [:]) async throws -> TestResponse {
        var h = form.headers
        for f in extra { h.append(f) }
        return try await execute(uri: "/api/assets", method: .post, headers: h, body: form.body)
    }
}

@Suite struct UploadRouteTests {
    static func photo(_ f: APIFixture, seed: Int, width: Int = 320) throws -> (path: String, bytes: [UInt8]) {
        let dir = f.dir.appendingPathComponent("new-\(seed)").path
        let path = try SamplePhotos.write(to: dir, count: 1, width: width, height: 240, seed: seed)[0]
        return (path, Array(try Data(contentsOf: URL(fileURLWithPath: path))))
    }

    /// A one-second QuickTime video made by ffmpeg.
    static func shortVideo(in dir: URL) -> [UInt8]? {
        let out = dir.appendingPathComponent("clip.mov").path
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc=duration=1:size=160x120:rate=10",
                       "-pix_fmt", "yuv420p", out]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return nil }
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { return nil }
        return (try? Data(contentsOf: URL(fileURLWithPath: out))).map(Array.init)
    }

    @Test func uploadStoresThePhotoWithItsChecksumAndOwner() async throws {
        let f = try APIFixture(photos: 0, label: "up")
        let (_, bytes) = try Self.photo(f, seed: 101)
        let sha1 = SHA1.base64(SHA1.digest(bytes))
        try await f.test { c in
            let r = try await c.upload(.upload(bytes, fileName: "IMG_0101.jpg", extra: [("isFavorite", "true")]))
            #expect(r.head.status == .created, "\(r.text)")
            #expect(r.json?["status"] == .string("created"))
            let id = try #require(r.json?["id"]?.stringValue)
            let a = try #require(try f.assets().first)
            #expect(f.uuid(a) == id)
            #expect(a.fileName == "IMG_0101.jpg")
            #expect(a.sha1 == sha1)
            #expect(a.owner == f.person?.id)
            #expect(a.favorite)
            #expect(a.thumbnail != nil && a.preview != nil)
            let original = try await c.get("/api/assets/\(id)/original")
            #expect(original.bytes == bytes)
            let info = try await c.get("/api/assets/\(id)")
            #expect(info.json?["checksum"] == .string(sha1))
        }
        try #expect(f.node.verify().problems.isEmpty)
    }

    @Test func aSecondUploadIsADuplicateByBodyAndByHeader() async throws {
        let f = try APIFixture(photos: 0, label: "dup")
        let (_, bytes) = try Self.photo(f, seed: 102)
        try await f.test { c in
            let first = try await c.upload(.upload(bytes, fileName: "a.jpg"))
            #expect(first.head.status == .created)
            let again = try await c.upload(.upload(bytes, fileName: "renamed.jpg"))
            #expect(again.head.status == .ok && again.json?["status"] == .string("duplicate"), "\(again.text)")
            #expect(again.json?["id"] == first.json?["id"])
            // With x-immich-checksum the answer comes before the body is read: a body that is
            // not even multipart is never looked at.
            let sum = SHA1.base64(SHA1.digest(bytes))
            let early = try await c.execute(uri: "/api/assets", method: .post, headers: [.init("x-immich-checksum")!: sum],
                                            body: ByteBuffer(string: "not multipart"))
            #expect(early.head.status == .ok && early.json?["id"] == first.json?["id"], "\(early.text)")
            // Hex checksums too.
            let hex = Hex.encode(SHA1.digest(bytes))
            let check = try await c.send(.post, "/api/assets/bulk-upload-check",
                                         json: #"{"assets":[{"id":"x","checksum":"\#(hex)"},{"id":"y","checksum":"\#(String(repeating: "0", count: 40))"}]}"#)
            let results = try #require(check.json?["results"]?.arrayValue)
            #expect(results.count == 2)
            #expect(results[0]["action"] == .string("reject") && results[0]["reason"] == .string("duplicate"))
            #expect(results[0]["assetId"] == first.json?["id"] && results[0]["isTrashed"] == .bool(false))
            #expect(results[1]["action"] == .string("accept") && results[1]["id"] == .string("y"))
        }
        #expect(try f.assets().count == 1)
    }

    @Test func badUploadsAreRefusedAndStoreNothing() async throws {
        let f = try APIFixture(photos: 0, label: "bad")
        let (_, bytes) = try Self.photo(f, seed: 103)
        let before = try f.node.catalog.counts().batches
        try await f.test { c in
            // Not multipart.
            expectImmichError(try await c.send(.post, "/api/assets", json: "{}"), 415)
            // No file; an empty file.
            var noFile = MultipartForm()
            noFile.field("fileCreatedAt", "2023-04-05T06:07:08.000Z")
            expectImmichError(try await c.upload(noFile), 400, "assetData is required")
            expectImmichError(try await c.upload(.upload([], fileName: "empty.jpg")), 400, "must not be empty")
            // A corrupt photo (a JPEG's start marker, then noise) and a text file: reported with
            // the reason. (A JPEG cut after its headers still decodes, damaged, as elsewhere.)
            let corrupt: [UInt8] = [0xFF, 0xD8, 0xFF, 0xE0] + [UInt8](repeating: 0x55, count: 2000)
            expectImmichError(try await c.upload(.upload(corrupt, fileName: "broken.jpg")), 400, "broken.jpg")
            expectImmichError(try await c.upload(.upload(Array("hello".utf8), fileName: "notes.txt")), 400, "notes.txt")
            // Wrong field types.
            expectImmichError(try await c.upload(.upload(bytes, fileName: "a.jpg", extra: [("isFavorite", "maybe")])), 400, "isFavorite")
            expectImmichError(try await c.upload(.upload(bytes, fileName: "a.jpg", extra: [("fileCreatedAt", "yesterday")])), 400)
            expectImmichError(try await c.upload(.upload(bytes, fileName: "a.jpg", extra: [("livePhotoVideoId", "nope")])), 400)
            expectImmichError(try await c.upload(.upload(bytes, fileName: "a.jpg",
                                                         extra: [("livePhotoVideoId", "00000000-0000-4000-8000-000000000000")])), 400)
            // A body that ends inside a part.
            var cut = MultipartForm.upload(bytes, fileName: "a.jpg")
            cut.bytes.removeLast(10)
            var h = cut.headers
            h[.contentType] = "multipart/form-data; boundary=\(cut.boundary)"
            let truncated = try await c.execute(uri: "/api/assets", method: .post, headers: h, body: ByteBuffer(bytes: cut.bytes))
            expectImmichError(truncated, 400)
            // With a wrong token.
            expectImmichError(try await c.upload(.upload(bytes, fileName: "a.jpg"), headers: [.authorization: "Bearer wrong"]), 401)
        }
        #expect(try f.assets(.all).isEmpty)
        #expect(try f.node.catalog.counts().batches == before)
        let leftovers = (try? FileManager.default.contentsOfDirectory(atPath: f.node.home.root.appendingPathComponent("tmp/uploads").path)) ?? []
        #expect(leftovers.isEmpty, "temporary upload folders are removed: \(leftovers)")
    }

    @Test func pathTricksInFileNamesStayInTheUploadFolder() async throws {
        let f = try APIFixture(photos: 0, label: "path")
        let (_, bytes) = try Self.photo(f, seed: 104)
        try await f.test { c in
            let r = try await c.upload(.upload(bytes, fileName: "../../../../etc/evil.jpg"))
            #expect(r.head.status == .created, "\(r.text)")
            let hidden = try await c.upload(.upload(try Self.photo(f, seed: 105).bytes, fileName: "..\\..\\.profile.jpg"))
            #expect(hidden.head.status == .created, "\(hidden.text)")
        }
        let names = try f.assets().map(\.fileName).sorted()
        #expect(names == ["evil.jpg", "upload.profile.jpg"])
        #expect(!FileManager.default.fileExists(atPath: f.dir.appendingPathComponent("etc/evil.jpg").path))
    }

    @Test func oversizedUploadsAre413() async throws {
        let f = try APIFixture(photos: 0, label: "big")
        let small = try HearthAPI(libraries: f.api.libraries, access: f.access, logger: .init(label: "t"), uploadLimit: 4096)
        let (_, bytes) = try Self.photo(f, seed: 106, width: 640)
        #expect(bytes.count > 4096)
        let app = Application(router: small.router())
        let token = try #require(f.token)
        try await app.test(.router) { c in
            let form = MultipartForm.upload(bytes, fileName: "big.jpg")
            var h = form.headers
            h[.authorization] = "Bearer \(token)"
            expectImmichError(try await c.execute(uri: "/api/assets", method: .post, headers: h, body: form.body), 413)
        }
        try await f.test { c in
            var form = MultipartForm()
            form.field("description", String(repeating: "x", count: 70_000))
            form.file("assetData", fileName: "a.jpg", bytes)
            expectImmichError(try await c.upload(form), 400, "longer than")
        }
        #expect(try f.assets(.all).isEmpty)
    }

    @Test func livePhotoStillNamesItsVideo() async throws {
        let f = try APIFixture(photos: 0, label: "live")
        let video = try #require(Self.shortVideo(in: f.dir), "ffmpeg (make deps installs it) makes a one-second video")
        let (_, still) = try Self.photo(f, seed: 107)
        try await f.test { c in
            let v = try await c.upload(.upload(video, fileName: "IMG_0107.MOV"))
            #expect(v.head.status == .created, "\(v.text)")
            let vid = try #require(v.json?["id"]?.stringValue)
            let s = try await c.upload(.upload(still, fileName: "IMG_0107.JPG", extra: [("livePhotoVideoId", vid)]))
            #expect(s.head.status == .created, "\(s.text)")
            let info = try await c.get("/api/assets/\(try #require(s.json?["id"]?.stringValue))")
            #expect(info.json?["livePhotoVideoId"] != nil && info.json?["livePhotoVideoId"] != .null, "\(info.text)")
        }
        let stills = try f.assets().filter { $0.type == "image" }
        #expect(stills.count == 1 && stills[0].motion && stills[0].motionVideo != nil)
    }

    /// More uploads than the import's commit size (64), over parallel connections, each its own asset.
    @Test func manyParallelUploads() async throws {
        let f = try APIFixture(photos: 0, label: "many")
        let count = 150
        let paths = try SamplePhotos.write(to: f.dir.appendingPathComponent("many").path, count: count, width: 64, height: 48, seed: 500)
        let files = try paths.map { Array(try Data(contentsOf: URL(fileURLWithPath: $0))) }
        let names = paths.map { ($0 as NSString).lastPathComponent }
        try await f.test { c in
            try await withThrowingTaskGroup(of: Int.self) { group in
                for lane in 0..<8 {
                    group.addTask {
                        var created = 0
                        for i in stride(from: lane, to: count, by: 8) {
                            let r = try await c.upload(.upload(files[i], fileName: names[i]))
                            if r.head.status == .created { created += 1 }
                        }
                        return created
                    }
                }
                var total = 0
                for try await n in group { total += n }
                #expect(total == count)
            }
            let stats = try await c.get("/api/assets/statistics")
            #expect(stats.json?["total"] == .int(Int64(count)))
        }
        #expect(try f.assets().count == count)
        #expect(Set(try f.assets().compactMap(\.sha1)).count == count)
        try #expect(f.node.verify().problems.isEmpty)
    }
}
