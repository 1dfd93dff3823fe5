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
    static func run(_ exe: String, _ args: [String]) throws -> (status: Int32, out: Data, err: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
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
        #expect(try Self.run(hearth, ["--home", home, "init", "--name", "nas"]).status == 0)
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
        let got = try Self.run(curl, ["-s", "-S", "-f", "--max-time", "20", "http://127.0.0.1:\(p)/api/assets/\(uuid)/original"])
        #expect(got.status == 0, "\(got.err)")
        #expect([UInt8](got.out) == original, "the original is byte-identical")

        kill(serve.processIdentifier, SIGTERM)
        for _ in 0..<200 where serve.isRunning { try await Task.sleep(for: .milliseconds(50)) }
        #expect(!serve.isRunning, "hearth serve stops on SIGTERM")
        serve.waitUntilExit()
        let log = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(serve.terminationStatus == 0, "clean exit: \(log)")
        #expect(log.contains("/api/server/ping 200"), "the access log names the request: \(log)")
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
