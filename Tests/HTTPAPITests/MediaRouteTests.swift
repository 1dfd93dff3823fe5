import Catalog
import Foundation
import HTTPAPI
import Hummingbird
import HummingbirdTesting
import Presentation
import Testing

@Suite struct MediaRouteTests {
    func fileBytes(_ f: APIFixture, _ a: Asset) throws -> [UInt8] {
        let path = try #require(f.photos.first { ($0 as NSString).lastPathComponent == a.fileName })
        return [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    @Test func originalIsByteIdenticalWithCachingHeaders() async throws {
        let f = try APIFixture(photos: 2, label: "orig")
        let a = try f.assets()[0]
        let expected = try fileBytes(f, a)
        try await f.test { c in
            let r = try await c.get("/api/assets/\(f.uuid(a))/original")
            #expect(r.head.status == .ok)
            #expect(r.bytes == expected)
            let h = r.head.headerFields
            #expect(h[.contentType] == "image/jpeg")
            #expect(h[.contentLength] == String(expected.count))
            #expect(h[.eTag] == "\"\(a.id.hex)\"")
            #expect(h[.cacheControl] == "private, max-age=86400, no-transform")
            #expect(h[.acceptRanges] == "bytes")
            let etag = try #require(h[.eTag])
            let again = try await c.get("/api/assets/\(f.uuid(a))/original", headers: [.ifNoneMatch: etag])
            #expect(again.head.status == .notModified && again.bytes.isEmpty)
            let other = try await c.get("/api/assets/\(f.uuid(a))/original", headers: [.ifNoneMatch: "\"something-else\""])
            #expect(other.head.status == .ok)
        }
    }

    @Test func rangesAre206And416() async throws {
        let f = try APIFixture(photos: 1, label: "range")
        let a = try f.assets()[0]
        let expected = try fileBytes(f, a)
        let n = expected.count
        let uri = "/api/assets/\(f.uuid(a))/original"
        try await f.test { c in
            let r = try await c.get(uri, headers: [.range: "bytes=10-99"])
            #expect(r.head.status == .partialContent)
            #expect(r.bytes == Array(expected[10...99]))
            #expect(r.head.headerFields[.contentRange] == "bytes 10-99/\(n)")
            let tail = try await c.get(uri, headers: [.range: "bytes=-50"])
            #expect(tail.bytes == Array(expected[(n - 50)...]))
            let open = try await c.get(uri, headers: [.range: "bytes=\(n - 7)-"])
            #expect(open.bytes == Array(expected[(n - 7)...]))
            let past = try await c.get(uri, headers: [.range: "bytes=5-\(n + 1000)"])
            #expect(past.bytes == Array(expected[5...]))
            let bad = try await c.get(uri, headers: [.range: "bytes=\(n)-"])
            expectImmichError(bad, 416)
            #expect(bad.head.headerFields[.contentRange] == "bytes */\(n)")
            expectImmichError(try await c.get(uri, headers: [.range: "bytes=9-3"]), 416)
            // Several ranges: the whole object (allowed by RFC 9110).
            let multi = try await c.get(uri, headers: [.range: "bytes=0-1,5-6"])
            #expect(multi.head.status == .ok && multi.bytes == expected)
        }
    }

    @Test func thumbnailsPreviewsAndVideo() async throws {
        let f = try APIFixture(photos: 1, label: "thumb")
        let a = try f.assets()[0]
        let thumb = try #require(a.thumbnail), preview = try #require(a.preview)
        try await f.test { c in
            let t = try await c.get("/api/assets/\(f.uuid(a))/thumbnail")
            #expect(t.head.status == .ok && t.head.headerFields[.contentType] == "image/webp")
            #expect(t.bytes.count == Int(thumb.size))
            #expect(Array(t.bytes.prefix(4)) == Array("RIFF".utf8))
            let p = try await c.get("/api/assets/\(f.uuid(a))/thumbnail?size=preview")
            #expect(p.head.headerFields[.contentType] == "image/jpeg" && p.bytes.count == Int(preview.size))
            #expect(p.head.headerFields[.eTag] == "\"\(preview.id.hex)\"")
            let full = try await c.get("/api/assets/\(f.uuid(a))/thumbnail?size=fullsize")
            #expect(full.bytes.count == Int(a.original.size), "a JPEG is its own full-size image")
            expectImmichError(try await c.get("/api/assets/\(f.uuid(a))/thumbnail?size=huge"), 400, "size")
            expectImmichError(try await c.get("/api/assets/\(f.uuid(a))/video/playback"), 400, "not a video")
        }
    }

    @Test func archiveIsAValidZipOfTheOriginals() async throws {
        let f = try APIFixture(photos: 3, label: "zip")
        let all = try f.assets()
        let ids = all.map { "\"\(f.uuid($0))\"" }.joined(separator: ",")
        let zip = try await f.test { c in
            expectImmichError(try await c.send(.post, "/api/download/archive", json: #"{"assetIds":[]}"#), 400)
            expectImmichError(try await c.send(.post, "/api/download/archive", json: #"{"assetIds":[1]}"#), 400, "UUID")
            let r = try await c.send(.post, "/api/download/archive", json: #"{"assetIds":[\#(ids),\#(ids.split(separator: ",")[0])]}"#)
            #expect(r.head.status == .ok && r.head.headerFields[.contentType] == "application/zip")
            #expect(r.head.headerFields[.contentLength] == String(r.bytes.count))
            return r.bytes
        }
        // Python's zipfile checks every CRC and reads the entries back.
        let zipPath = f.dir.appendingPathComponent("out.zip").path
        try Data(zip).write(to: URL(fileURLWithPath: zipPath))
        let out = f.dir.appendingPathComponent("unzipped").path
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", "import sys, zipfile\nz = zipfile.ZipFile(sys.argv[1])\nassert z.testzip() is None\nz.extractall(sys.argv[2])\nprint('\\n'.join(sorted(z.namelist())))",
                       zipPath, out]
        let pipe = Pipe()
        p.standardOutput = pipe
        try p.run()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0, "python3 zipfile accepts the archive")
        let names = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).split(separator: "\n").map(String.init)
        #expect(names.count == 4, "\(names)")
        for a in all {
            let got = try Data(contentsOf: URL(fileURLWithPath: out + "/" + a.fileName))
            #expect([UInt8](got) == (try fileBytes(f, a)))
        }
        let dup = try #require(names.first { $0.contains("+1") })
        #expect([UInt8](try Data(contentsOf: URL(fileURLWithPath: out + "/" + dup))) == (try fileBytes(f, all[0])))
    }
}
