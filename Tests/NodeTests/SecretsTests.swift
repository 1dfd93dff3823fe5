import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A home is its user's alone, and a ticket need not appear on a command line.
@Suite(.serialized)
struct SecretsTests {
    static func mode(_ path: String) -> mode_t {
        var st = stat()
        return stat(path, &st) == 0 ? st.st_mode & 0o777 : 0
    }

    /// Every file under `dir` and the folders themselves, with their modes.
    static func modes(under dir: URL) -> [(String, mode_t)] {
        var out = [(dir.path, mode(dir.path))]
        for case let rel as String in FileManager.default.enumerator(atPath: dir.path)! {
            let p = dir.appendingPathComponent(rel).path
            out.append((p, mode(p)))
        }
        return out
    }

    @Test func homesArePrivateAndExportsAreNot() throws {
        let h = try HearthBinary.temporary("private")
        defer { h.cleanup() }
        let photos = h.scratch.appendingPathComponent("photos")
        try h.ok(["make-samples", photos.path, "--count", "2", "--width", "320", "--height", "240"])
        try h.ok(["init"])
        try h.ok(["import", photos.path])
        try h.ok(["verify"])
        let all = Self.modes(under: h.home)
        #expect(all.count > 8, "the home holds its key, config, catalog and packs")
        for (path, m) in all {
            #expect(m & 0o077 == 0, "\(path) is mode \(String(m, radix: 8)): readable by others")
        }
        // What is written for the user keeps the user's umask (the test runs with 022 or so).
        let out = h.scratch.appendingPathComponent("out")
        try h.ok(["export", try h.assetIDs()[0], "--to", out.path])
        let file = try #require(try FileManager.default.contentsOfDirectory(atPath: out.path).first)
        let mask = umask(0o022); umask(mask)
        #expect(Self.mode(out.appendingPathComponent(file).path) == 0o666 & ~mask)
        #expect(Self.mode(out.path) == 0o777 & ~mask)

        // A home from an older release (0755) is closed when next used.
        chmod(h.home.path, 0o755)
        try h.ok(["status"])
        #expect(Self.mode(h.home.path) == 0o700)
    }

    @Test func joinReadsTheTicketFromStandardInputOrAFile() throws {
        let a = try HearthBinary.temporary("ticket-A"), b = try HearthBinary.temporary("ticket-B"), c = try HearthBinary.temporary("ticket-C")
        defer { [a, b, c].forEach { $0.cleanup() } }
        try a.ok(["init", "--name", "A"])
        let (serveA, portA) = try BackgroundHearth.serve(a, label: "ticket-serveA")
        defer { serveA.kill() }
        try b.ok(["join", "-", "--name", "B"], input: try a.invite(port: portA) + "\n")
        let file = c.scratch.appendingPathComponent("ticket.txt")
        try (try a.invite(port: portA)).write(to: file, atomically: true, encoding: .utf8)
        try c.ok(["join", "--ticket-file", file.path, "--name", "C"])
        try b.ok(["sync"])
        #expect(try b.digest() == a.digest() && c.digest() == a.digest(), "both joined A's library")
        let neither = try HearthBinary.temporary("ticket-D")
        defer { neither.cleanup() }
        let r = try neither.run(["join"])
        #expect(r.status == 2 && r.stderr.contains("ticket-file"), "says how to give the ticket: \(r.stderr)")
        let help = try neither.run(["join", "--help"])
        #expect(help.stdout.contains("ps"), "--help says why - and --ticket-file exist")
    }
}
