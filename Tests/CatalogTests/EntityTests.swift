import Foundation
import HearthCrypto
import Testing
@testable import Catalog

@Suite struct AssetTests {
    @Test func importSetsFieldsAndKeepsEveryFileName() throws {
        let c = try library(1)[0]
        try c.commit([.importAsset(anImport(1, name: "b.jpg", fields: [.make: .text("Canon"), .iso: .int(200)]))], now: t0)
        try c.commit([.importAsset(anImport(1, name: "a.jpg"))], now: t0 + 1000)
        let a = try #require(try c.asset(assetID(1)))
        #expect(a.fileNames == ["a.jpg", "b.jpg"])
        #expect(a.fileName == "a.jpg")
        #expect(a.make == nil, "the later import's fields win as a whole")
        #expect(a.type == "image")
        #expect(a.importedBy == identity(1).deviceID)
        #expect(a.importedByPerson == "Ann")
        #expect(try c.counts().library == 1)
    }

    @Test func setFieldsTrashRestorePurge() throws {
        let c = try library(1)[0]
        let id = assetID(1)
        try c.commit([.importAsset(anImport(1)), .setRating(id, 4), .setFavorite(id, true),
                      .setDescription(id, "beach"), .setThumbnail(id, objectRef("thumb"))], now: t0)
        var a = try #require(try c.asset(id))
        #expect(a.rating == 4 && a.favorite && a.description == "beach" && a.thumbnail == objectRef("thumb"))
        #expect(try c.assets(AssetFilter(favoritesOnly: true)).map(\.id) == [id])
        try c.commit([.setArchived(id, true)], now: t0 + 1)
        #expect(try c.assets().isEmpty)
        #expect(try c.assets(AssetFilter(scope: .archived)).map(\.id) == [id])
        try c.commit([.trash(id)], now: t0 + 2)
        a = try #require(try c.asset(id))
        #expect(a.trashedAt == t0 + 2)
        #expect(try c.assets(AssetFilter(scope: .trashed)).map(\.id) == [id])
        try c.commit([.restore(id)], now: t0 + 3)
        #expect(try c.assets(AssetFilter(scope: .archived)).map(\.id) == [id])
        #expect(throws: CatalogError.self) { try c.commit([.purge(id)], now: t0 + 4) }
        try c.commit([.trash(id), .purge(id)], now: t0 + 5)
        #expect(try c.assets(AssetFilter(scope: .all)).isEmpty)
        #expect(try c.asset(id)?.purged == true)
        #expect(try c.referencedObjects().isEmpty)
        #expect(throws: CatalogError.self) { try c.commit([.importAsset(anImport(1))], now: t0 + 6) }
        #expect(throws: CatalogError.self) { try c.commit([.setRating(id, 1)], now: t0 + 6) }
    }

    @Test func rejectsUnknownIdsAndBadValues() throws {
        let c = try library(1)[0]
        let before = try c.digest()
        #expect(throws: CatalogError.self) { try c.commit([.setRating(assetID(5), 3)], now: t0) }
        try c.commit([.importAsset(anImport(5))], now: t0)
        let after = try c.digest()
        #expect(before != after)
        #expect(throws: CatalogError.self) { try c.commit([.setRating(assetID(5), 6)], now: t0) }
        #expect(throws: CatalogError.self) { try c.commit([.setField(assetID(5), .type, .text("audio"))], now: t0) }
        #expect(throws: CatalogError.self) { try c.commit([.setField(assetID(5), .width, .text("wide"))], now: t0) }
        #expect(throws: CatalogError.self) {
            try c.commit([.setRating(assetID(5), 2), .addToAlbum(albumID(1), assetID(5))], now: t0)
        }
        #expect(try c.asset(assetID(5))?.rating == 0, "a failed commit leaves nothing behind")
        #expect(try c.digest() == after)
    }

    @Test func filtersByDateTagAlbumAndPages() throws {
        let c = try library(1)[0]
        try c.commit((0..<10).map { .importAsset(anImport($0)) }, now: t0)
        let all = try c.assets()
        #expect(all.map(\.id) == (0..<10).reversed().map { assetID($0) }, "newest first")
        #expect(try c.assets(AssetFilter(limit: 3, offset: 2)).map(\.id) == all[2..<5].map(\.id))
        let from = 1_700_000_000 + 3 * 60, to = 1_700_000_000 + 5 * 60
        #expect(try c.assets(AssetFilter(from: Int64(from), to: Int64(to))).map(\.id) == [5, 4, 3].map { assetID($0) })
        try c.commit([.addTag(assetID(1), "Places/Japan"), .addTag(assetID(2), "Places"),
                      .addTag(assetID(3), "PlacesOther"), .createAlbum(albumID(1), name: "Trip"),
                      .addToAlbum(albumID(1), assetID(7))], now: t0)
        #expect(Set(try c.assets(AssetFilter(tag: "Places")).map(\.id)) == [assetID(1), assetID(2)])
        #expect(try c.assets(AssetFilter(tag: "Places/Japan")).map(\.id) == [assetID(1)])
        #expect(try c.assets(AssetFilter(album: albumID(1))).map(\.id) == [assetID(7)])
        #expect(try c.tags().map(\.tag) == ["Places", "Places/Japan", "PlacesOther"])
        #expect(try c.tags(of: assetID(1)) == ["Places/Japan"])
    }

    @Test func takenAtWithOffsetSortsByUTC() throws {
        let c = try library(1)[0]
        try c.commit([.importAsset(anImport(1, fields: [.takenAt: .takenAt(TakenAt(localSeconds: 10_000, utcOffsetMinutes: 120))])),
                      .importAsset(anImport(2, fields: [.takenAt: .takenAt(TakenAt(localSeconds: 9_000))]))], now: t0)
        #expect(try c.assets().map(\.id) == [assetID(2), assetID(1)], "10000 at UTC+2 is 2800 UTC, before 9000")
    }

    @Test func resolvesPrefixes() throws {
        let c = try library(1)[0]
        try c.commit((0..<40).map { .importAsset(anImport($0)) }, now: t0)
        let id = assetID(7)
        #expect(try c.resolveAsset(prefix: String(id.hex.prefix(10))) == id)
        #expect(try c.resolveAsset(prefix: id.hex.uppercased()) == id)
        #expect { try c.resolveAsset(prefix: "") } throws: { ($0 as? CatalogError)?.code == .unknownAsset }
        #expect { try c.resolveAsset(prefix: "zz") } throws: { ($0 as? CatalogError)?.code == .unknownAsset }
        // 40 ids over 16 first nibbles: some nibble is shared.
        let shared = try #require(Dictionary(grouping: (0..<40).map { assetID($0).hex.prefix(1) }, by: { $0 })
            .filter { $0.value.count > 1 }.keys.sorted().first)
        #expect { try c.resolveAsset(prefix: String(shared)) } throws: { ($0 as? CatalogError)?.code == .ambiguous }
    }

    @Test func motionFieldsAndReferencedObjects() throws {
        let c = try library(1)[0]
        let id = assetID(1)
        try c.commit([.importAsset(anImport(1, fields: [.motion: .bool(true), .motionVideo: .object(objectRef("mov")),
                                                        .motionRange: .range(ByteRange(offset: 100, length: 50)),
                                                        .projection: .text("equirectangular")])),
                      .setPreview(id, objectRef("preview"))], now: t0)
        let a = try #require(try c.asset(id))
        #expect(a.motion && a.motionVideo == objectRef("mov") && a.motionRange == ByteRange(offset: 100, length: 50))
        #expect(a.projection == "equirectangular")
        #expect(try c.referencedObjects() == [objectRef("orig-1"), objectRef("mov"), objectRef("preview")].sorted())
    }
}

@Suite struct AlbumAndMemberTests {
    @Test func albumLifecycle() throws {
        let c = try library(1)[0]
        try c.commit([.importAsset(anImport(1)), .importAsset(anImport(2)), .createAlbum(albumID(3), name: "Japan"),
                      .addToAlbum(albumID(3), assetID(1)), .addToAlbum(albumID(3), assetID(2)),
                      .describeAlbum(albumID(3), "spring"), .setAlbumCover(albumID(3), assetID(2))], now: t0)
        var al = try c.album("Japan")
        #expect(al.assetCount == 2 && al.description == "spring" && al.cover == assetID(2))
        try c.commit([.removeFromAlbum(albumID(3), assetID(1)), .renameAlbum(albumID(3), "Nippon")], now: t0 + 1)
        al = try c.album(String(albumID(3).hex.prefix(6)))
        #expect(al.name == "Nippon" && al.assetCount == 1)
        #expect(throws: CatalogError.self) { try c.album("Japan") }
        #expect(throws: CatalogError.self) { try c.commit([.createAlbum(albumID(3), name: "again")], now: t0) }
        try c.commit([.deleteAlbum(albumID(3))], now: t0 + 2)
        #expect(try c.albums().isEmpty)
        #expect(throws: CatalogError.self) { try c.commit([.addToAlbum(albumID(3), assetID(1))], now: t0 + 3) }
    }

    @Test func membersAndRoles() throws {
        let cs = try library(3)
        let (a, b) = (cs[0], cs[1])
        #expect(try a.members().count == 3)
        #expect(try b.founder() == identity(1).publicKey)
        #expect(throws: CatalogError.self) { try b.commit([.setRole(identity(3).deviceID, .admin)], now: t0) }
        #expect(throws: CatalogError.self) { try a.commit([.removeMember(identity(1).deviceID)], now: t0) }
        try a.commit([.setRole(identity(3).deviceID, .partner)], now: t0 + 1)
        try sync(a, cs[2])
        #expect(throws: CatalogError.self) { try cs[2].commit([.importAsset(anImport(1))], now: t0 + 2) }
        try a.commit([.removeMember(identity(2).deviceID)], now: t0 + 3)
        #expect(try a.members().map(\.device).contains(identity(2).deviceID) == false)
        #expect(try a.members().first { $0.device == identity(3).deviceID }?.role == .partner)
    }

    @Test func fileBackedOpenReopenAndNewEpoch() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("catalog-test-\(UInt64.random(in: 0...UInt64.max))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("library.db").path
        let lib: LibraryID
        let digest: Hash256
        do {
            let c = try Catalog.create(path: path, identity: identity(1), personName: "Ann",
                                       nonce: [UInt8](repeating: 1, count: 16), now: t0)
            try c.commit([.importAsset(anImport(1)), .addTag(assetID(1), "x")], now: t0)
            lib = c.libraryID
            digest = try c.digest()
            #expect(throws: CatalogError.self) {
                try Catalog.create(path: path, identity: identity(1), personName: "Ann", nonce: [UInt8](repeating: 1, count: 16), now: t0)
            }
        }
        let c = try Catalog.open(path: path, identity: identity(1))
        #expect(c.libraryID == lib)
        #expect(try c.digest() == digest)
        #expect(try c.origin().epoch == 1)
        #expect(throws: CatalogError.self) { try Catalog.open(path: path, identity: identity(2)) }
        let o = try c.startNewEpoch()
        #expect(o.epoch == 2)
        let b = try c.commit([.setRating(assetID(1), 5)], now: t0 + 1)
        #expect(b.origin == o && b.firstSeq == 1)
        #expect(try c.versionVector()[Origin(device: identity(1).deviceID, epoch: 1)] == 4, "genesis (2 changes) and one commit (2 changes)")
        let j = try Catalog.join(path: nil, library: lib, identity: identity(9))
        let r = try sync(c, j)
        #expect(r.rejected.isEmpty && r.applied == 3)
        #expect(try j.digest() == c.digest())
    }
}

@Suite struct LargeFilterTests {
    /// A tag on thousands of assets takes the walk-the-index plan; it must list the same page.
    @Test func largeTagAndAlbumFiltersPageCorrectly() throws {
        let c = try library(1)[0]
        let n = 4100
        var edits = [Edit]()
        for i in 0..<n {
            edits.append(.importAsset(anImport(i)))
            edits.append(.addTag(assetID(i), "Big/\(i % 2)"))
        }
        edits.append(.createAlbum(albumID(1), name: "All"))
        for i in 0..<n { edits.append(.addToAlbum(albumID(1), assetID(i))) }
        try c.commit(edits, now: t0)
        let all = try c.assets(AssetFilter(limit: 300, offset: 10)).map(\.id)
        #expect(all.count == 300)
        #expect(try c.assets(AssetFilter(tag: "Big", limit: 300, offset: 10)).map(\.id) == all)
        #expect(try c.assets(AssetFilter(album: albumID(1), limit: 300, offset: 10)).map(\.id) == all)
        let evens = try c.assets(AssetFilter(tag: "Big/0", limit: 100)).map(\.id)
        #expect(evens == (0..<n).reversed().filter { $0 % 2 == 0 }.prefix(100).map { assetID($0) })
    }
}
