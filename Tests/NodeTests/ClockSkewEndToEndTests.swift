import Foundation
import Testing
import Node
import Presentation

/// Real `hearth` processes where one device's clock is wrong (libfaketime): an edit made after
/// seeing another edit of the same field wins on both devices, however far ahead the other
/// device's clock is. Once a session passed milliseconds since the connection started as the
/// time, so a clock two minutes ahead reverted the later edit, and a clock in 2099 won forever.
@Suite(.serialized)
struct ClockSkewEndToEndTests {
    /// The `faketime` program (Debian's package of the same name), which runs a program under
    /// libfaketime. Setting `LD_PRELOAD` by hand is not enough with libfaketime 0.9.10: without
    /// the shared state the wrapper sets up, the program loses its arguments.
    static let faketime = ["/usr/bin/faketime", "/usr/local/bin/faketime"].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// Whether a `hearth` started under a fake clock still sees its arguments and the fake time.
    static let fakeClockWorks: Bool = {
        guard let faketime else { return false }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: faketime)
        p.arguments = ["-f", "+120s", HearthBinary.url.path, "make-samples", "--help"]
        p.environment = ["FAKETIME_DONT_FAKE_MONOTONIC": "1"]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return false }
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        return text.contains("--count")
    }()

    /// `FAKETIME` specs: two minutes ahead, and a device set to 2099.
    @Test(.enabled(if: fakeClockWorks, "the faketime program is missing or hides the program's arguments"),
          arguments: ["+120s", "@2099-01-01 00:00:00"])
    func laterEditWinsOverASkewedClock(_ spec: String) throws {
        let a = try HearthBinary.temporary("A"), plainB = try HearthBinary.temporary("B")
        defer { [a, plainB].forEach { $0.cleanup() } }
        let photos = a.scratch.appendingPathComponent("photos")
        try a.ok(["make-samples", photos.path, "--count", "2", "--width", "64", "--height", "48"])
        try a.ok(["init", "--name", "A"])
        try a.ok(["import", photos.path])
        let (serveA, portA) = try BackgroundHearth.serve(a, label: "serveA")
        defer { serveA.kill() }
        try plainB.ok(["join", try a.invite(port: portA), "--name", "B"])
        // From here on B's wall clock is wrong; its monotonic clock (timeouts) is left alone.
        let b = plainB.with(launcher: [Self.faketime!, "-f", spec], environment: ["FAKETIME_DONT_FAKE_MONOTONIC": "1"])
        let id = try #require(try a.assetIDs().first)

        try b.ok(["describe", id, "written on B"])
        try b.ok(["sync"])
        #expect(try description(a, id) == "written on B", "A shows B's edit")
        try a.ok(["describe", id, "written on A after seeing B's"])
        try b.ok(["sync"])
        #expect(try description(a, id) == "written on A after seeing B's")
        #expect(try description(b, id) == "written on A after seeing B's", "B's clock (\(spec)) does not revert A's later edit")
        #expect(try a.digest() == b.digest())
    }

    func description(_ node: HearthBinary, _ id: String) throws -> String? {
        guard case .object(let f)? = try node.ok(["show", id, "--json"]).json else { throw TestFailure("show --json") }
        return f.first { $0.0 == "description" }?.1.stringValue
    }
}
