import Foundation
import HearthCrypto
import Node
import Testing

extension ServeEndToEndTests {
    /// A photo uploaded through node A's HTTP API (curl, Immich's multipart form) reaches node B
    /// by sync and B's own API lists it and serves its original byte-identical.
    @Test(.enabled(if: hearth != nil && curl != nil, "needs the built hearth binary and curl"), .timeLimit(.minutes(3)))
    func anUploadOnOneNodeIsListedByTheOther() async throws {
        let hearth = try #require(Self.hearth).path, curl = try #require(Self.curl)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("hearth-http-upsync-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: dir) }
        let homeA = dir.appendingPathComponent("a").path, homeB = dir.appendingPathComponent("b").path
        let photo = try SamplePhotos.write(to: dir.appendingPathComponent("photos").path, count: 1, width: 800, height: 600, seed: 77)[0]
        #expect(try Self.run(hearth, ["--home", homeA, "init", "--name", "laptop"]).status == 0)
        try Self.addAdmin(hearth, homeA)
        let syncA = dir.appendingPathComponent("a.port").path, httpA = dir.appendingPathComponent("a.http").path
        let (serveA, portA) = try await Self.start(hearth, homeA, ["--listen", "127.0.0.1:0", "--port-file", syncA,
                                                                   "--http", "127.0.0.1:0", "--http-port-file", httpA],
                                                    portFile: httpA, log: dir.appendingPathComponent("a.log").path)
        defer { Self.stop(serveA) }
        let pa = try #require(portA, "A serves HTTP")
        let sa = try #require(Int((try String(contentsOfFile: syncA, encoding: .utf8)).trimmingCharacters(in: .whitespacesAndNewlines)))
        let invite = try Self.run(hearth, ["--home", homeA, "invite", "--address", "127.0.0.1:\(sa)"])
        let ticket = String(decoding: invite.out, as: UTF8.self).split(separator: "\n").last.map(String.init) ?? ""
        let join = try Self.run(hearth, ["--home", homeB, "join", ticket, "--name", "nas"])
        #expect(join.status == 0, "\(join.err)")
        let httpB = dir.appendingPathComponent("b.http").path
        let (serveB, portB) = try await Self.start(hearth, homeB, ["--listen", "127.0.0.1:0", "--http", "127.0.0.1:0", "--http-port-file", httpB],
                                                    portFile: httpB, log: dir.appendingPathComponent("b.log").path)
        defer { Self.stop(serveB) }
        let pb = try #require(portB, "B serves HTTP")

        let tokenA = try #require(try Self.login(curl, port: pa), "login on A")
        // curl asks for `100 Continue` before a large body (forced here, and waiting up to 30 s
        // for it): the node answers at once instead of leaving the client to time out.
        let up = try Self.run(curl, ["-s", "-S", "-v", "--max-time", "60", "-H", "Authorization: Bearer \(tokenA)",
                                     "-H", "Expect: 100-continue", "--expect100-timeout", "30",
                                     "-F", "assetData=@\(photo);filename=beach.jpg", "-F", "fileCreatedAt=2024-07-01T10:00:00.000Z",
                                     "-F", "fileModifiedAt=2024-07-01T10:00:00.000Z", "http://127.0.0.1:\(pa)/api/assets"])
        let created = try? JSONSerialization.jsonObject(with: up.out) as? [String: Any]
        #expect(created?["status"] as? String == "created", "upload on A: \(String(decoding: up.out, as: UTF8.self)) \(up.err)")
        let id = try #require(created?["id"] as? String)
        #expect(up.err.contains("HTTP/1.1 100 Continue"), "the node answered Expect: 100-continue: \(up.err.suffix(800))")

        // B's serve is connected to A: the upload arrives within seconds.
        let tokenB = try #require(try Self.login(curl, port: pb), "Ann logs in on B too: people sync")
        let authB = ["-H", "Authorization: Bearer \(tokenB)"]
        var listed: [String: Any]?
        for _ in 0..<150 where listed == nil {
            let r = try Self.run(curl, ["-s", "--max-time", "10"] + authB + ["http://127.0.0.1:\(pb)/api/assets/\(id)"])
            if let j = try? JSONSerialization.jsonObject(with: r.out) as? [String: Any], j["id"] as? String == id { listed = j }
            else { try await Task.sleep(for: .milliseconds(200)) }
        }
        let asset = try #require(listed, "B's API lists the asset uploaded on A")
        #expect(asset["originalFileName"] as? String == "beach.jpg")
        let original = [UInt8](try Data(contentsOf: URL(fileURLWithPath: photo)))
        #expect(asset["checksum"] as? String == Data(SHA1.digest(original)).base64EncodedString())
        let buckets = try Self.run(curl, ["-s", "--max-time", "10"] + authB + ["http://127.0.0.1:\(pb)/api/timeline/buckets"])
        let counts = (try? JSONSerialization.jsonObject(with: buckets.out) as? [[String: Any]])?.compactMap { $0["count"] as? Int }
        #expect(counts?.reduce(0, +) == 1, "B's timeline holds it: \(String(decoding: buckets.out, as: UTF8.self))")
        var got: [UInt8] = []
        for _ in 0..<100 {
            let r = try Self.run(curl, ["-s", "-f", "--max-time", "30"] + authB + ["http://127.0.0.1:\(pb)/api/assets/\(id)/original"])
            got = [UInt8](r.out)
            if got == original { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(got == original, "B serves the original byte-identical")
    }
}
