import Foundation
import Testing
import Node
import Presentation

/// A library made by release 6847644 (Tests/Fixtures/release-6847644, written by that release's
/// binary through scripts/make-release-fixture.sh) opens with this binary, upgrades in place and
/// keeps everything it held.
@Suite(.serialized)
struct UpgradeFromReleaseTests {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/release-6847644")

    struct Expect: Decodable {
        struct Album: Decodable { let name: String; let assets: [String] }
        struct Tag: Decodable { let asset: String; let tag: String }
        struct Description: Decodable { let asset: String; let text: String }
        struct Rating: Decodable { let asset: String; let stars: Int }
        let library: [String]
        let trashed: [String]
        let album: Album
        let tag: Tag
        let description: Description
        let rating: Rating
    }

    /// A temporary node whose home is a copy of the release's home.
    static func releaseNode() throws -> (HearthBinary, Expect) {
        let node = try HearthBinary.temporary("upgrade")
        try FileManager.default.copyItem(at: fixture.appendingPathComponent("home"), to: node.home)
        let expect = try JSONDecoder().decode(Expect.self, from: Data(contentsOf: fixture.appendingPathComponent("expect.json")))
        return (node, expect)
    }

    /// The catalog as the release left it (`libraries/<id>.sqlite`, home layout 1).
    static func catalogFile(_ node: HearthBinary) throws -> URL {
        let dir = node.home.appendingPathComponent("libraries")
        let name = try #require(try FileManager.default.contentsOfDirectory(atPath: dir.path).first { $0.hasSuffix(".sqlite") })
        return dir.appendingPathComponent(name)
    }

    /// Where the upgraded home keeps that catalog (`libraries/<id>/catalog.sqlite`, layout 2).
    static func upgradedCatalogFile(_ old: URL) -> URL {
        old.deletingPathExtension().appendingPathComponent("catalog.sqlite")
    }

    @Test func releaseLibraryOpensUpgradesAndKeepsEverything() throws {
        let (node, expect) = try Self.releaseNode()
        defer { node.cleanup() }
        let catalog = try Self.catalogFile(node)
        #expect(!(try Data(contentsOf: catalog)).contains(Data("grdb_migrations".utf8)), "the fixture predates migrations")

        let verify = try node.ok(["verify"])
        #expect(verify.status == 0)
        #expect(Set(try node.assetIDs()) == Set(expect.library))
        #expect(Set(try node.ids(["assets", "--trashed", "--json"])) == Set(expect.trashed))
        #expect(Set(try node.ids(["assets", "--album", expect.album.name, "--json"])) == Set(expect.album.assets))
        #expect(try node.ids(["assets", "--tag", expect.tag.tag, "--json"]) == [expect.tag.asset])
        #expect(try node.field(expect.description.asset, "description")?.stringValue == expect.description.text)
        #expect(try node.field(expect.rating.asset, "rating")?.intValue == Int64(expect.rating.stars))
        #expect(!FileManager.default.fileExists(atPath: catalog.path), "the home moved to layout 2")
        #expect(try Data(contentsOf: Self.upgradedCatalogFile(catalog)).contains(Data("grdb_migrations".utf8)),
                "the catalog records its migrations")

        // A new edit after the upgrade, on an asset the release left unedited.
        let other = try #require(expect.library.first { $0 != expect.description.asset && $0 != expect.tag.asset })
        try node.ok(["describe", other, "written after the upgrade"])
        try node.ok(["tag", "add", other, "Upgraded"])
        #expect(try node.field(other, "description")?.stringValue == "written after the upgrade")
        #expect(try node.ids(["assets", "--tag", "Upgraded", "--json"]) == [other])
        #expect(try node.field(expect.description.asset, "description")?.stringValue == expect.description.text)

        // Reopening is clean: no error, the same catalog, verify still passes. (Each close
        // bumps SQLite's file change counter, with or without migrations, so bytes are not compared.)
        let digest = try node.digest()
        let reopened = try node.ok(["assets", "--all"])
        #expect(reopened.stderr.isEmpty, "\(reopened.stderr)")
        try node.ok(["verify"])
        #expect(try node.digest() == digest)
        #expect(Set(try node.ids(["assets", "--all", "--json"])) == Set(expect.library + expect.trashed))
    }

    @Test func garbageCatalogIsReportedCorruptByTheBinary() throws {
        let (node, _) = try Self.releaseNode()
        defer { node.cleanup() }
        let catalog = try Self.catalogFile(node)
        try Data((0..<16384).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 7) }).write(to: catalog)
        let r = try node.run(["assets"])
        #expect(r.status == 3)
        // The layout upgrade moves the file first; opening it then finds it corrupt.
        #expect(r.stderr.contains("catalog database is corrupt (\(Self.upgradedCatalogFile(catalog).path)"), "\(r.stderr)")
        #expect(r.stderr.contains("from a peer"), "\(r.stderr)")
    }
}

extension HearthBinary {
    /// The `id`s of a JSON array printed by `args`.
    func ids(_ args: [String]) throws -> [String] {
        try ok(args).json?.arrayValue?.compactMap { item -> String? in
            guard case .object(let f) = item else { return nil }
            return f.first { $0.0 == "id" }?.1.stringValue
        } ?? []
    }

    /// One field of `show ID --json`.
    func field(_ id: String, _ name: String) throws -> JSON? {
        guard case .object(let f)? = try ok(["show", id, "--json"]).json else { throw TestFailure("show \(id) --json") }
        return f.first { $0.0 == name }?.1
    }
}
