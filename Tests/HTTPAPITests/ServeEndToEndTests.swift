import Foundation
import HearthCrypto
import Node
import Testing

/// The real `hearth` binary: `hearth serve --http 127.0.0.1:0 --http-port-file F`, then curl
/// fetches `/api/server/ping` and an original (byte-identical), then SIGTERM and a clean exit.
@Suite struct ServeEndToEndTests {
    static let hearth: URL? = {
        if let env = ProcessInfo.processInfo.environment["HEARTH_BIN"] { return URL(fileURLWithPath: env) }
        let bundle = Bundle.main.bundleURL
        for dir in [bundle, bundle.deletingLastPathComponent()] {
            let c = dir.appendingPathComponent("hearth")
            if FileManager.default.isExecutableFile(atPath: c.path) { return c }
        }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let c = root.appendingPathComponent(".build/debug/hearth")
        return FileManager.default.isExecutableFile(atPath: c.path) ? c : nil
    }()
    static let curl = ["/usr/bin/curl", "/bin/curl"].first { FileManager.default.isExecutableFile(atPath: $0) }

    @discardableResult
    static func run(_ exe: String, _ args: [String], input: String? = nil) throws -> (status: Int32, out: Data, err: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        let inPipe = Pipe()
        p.standardInput = input == nil ? FileHandle.nullDevice : inPipe
        try p.run()
        if let input {
            inPipe.fileHandleForWriting.write(Data(input.utf8))
            try inPipe.fileHandleForWriting.close()
        }
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, o, String(decoding: e, as: UTF8.self))
    }

    @Test(.enabled(if: hearth != nil && curl != nil, "needs the built hearth binary and curl"), .timeLimit(.minutes(3)))
    func serveAnswersCurlAndStopsCleanly() async throws {
        let hearth = try #require(Self.hearth).path, curl = try #require(Self.curl)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("hearth-http-e2e-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: dir) }
        let home = dir.appendingPathComponent("home").path
        let photos = try SamplePhotos.write(to: dir.appendingPathComponent("photos").path, count: 2, width: 640, height: 480, seed: 40)
        // A 12-megapixel one (a few MB), not imported, for the upload in flight.
        let big = try SamplePhotos.write(to: dir.appendingPathComponent("upload").path, count: 1, width: 4000, height: 3000, seed: 90)[0]
        #expect(try Self.run(hearth, ["--home", home, "init", "--name", "nas"]).status == 0)
        try Self.addAdmin(hearth, home)
        let imp = try Self.run(hearth, ["--home", home, "import", dir.appendingPathComponent("photos").path])
        #expect(imp.status == 0, "\(imp.err)")

        let portFile = dir.appendingPathComponent("http.port").path
        let serve = Process()
        serve.executableURL = URL(fileURLWithPath: hearth)
        serve.arguments = ["--home", home, "serve", "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0", "--http-port-file", portFile]
        let err = Pipe()
        serve.standardError = err
        serve.standardOutput = FileHandle.nullDevice
        try serve.run()
        defer { if serve.isRunning { serve.terminate() } }
        var port: Int?
        for _ in 0..<300 where port == nil {
            if let s = try? String(contentsOfFile: portFile, encoding: .utf8) { port = Int(s.trimmingCharacters(in: .whitespacesAndNewlines)) }
            if port == nil { try await Task.sleep(for: .milliseconds(100)) }
            if !serve.isRunning { break }
        }
        let p = try #require(port, "the HTTP port file appears")
        let ping = try Self.run(curl, ["-s", "-S", "--max-time", "20", "http://127.0.0.1:\(p)/api/server/ping"])
        #expect(ping.status == 0, "\(ping.err)")
        #expect(String(decoding: ping.out, as: UTF8.self) == #"{"res":"pong"}"#)

        let original = [UInt8](try Data(contentsOf: URL(fileURLWithPath: photos[0])))
        let uuid = AssetUUIDText.make(Blake2b.hash256(original).bytes)
        let denied = try Self.run(curl, ["-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "20", "http://127.0.0.1:\(p)/api/assets/\(uuid)/original"])
        #expect(String(decoding: denied.out, as: UTF8.self) == "401", "no credential, no original")
        let token = try #require(try Self.login(curl, port: p), "login through curl")
        let auth = ["-H", "Authorization: Bearer \(token)"]
        let got = try Self.run(curl, ["-s", "-S", "-f", "--max-time", "20"] + auth + ["http://127.0.0.1:\(p)/api/assets/\(uuid)/original"])
        #expect(got.status == 0, "\(got.err)")
        #expect([UInt8](got.out) == original, "the original is byte-identical")

        // SIGTERM while a slow upload is in flight: the server cannot answer before the last byte of the
        // body arrives, so the request is truly in flight. It still completes, then hearth exits.
        let slow = Process()
        slow.executableURL = URL(fileURLWithPath: curl)
        let slowOut = dir.appendingPathComponent("slow.out").path
        let bigBytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: big)))
        let bigUUID = AssetUUIDText.make(Blake2b.hash256(bigBytes).bytes)
        slow.arguments = ["-s", "-S", "-f", "--max-time", "60", "--limit-rate", "\(max(bigBytes.count / 10, 1))", "-o", slowOut] + auth + [
                          "-F", "assetData=@\(big);filename=big.jpg", "-F", "fileCreatedAt=2024-07-01T10:00:00.000Z",
                          "-F", "fileModifiedAt=2024-07-01T10:00:00.000Z", "http://127.0.0.1:\(p)/api/assets"]
        try slow.run()
        try await Task.sleep(for: .milliseconds(500))
        #expect(slow.isRunning, "the slow upload is still in flight when SIGTERM comes: \(slow.isRunning ? "" : "curl exited \(slow.terminationStatus)")")
        kill(serve.processIdentifier, SIGTERM)
        slow.waitUntilExit()
        #expect(slow.terminationStatus == 0, "the in-flight upload finished")
        let answer = (try? JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: slowOut)))) as? [String: Any]
        #expect(answer?["id"] as? String == bigUUID, "the upload was stored: \(String(describing: answer))")
        for _ in 0..<200 where serve.isRunning { try await Task.sleep(for: .milliseconds(50)) }
        #expect(!serve.isRunning, "hearth serve stops on SIGTERM")
        serve.waitUntilExit()
        let log = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(serve.terminationStatus == 0, "clean exit: \(log)")
        #expect(log.contains("/api/server/ping 200"), "the access log names the request: \(log)")
        let verify = try Self.run(hearth, ["--home", home, "verify"])
        #expect(verify.status == 0, "verify passes after a shutdown with an upload in flight: \(verify.err)")
    }
}

extension ServeEndToEndTests {
    /// Starts `hearth serve` with `args` and waits for `portFile`; nil when it exited first.
    static func start(_ hearth: String, _ home: String, _ args: [String], portFile: String, log: String) async throws -> (Process, Int?) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: hearth)
        p.arguments = ["--home", home, "serve"] + args
        FileManager.default.createFile(atPath: log, contents: nil)
        p.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        for _ in 0..<300 where p.isRunning {
            if let s = try? String(contentsOfFile: portFile, encoding: .utf8), let port = Int(s.trimmingCharacters(in: .whitespacesAndNewlines)) {
                return (p, port)
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        return (p, nil)
    }

    static let openssl = ["/usr/bin/openssl", "/bin/openssl"].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// `--tls-cert/--tls-key`: the API over HTTPS with a self-signed certificate.
    @Test(.enabled(if: hearth != nil && curl != nil && openssl != nil, "needs the built hearth binary, curl and openssl"),
          .timeLimit(.minutes(3)))
    func servesOverTLS() async throws {
        let hearth = try #require(Self.hearth).path, curl = try #require(Self.curl), openssl = try #require(Self.openssl)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("hearth-http-tls-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let home = dir.appendingPathComponent("home").path
        let cert = dir.appendingPathComponent("cert.pem").path, key = dir.appendingPathComponent("key.pem").path
        let gen = try Self.run(openssl, ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1",
                                         "-subj", "/CN=localhost"])
        #expect(gen.status == 0, "\(gen.err)")
        #expect(try Self.run(hearth, ["--home", home, "init", "--name", "nas"]).status == 0)
        let portFile = dir.appendingPathComponent("http.port").path
        let bad = try Self.run(hearth, ["--home", home, "serve", "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0", "--tls-cert", cert])
        #expect(bad.status != 0 && bad.err.contains("--tls-key"), "a certificate without its key is refused: \(bad.err)")
        let (serve, port) = try await Self.start(hearth, home, ["--listen", "127.0.0.1:0", "--http", "127.0.0.1:0", "--http-port-file", portFile,
                                                               "--tls-cert", cert, "--tls-key", key],
                                                 portFile: portFile, log: dir.appendingPathComponent("serve.log").path)
        defer { Self.stop(serve) }
        let p = try #require(port, "hearth serve listens over TLS")
        let ping = try Self.run(curl, ["-s", "-S", "-k", "--max-time", "20", "https://127.0.0.1:\(p)/api/server/ping"])
        #expect(String(decoding: ping.out, as: UTF8.self) == #"{"res":"pong"}"#, "\(ping.err)")
        let plain = try Self.run(curl, ["-s", "--max-time", "10", "http://127.0.0.1:\(p)/api/server/ping"])
        #expect(String(decoding: plain.out, as: UTF8.self) != #"{"res":"pong"}"#, "plain HTTP is not served on the TLS port")
        Self.stop(serve)
        #expect(serve.terminationStatus == 0)
    }

    /// `hearth user add` (the library's admin), with the password on standard input.
    static func addAdmin(_ hearth: String, _ home: String) throws {
        let r = try run(hearth, ["--home", home, "user", "add", "--email", "ann@example.com", "--name", "Ann", "--admin", "--password-stdin"],
                        input: "correct horse battery\n")
        #expect(r.status == 0, "\(r.err)")
    }

    /// `POST /api/auth/login` through curl: the session token.
    static func login(_ curl: String, port: Int, scheme: String = "http") throws -> String? {
        let r = try run(curl, ["-s", "-S", "-k", "--max-time", "20", "-H", "Content-Type: application/json",
                               "-d", #"{"email":"ann@example.com","password":"correct horse battery"}"#, "\(scheme)://127.0.0.1:\(port)/api/auth/login"])
        let j = try? JSONSerialization.jsonObject(with: r.out) as? [String: Any]
        return j?["accessToken"] as? String
    }

    static func stop(_ p: Process) {
        if p.isRunning { kill(p.processIdentifier, SIGTERM) }
        p.waitUntilExit()
    }

    /// A node whose policy keeps only thumbnails serves an original anyway: it fetches the chunks
    /// from a peer first, as `hearth export` does.
    @Test(.enabled(if: hearth != nil && curl != nil, "needs the built hearth binary and curl"), .timeLimit(.minutes(3)))
    func aThumbnailsNodeFetchesAnOriginalFromItsPeer() async throws {
        let hearth = try #require(Self.hearth).path, curl = try #require(Self.curl)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("hearth-http-fetch-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: dir) }
        let homeA = dir.appendingPathComponent("a").path, homeB = dir.appendingPathComponent("b").path
        let photos = try SamplePhotos.write(to: dir.appendingPathComponent("photos").path, count: 2, width: 640, height: 480, seed: 60)
        #expect(try Self.run(hearth, ["--home", homeA, "init", "--name", "nas"]).status == 0)
        try Self.addAdmin(hearth, homeA)
        #expect(try Self.run(hearth, ["--home", homeA, "import", dir.appendingPathComponent("photos").path]).status == 0)
        let (serveA, portA) = try await Self.start(hearth, homeA, ["--listen", "127.0.0.1:0", "--port-file", dir.appendingPathComponent("a.port").path,
                                                                   "--http", "off"],
                                                    portFile: dir.appendingPathComponent("a.port").path, log: dir.appendingPathComponent("a.log").path)
        defer { Self.stop(serveA) }
        let pa = try #require(portA, "A serves")
        let invite = try Self.run(hearth, ["--home", homeA, "invite", "--address", "127.0.0.1:\(pa)"])
        let ticket = String(decoding: invite.out, as: UTF8.self).split(separator: "\n").last.map(String.init) ?? ""
        let join = try Self.run(hearth, ["--home", homeB, "join", ticket, "--name", "phone", "--policy", "thumbnails"])
        #expect(join.status == 0, "\(join.err)")

        let httpPort = dir.appendingPathComponent("b.http").path
        let (serveB, portB) = try await Self.start(hearth, homeB, ["--listen", "127.0.0.1:0", "--http", "127.0.0.1:0", "--http-port-file", httpPort],
                                                    portFile: httpPort, log: dir.appendingPathComponent("b.log").path)
        defer { Self.stop(serveB) }
        let pb = try #require(portB, "B serves HTTP")
        let original = [UInt8](try Data(contentsOf: URL(fileURLWithPath: photos[1])))
        let uuid = AssetUUIDText.make(Blake2b.hash256(original).bytes)
        // Ann was added on A; people sync, so she logs in on B (a session of B's own).
        let token = try #require(try Self.login(curl, port: pb), "login on B")
        let auth = ["-H", "Authorization: Bearer \(token)"]
        let thumb = try Self.run(curl, ["-s", "-S", "-f", "--max-time", "20"] + auth + ["http://127.0.0.1:\(pb)/api/assets/\(uuid)/thumbnail"])
        #expect(thumb.status == 0 && !thumb.out.isEmpty, "B holds the thumbnail: \(thumb.err)")
        let got = try Self.run(curl, ["-s", "-S", "-f", "--max-time", "60"] + auth + ["http://127.0.0.1:\(pb)/api/assets/\(uuid)/original"])
        #expect(got.status == 0, "\(got.err)")
        #expect([UInt8](got.out) == original, "the original, fetched from A, is byte-identical")
        Self.stop(serveB)
        #expect(serveB.terminationStatus == 0)
    }
}

/// The UUID an asset id maps to (written out here so the test does not lean on the code it checks).
enum AssetUUIDText {
    static func make(_ id: [UInt8]) -> String {
        var b = Array(id.prefix(16))
        b[6] = (b[6] & 0x0F) | 0x40
        b[8] = (b[8] & 0x3F) | 0x80
        let h = Hex.encode(b)
        let c = Array(h)
        return [String(c[0..<8]), String(c[8..<12]), String(c[12..<16]), String(c[16..<20]), String(c[20..<32])].joined(separator: "-")
    }
}
