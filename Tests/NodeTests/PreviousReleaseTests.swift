import Foundation
import Testing
import Node
import Presentation

/// A node running the previous release (6847644) and a node running this build pair, sync over
/// real TCP, edit on each side, sync again and converge: the same assets, fields, albums and
/// catalog digest, and `verify` passes on both. Both directions: the old node invites and serves,
/// and the new node invites and serves.
///
/// The old binary comes from `make previous-release`, which `make test` runs and passes here as
/// `HEARTH_PREVIOUS_RELEASE`; without it the tests are reported skipped.
@Suite(.serialized)
struct PreviousReleaseTests {
    static let previous: URL? = {
        guard let path = ProcessInfo.processInfo.environment["HEARTH_PREVIOUS_RELEASE"], !path.isEmpty,
              FileManager.default.isExecutableFile(atPath: path) else { return nil }
        return URL(fileURLWithPath: path)
    }()

    enum Inviter: String, CaseIterable, CustomTestStringConvertible, Sendable {
        case previousRelease, thisBuild
        var testDescription: String { "\(rawValue) invites and serves" }
    }

    @Test(.enabled(if: previous != nil,
                   "HEARTH_PREVIOUS_RELEASE names no executable (run `make previous-release`, or `make test`)"),
          arguments: Inviter.allCases)
    func mixedReleasesSyncAndConverge(_ inviter: Inviter) throws {
        var old = try HearthBinary.temporary("previous")
        old.executable = Self.previous
        let new = try HearthBinary.temporary("current")
        defer { [old, new].forEach { $0.cleanup() } }
        let (a, b) = inviter == .previousRelease ? (old, new) : (new, old)

        let photos = a.scratch.appendingPathComponent("photos")
        try a.ok(["make-samples", photos.path, "--count", "4", "--width", "96", "--height", "64"])
        try a.ok(["init", "--name", "A"])
        // This build stores a ThumbHash, a SHA-1 and an owner per import (catalog formats 2 and 3,
        // payload version 3), and the previous release is offered an origin's batches only up to
        // its first version 3 batch; `--for-older-peers` keeps this build's imports readable by it.
        try a.ok(["import", photos.path] + (a.executable == nil ? ["--for-older-peers"] : []))
        try a.ok(["album", "create", "Summer"])
        let ids = try a.assetIDs().sorted()
        try #require(ids.count == 4)
        try a.ok(["album", "add", "Summer", ids[0], ids[1]])
        try a.ok(["describe", ids[0], "written on A"])

        let (serveA, port) = try BackgroundHearth.serve(a, label: "serveA", a.executable == nil ? ["--for-older-peers"] : [])
        defer { serveA.kill() }
        try b.ok(["join", try a.invite(port: port), "--name", "B"])
        try b.ok(["sync"])
        #expect(Set(try b.assetIDs()) == Set(ids), "B (\(b.executable == nil ? "this build" : "previous release")) got A's library")
        #expect(try b.field(ids[0], "description")?.stringValue == "written on A")

        // An edit on each side, of different kinds, then one more sync from B.
        try b.ok(["describe", ids[1], "written on B"])
        try b.ok(["rate", ids[0], "5"])
        try b.ok(["album", "create", "From B"])
        try b.ok(["album", "add", "From B", ids[2]])
        try b.ok(["tag", "add", ids[3], "Places/Japan"])
        try a.ok(["describe", ids[0], "rewritten on A"])
        try a.ok(["favorite", ids[2]])
        try a.ok(["trash", ids[3]])
        try b.ok(["sync"])

        for node in [a, b] {
            #expect(Set(try node.assetIDs()) == Set(ids.prefix(3)))
            #expect(try node.ids(["assets", "--trashed", "--json"]) == [ids[3]])
            #expect(try node.field(ids[0], "description")?.stringValue == "rewritten on A")
            #expect(try node.field(ids[1], "description")?.stringValue == "written on B")
            #expect(try node.field(ids[0], "rating")?.intValue == 5)
            #expect(try node.field(ids[2], "favorite")?.boolValue == true)
            #expect(try node.field(ids[3], "tags")?.arrayValue?.compactMap(\.stringValue) == ["Places/Japan"])
            #expect(Set(try node.ids(["assets", "--album", "Summer", "--json"])) == Set(ids.prefix(2)))
            #expect(try node.ids(["assets", "--album", "From B", "--json"]) == [ids[2]])
        }
        #expect(try albumNames(a) == albumNames(b))
        #expect(try a.digest() == b.digest(), "both releases hold the same catalog")
        serveA.kill()
        try a.ok(["verify"])
        try b.ok(["verify"])
    }

    func albumNames(_ node: HearthBinary) throws -> [String] {
        try node.ok(["album", "list", "--json"]).json?.arrayValue?.compactMap { item -> String? in
            guard case .object(let f) = item else { return nil }
            return f.first { $0.0 == "name" }?.1.stringValue
        }.sorted() ?? []
    }
}
