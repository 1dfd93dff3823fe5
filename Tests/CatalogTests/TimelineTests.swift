import Foundation
import GRDB
import HearthCrypto
import Testing
@testable import Catalog

/// Seconds since 1970 of a wall-clock time read as UTC.
func wall(_ y: Int, _ mo: Int, _ d: Int, _ h: Int = 12, _ mi: Int = 0, _ s: Int = 0) -> Int64 {
    var c = DateComponents()
    (c.year, c.month, c.day, c.hour, c.minute, c.second) = (y, mo, d, h, mi, s)
    var cal = Calendar(identifier: .gregorian)
    cal.timeZone = TimeZone(identifier: "UTC")!
    return Int64(cal.date(from: c)!.timeIntervalSince1970)
}

func taken(_ local: Int64, _ offsetMinutes: Int32?) -> [AssetField: FieldValue] {
    [.takenAt: .takenAt(TakenAt(localSeconds: local, utcOffsetMinutes: offsetMinutes))]
}

func month(_ y: Int, _ m: Int) -> TimelineMonth { TimelineMonth(year: y, month: m)! }

/// An import with no capture time: the timeline falls back to the import time.
func undated(_ n: Int) -> AssetImport {
    AssetImport(id: assetID(n), fileName: "SCAN_\(n).PNG", original: objectRef("orig-\(n)"),
                fields: [.type: .text("image"), .mimeType: .text("image/png"), .bytes: .int(10)])
}

@Suite struct TimelineTests {
    /// Buckets are local months: an asset's UTC instant may fall in another month (or year)
    /// across the date line, and the bucket still follows the camera's wall clock.
    @Test func bucketsFollowTheLocalMonthAcrossOffsets() throws {
        let c = try library(1)[0]
        try c.commit([
            // 2024-01-31 23:30 in Tokyo (UTC 14:30 the same day): January.
            .importAsset(anImport(1, fields: taken(wall(2024, 1, 31, 23, 30), 540))),
            // 2024-02-01 00:10 in Hawaii (UTC 10:10): February.
            .importAsset(anImport(2, fields: taken(wall(2024, 2, 1, 0, 10), -600))),
            // 2024-01-01 00:00 in Kiribati (UTC+14; UTC 2023-12-31 10:00): January 2024.
            .importAsset(anImport(3, fields: taken(wall(2024, 1, 1, 0, 0), 840))),
            // 2023-12-31 23:59:59 at UTC-12 (UTC 2024-01-01 11:59:59): December 2023.
            .importAsset(anImport(4, fields: taken(wall(2023, 12, 31, 23, 59, 59), -720))),
            // Offset unknown: the local time is all there is. India's +5:30 is fractional.
            .importAsset(anImport(5, fields: taken(wall(2024, 3, 15), nil))),
            .importAsset(anImport(6, fields: taken(wall(2024, 3, 1, 0, 0), 330))),
            // No capture time: the import time (t0 = 2026-01-01T00:00Z).
            .importAsset(undated(7)),
        ], now: t0)
        let buckets = try c.timeBuckets()
        #expect(buckets.map(\.timeBucket) == ["2026-01-01", "2024-03-01", "2024-02-01", "2024-01-01", "2023-12-01"])
        #expect(buckets.map(\.count) == [1, 2, 1, 2, 1])
        let asc = try c.timeBuckets(TimelineFilter(order: .ascending))
        #expect(asc == buckets.reversed())

        let jan = try c.timeBucket(month(2024, 1))
        #expect(jan.map(\.id) == [assetID(1), assetID(3)], "newest UTC instant first")
        #expect(jan[0].fileCreatedAt == wall(2024, 1, 31, 14, 30))
        #expect(jan[0].localDateTime == wall(2024, 1, 31, 23, 30))
        #expect(jan[0].localOffsetHours == 9)
        #expect(jan[1].fileCreatedAt == wall(2023, 12, 31, 10, 0))
        #expect(jan[1].localOffsetHours == 14)
        #expect(try c.timeBucket(month(2024, 1), TimelineFilter(order: .ascending)).map(\.id) == [assetID(3), assetID(1)])
        let dec = try c.timeBucket(month(2023, 12))
        #expect(dec.map(\.id) == [assetID(4)])
        #expect(dec[0].localOffsetHours == -12)
        let mar = try c.timeBucket(month(2024, 3))
        #expect(mar.map(\.id) == [assetID(5), assetID(6)])
        #expect(mar[1].localOffsetHours == 5.5)
        #expect(mar[0].localOffsetHours == 0 && mar[0].fileCreatedAt == wall(2024, 3, 15))
        let undatedRow = try #require(try c.timeBucket(month(2026, 1)).first)
        #expect(undatedRow.id == assetID(7) && undatedRow.fileCreatedAt == t0 / 1000 && undatedRow.createdAt == t0)
        #expect(try c.timeBucket(month(2024, 4)).isEmpty)
        let counted = try buckets.map { try c.timeBucket($0.month).count }
        #expect(counted == buckets.map(\.count), "every bucket's count matches its rows")
    }

    @Test func monthNamesParseAndPrint() {
        #expect(TimelineMonth("2024-03-01")?.bucket == "2024-03-01")
        #expect(TimelineMonth("2024-03-17T00:00:00.000Z") == month(2024, 3))
        #expect(TimelineMonth("2024-3-01") == nil)
        #expect(TimelineMonth("2024-13-01") == nil)
        #expect(TimelineMonth("2024-00-01") == nil)
        #expect(TimelineMonth("") == nil)
        #expect(TimelineMonth("abcd-ef-gh") == nil)
        #expect(TimelineMonth.yearMonth(0) == 197001)
        #expect(TimelineMonth.yearMonth(-1) == 196912)
        #expect(TimelineMonth.yearMonth(wall(2000, 2, 29, 23, 59, 59)) == 200002)
        #expect(TimelineMonth.yearMonth(wall(2000, 3, 1, 0, 0, 0)) == 200003)
        #expect(TimelineMonth.yearMonth(wall(1900, 3, 1)) == 190003)
        // The migration's frozen copy agrees with the applier's.
        for s in stride(from: Int64(-5_000_000_000), to: 5_000_000_000, by: 7_777_777) {
            #expect(CatalogMigrations.v6YearMonth(s) == TimelineMonth.yearMonth(s))
        }
    }

    /// Immich's filters: visibility (timeline = not archived, archive, all), favourites, trash, album.
    @Test func filtersVisibilityFavoriteTrashAndAlbum() throws {
        let c = try library(1)[0]
        let jan = taken(wall(2024, 1, 10), 0), feb = taken(wall(2024, 2, 10), 0)
        try c.commit((1...4).map { .importAsset(anImport($0, fields: jan)) } + (5...8).map { .importAsset(anImport($0, fields: feb)) },
                     now: t0)
        try c.commit([.setFavorite(assetID(1), true), .setFavorite(assetID(5), true), .setArchived(assetID(2), true),
                      .setArchived(assetID(6), true), .trash(assetID(3)), .setArchived(assetID(7), true), .trash(assetID(7)),
                      .createAlbum(albumID(1), name: "Trip"), .addToAlbum(albumID(1), assetID(1)),
                      .addToAlbum(albumID(1), assetID(2)), .addToAlbum(albumID(1), assetID(5))], now: t0 + 1)
        func counts(_ f: TimelineFilter) throws -> [String: Int] {
            Dictionary(uniqueKeysWithValues: try c.timeBuckets(f).map { ($0.timeBucket, $0.count) })
        }
        #expect(try counts(TimelineFilter()) == ["2024-01-01": 3, "2024-02-01": 3], "timeline and archive, not the trash")
        #expect(try counts(TimelineFilter(visibility: .timeline)) == ["2024-01-01": 2, "2024-02-01": 2])
        #expect(try counts(TimelineFilter(visibility: .archive)) == ["2024-01-01": 1, "2024-02-01": 1])
        #expect(try counts(TimelineFilter(isFavorite: true)) == ["2024-01-01": 1, "2024-02-01": 1])
        #expect(try counts(TimelineFilter(isFavorite: false)) == ["2024-01-01": 2, "2024-02-01": 2])
        #expect(try counts(TimelineFilter(isTrashed: true)) == ["2024-01-01": 1, "2024-02-01": 1])
        #expect(try counts(TimelineFilter(visibility: .archive, isTrashed: true)) == ["2024-02-01": 1])
        #expect(try counts(TimelineFilter(visibility: .timeline, isTrashed: true)) == ["2024-01-01": 1])
        #expect(try counts(TimelineFilter(album: albumID(1))) == ["2024-01-01": 2, "2024-02-01": 1])
        #expect(try counts(TimelineFilter(visibility: .timeline, album: albumID(1))) == ["2024-01-01": 1, "2024-02-01": 1])
        #expect(try counts(TimelineFilter(album: albumID(9))).isEmpty)
        // Added twice (two dots in the observed-remove set): still one asset.
        try c.commit([.addToAlbum(albumID(1), assetID(1))], now: t0 + 1)
        #expect(try c.db.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM album_item WHERE asset = ?",
                                                 arguments: [assetID(1).data]) } == 2)
        #expect(try counts(TimelineFilter(album: albumID(1))) == ["2024-01-01": 2, "2024-02-01": 1])
        #expect(try c.timeBucket(month(2024, 1), TimelineFilter(album: albumID(1))).count == 2)
        #expect(try c.assetStatistics(TimelineFilter(album: albumID(1))) == AssetStatistics(images: 3, videos: 0, total: 3))

        let janAll = try c.timeBucket(month(2024, 1))
        #expect(Set(janAll.map(\.id)) == [assetID(1), assetID(2), assetID(4)])
        let row2 = try #require(janAll.first { $0.id == assetID(2) })
        #expect(row2.isArchived && !row2.isTrashed && !row2.isFavorite)
        let row1 = try #require(janAll.first { $0.id == assetID(1) })
        #expect(row1.isFavorite && !row1.isArchived)
        let trashed = try c.timeBucket(month(2024, 2), TimelineFilter(isTrashed: true))
        #expect(trashed.map(\.id) == [assetID(7)])
        #expect(trashed[0].isTrashed && trashed[0].isArchived)
        #expect(try c.timeBucket(month(2024, 1), TimelineFilter(isFavorite: true)).map(\.id) == [assetID(1)])
        #expect(Set(try c.timeBucket(month(2024, 1), TimelineFilter(album: albumID(1))).map(\.id)) == [assetID(1), assetID(2)])
        // Restore and purge move assets between views.
        try c.commit([.restore(assetID(3))], now: t0 + 2)
        #expect(try counts(TimelineFilter(visibility: .timeline)) == ["2024-01-01": 3, "2024-02-01": 2])
        try c.commit([.purge(assetID(7))], now: t0 + 3)
        #expect(try counts(TimelineFilter(isTrashed: true)).isEmpty)
    }

    /// The bucket column is maintained wherever the capture time changes: a local edit, its
    /// clearing (back to the import time), and the same changes applied from a peer.
    @Test func editingTheCaptureTimeMovesTheAssetAndSyncsTheSame() throws {
        let cats = try library(2)
        let a = cats[0], b = cats[1]
        try a.commit([.importAsset(anImport(1, fields: taken(wall(2024, 5, 31, 23), 0)))], now: t0)
        #expect(try a.timeBuckets().map(\.timeBucket) == ["2024-05-01"])
        try a.commit([.setField(assetID(1), .takenAt, .takenAt(TakenAt(localSeconds: wall(2024, 6, 1, 8), utcOffsetMinutes: 120)))],
                     now: t0 + 1)
        #expect(try a.timeBuckets().map(\.timeBucket) == ["2024-06-01"])
        try sync(a, b)
        #expect(try b.timeBuckets() == a.timeBuckets())
        #expect(try b.timeBucket(month(2024, 6)) == a.timeBucket(month(2024, 6)))
        try a.commit([.setField(assetID(1), .takenAt, .null)], now: t0 + 2)
        #expect(try a.timeBuckets().map(\.timeBucket) == ["2026-01-01"], "no capture time: the import time's month")
        try sync(a, b)
        #expect(try b.timeBuckets().map(\.timeBucket) == ["2026-01-01"])
        // An edit that arrives before its import (out of order) is applied with the import.
        let c = try library(1)[0]
        try c.commit([.importAsset(anImport(2, fields: taken(wall(2020, 1, 1), 0)))], now: t0)
        try c.commit([.setField(assetID(2), .takenAt, .takenAt(TakenAt(localSeconds: wall(2021, 7, 4))))], now: t0 + 1)
        #expect(try c.timeBuckets().map(\.timeBucket) == ["2021-07-01"])
    }

    @Test func bucketRowsCarryWhatTheColumnarBucketNeeds() throws {
        let c = try library(1)[0]
        let when = taken(wall(2024, 8, 1), 60)
        var f = when
        f[.width] = .int(4000); f[.height] = .int(3000); f[.orientation] = .int(6)
        f[.latitude] = .double(35.6); f[.longitude] = .double(139.7); f[.projection] = .text("EQUIRECTANGULAR")
        var v = when
        v[.type] = .text("video"); v[.durationSeconds] = .double(12.5); v[.width] = .int(1920); v[.height] = .int(1080)
        var live = when
        live[.motionVideo] = .object(objectRef("motion")); live[.motion] = .bool(true)
        try c.commit([.importAsset(anImport(1, fields: f)), .importAsset(anImport(2, fields: v)),
                      .importAsset(anImport(3, fields: live)),
                      .setField(assetID(1), .thumbhash, .text("1QcSHQRnh493V4dIh4eXh1h4kJUI"))], now: t0)
        let rows = Dictionary(uniqueKeysWithValues: try c.timeBucket(month(2024, 8)).map { ($0.id, $0) })
        let r1 = try #require(rows[assetID(1)]), r2 = try #require(rows[assetID(2)]), r3 = try #require(rows[assetID(3)])
        #expect(r1.ratio == 0.75, "orientation 6 turns 4000×3000 upright")
        #expect(r1.isImage && r1.thumbhash == "1QcSHQRnh493V4dIh4eXh1h4kJUI")
        #expect(r1.latitude == 35.6 && r1.longitude == 139.7 && r1.projection == "EQUIRECTANGULAR")
        #expect(r1.city == nil && r1.country == nil)
        #expect(r1.importedBy == identity(1).deviceID)
        #expect(!r2.isImage && r2.durationSeconds == 12.5 && abs(r2.ratio - 16.0 / 9) < 1e-12)
        #expect(r3.ratio == 1, "no size: square")
        #expect(r3.motionVideo == objectRef("motion").id && r1.motionVideo == nil)
        #expect(r3.thumbhash == nil)
    }

    @Test func searchMetadataFiltersPagesAndOrders() throws {
        let c = try library(1)[0]
        var edits: [Edit] = []
        for i in 0..<30 {
            var f = taken(wall(2024, 1, 1) + Int64(i) * 86400, 0)
            f[.make] = .text(i % 3 == 0 ? "Canon" : "Apple")
            f[.model] = .text(i % 3 == 0 ? "EOS R5" : "iPhone 15")
            if i % 5 == 0 { f[.lens] = .text("RF 24-70mm") }
            if i % 10 == 0 { f[.type] = .text("video") }
            if i == 7 { f[.description] = .text("Sunset at 100% zoom") }
            edits.append(.importAsset(anImport(i, name: i == 12 ? "Holiday_Beach.JPG" : nil, fields: f)))
        }
        edits += [.setFavorite(assetID(3), true), .setFavorite(assetID(4), true), .addTag(assetID(4), "Places/Japan"),
                  .addTag(assetID(4), "People"), .addTag(assetID(5), "Places"), .setArchived(assetID(6), true),
                  .trash(assetID(9))]
        try c.commit(edits, now: t0)
        func ids(_ build: (inout MetadataSearch) -> Void) throws -> [Hash256] {
            var q = MetadataSearch()
            q.size = 1000
            build(&q)
            return try c.searchMetadata(q).assets.map(\.id)
        }
        let visible = (0..<30).filter { $0 != 9 }
        #expect(try ids { _ in } == visible.reversed().map { assetID($0) }, "newest first, not the trash")
        #expect(try ids { $0.order = .ascending } == visible.map { assetID($0) })
        #expect(try ids { $0.takenAfter = wall(2024, 1, 3); $0.takenBefore = wall(2024, 1, 6) } == [5, 4, 3, 2].map { assetID($0) },
                "inclusive date bounds")
        #expect(try ids { $0.make = "canon" }.count == 10 - 1 + 0, "case-insensitive make (asset 9 is trashed)")
        #expect(try ids { $0.make = "Canon"; $0.model = "EOS R5"; $0.lens = "rf 24-70mm" } == [15, 0].map { assetID($0) })
        #expect(try ids { $0.originalFileName = "beach" } == [assetID(12)])
        #expect(try ids { $0.originalFileName = "img_2" }.count == 11, "IMG_2 and IMG_20…IMG_29")
        #expect(try ids { $0.originalFileName = "_" }.count == 29, "an underscore is matched literally")
        #expect(try ids { $0.description = "100%" } == [assetID(7)])
        #expect(try ids { $0.description = "100x" }.isEmpty)
        #expect(try ids { $0.tags = ["Places"] } == [assetID(5), assetID(4)])
        #expect(try ids { $0.tags = ["Places", "People"] } == [assetID(4)])
        #expect(try ids { $0.isFavorite = true } == [assetID(4), assetID(3)])
        #expect(try ids { $0.type = "video" } == [20, 10, 0].map { assetID($0) })
        #expect(try ids { $0.visibility = .archive } == [assetID(6)])
        #expect(try !ids { $0.visibility = .timeline }.contains(assetID(6)))
        #expect(try ids { $0.withDeleted = true }.count == 30)
        #expect(try ids { $0.isTrashed = true } == [assetID(9)])
        #expect(try ids { $0.city = "Tokyo" }.isEmpty, "no geocoder: no asset has a place")
        try c.commit([.setRating(assetID(8), 4), .setField(assetID(11), .motion, .bool(true)),
                      .createAlbum(albumID(1), name: "A"), .createAlbum(albumID(2), name: "B"),
                      .addToAlbum(albumID(1), assetID(13)), .addToAlbum(albumID(1), assetID(14)),
                      .addToAlbum(albumID(2), assetID(14))], now: t0 + 1)
        #expect(try ids { $0.rating = 4 } == [assetID(8)])
        #expect(try ids { $0.rating = 0 }.count == 28)
        #expect(try ids { $0.isMotion = true } == [assetID(11)])
        #expect(try ids { $0.isMotion = false }.count == 28)
        #expect(try ids { $0.albums = [albumID(1)] } == [assetID(14), assetID(13)])
        #expect(try ids { $0.albums = [albumID(1), albumID(2)] } == [assetID(14)])

        // Pages: 29 visible assets in pages of 10.
        var q = MetadataSearch()
        q.size = 10
        let p1 = try c.searchMetadata(q)
        q.page = 2
        let p2 = try c.searchMetadata(q)
        q.page = 3
        let p3 = try c.searchMetadata(q)
        #expect(p1.nextPage == 2 && p2.nextPage == 3 && p3.nextPage == nil)
        #expect((p1.assets + p2.assets + p3.assets).map(\.id) == visible.reversed().map { assetID($0) })
        #expect(p3.assets.count == 9)
        q.page = 4
        #expect(try c.searchMetadata(q).assets.isEmpty)

        for bad: (inout MetadataSearch) -> Void in [{ $0.size = 0 }, { $0.size = 1001 }, { $0.page = 0 }, { $0.rating = 6 },
                                                   { $0.make = String(repeating: "x", count: 20_000) }] {
            var b = MetadataSearch()
            bad(&b)
            let e = try #require(throws: CatalogError.self) { try c.searchMetadata(b) }
            #expect(e.code == .invalidQuery)
        }
    }

    @Test func randomMapAndStatistics() throws {
        let c = try library(1)[0]
        var edits: [Edit] = []
        for i in 0..<20 {
            var f = taken(wall(2024, 1, 1) + Int64(i) * 3600, 0)
            if i % 2 == 0 { f[.latitude] = .double(Double(i)); f[.longitude] = .double(-Double(i)) }
            if i % 4 == 0 { f[.type] = .text("video") }
            edits.append(.importAsset(anImport(i, fields: f)))
        }
        edits += [.trash(assetID(0)), .setArchived(assetID(2), true), .setFavorite(assetID(4), true)]
        try c.commit(edits, now: t0)

        let random = try c.randomAssets(50)
        #expect(random.count == 19 && Set(random.map(\.id)).count == 19 && !random.contains { $0.id == assetID(0) })
        #expect(try c.randomAssets(5).count == 5)
        #expect(try c.randomAssets(50, visibility: .archive).map(\.id) == [assetID(2)])
        #expect(throws: CatalogError.self) { try c.randomAssets(0) }

        let markers = try c.mapMarkers()
        #expect(markers.map(\.id) == stride(from: 18, through: 2, by: -2).map { assetID($0) })
        #expect(markers.last == MapMarker(id: assetID(2), latitude: 2, longitude: -2))
        #expect(try c.mapMarkers(TimelineFilter(visibility: .timeline)).count == 8)
        #expect(try c.mapMarkers(TimelineFilter(isFavorite: true)).map(\.id) == [assetID(4)])
        #expect(try c.mapMarkers(TimelineFilter(takenAfter: wall(2024, 1, 1) + 10 * 3600)).count == 5)
        #expect(try c.mapMarkers(TimelineFilter(order: .ascending)).map(\.id) == stride(from: 2, through: 18, by: 2).map { assetID($0) })
        try c.commit([.createAlbum(albumID(3), name: "Map"), .addToAlbum(albumID(3), assetID(6)),
                      .addToAlbum(albumID(3), assetID(7)), .addToAlbum(albumID(3), assetID(8))], now: t0 + 1)
        #expect(try c.mapMarkers(TimelineFilter(album: albumID(3))).map(\.id) == [assetID(8), assetID(6)])
        #expect(try c.assetStatistics(TimelineFilter(album: albumID(3))) == AssetStatistics(images: 2, videos: 1, total: 3))

        #expect(try c.assetStatistics() == AssetStatistics(images: 15, videos: 4, total: 19))
        #expect(try c.assetStatistics(TimelineFilter(isTrashed: true)) == AssetStatistics(images: 0, videos: 1, total: 1))
        #expect(try c.assetStatistics(TimelineFilter(visibility: .archive)) == AssetStatistics(images: 1, videos: 0, total: 1))
        #expect(try c.assetStatistics(TimelineFilter(isFavorite: true)) == AssetStatistics(images: 0, videos: 1, total: 1))
        #expect(c.exploreSections().isEmpty)
    }

    /// A catalog made before `v6-timeline` (its assets have no `local_month`) gets the column
    /// backfilled from each asset's capture time, or its import time.
    @Test func migrationBackfillsTheLocalMonth() throws {
        let dir = try TempDir()
        let path = dir.path("c.sqlite")
        do {
            let c = try Catalog.create(path: path, identity: identity(1), personName: "Ann",
                                       nonce: [UInt8](repeating: 9, count: 16), now: t0)
            try c.commit([.importAsset(anImport(1, fields: taken(wall(2024, 1, 31, 23, 30), 540))),
                          .importAsset(anImport(2, fields: taken(wall(2023, 12, 31, 23, 59, 59), -720))),
                          .importAsset(anImport(3, fields: taken(wall(1969, 7, 20, 20, 17), nil))),
                          .importAsset(undated(4))], now: t0)
        }
        // Take the catalog back to before v6: no index, no column, no record of the migration.
        try DatabaseQueue(path: path).write { db in
            try db.execute(sql: """
                DROP INDEX asset_month;
                DROP INDEX asset_geo;
                ALTER TABLE asset DROP COLUMN local_month;
                DELETE FROM grdb_migrations WHERE identifier = 'v6-timeline';
                UPDATE meta SET value = value - 1 WHERE key = 'schema';
                """)
            // A corrupt capture time (a peer's bug, a bad disk) falls back like a missing one.
            try db.execute(sql: "UPDATE asset SET f_4 = x'05ff' WHERE id = ?", arguments: [assetID(2).data])
        }
        let c = try Catalog.open(path: path, identity: identity(1))
        let buckets = Dictionary(uniqueKeysWithValues: try c.timeBuckets().map { ($0.timeBucket, $0.count) })
        #expect(buckets == ["2026-01-01": 1, "2024-01-01": 2, "1969-07-01": 1],
                "asset 2's unreadable capture time falls back to its sort key (2024-01-01T11:59:59Z)")
        let months = try c.db.read { db in
            try Row.fetchAll(db, sql: "SELECT id, local_month FROM asset").map { ((($0[0] as Data).hash256!), $0[1] as Int64) }
        }
        let byID = Dictionary(uniqueKeysWithValues: months)
        #expect(byID[assetID(1)] == 202401 && byID[assetID(2)] == 202401 && byID[assetID(3)] == 196907
                && byID[assetID(4)] == 202601)
        // v6's record is written again after v7's, so compare the set of records, not their order.
        let (applied, schema) = try c.db.read(MigrationTests.migrationState)
        #expect(applied.sorted() == MigrationTests.pinned && schema == CatalogMigrations.version)
    }

    /// The release-6847644 fixture's assets get their months from their capture times.
    @Test func releaseCatalogGetsItsMonths() throws {
        let dir = try TempDir()
        let copy = try MigrationTests().releaseCatalogCopy(into: dir)
        let queue = try DatabaseQueue(path: copy)
        try CatalogMigrations.migrate(queue, label: copy, existing: true)
        let rows = try queue.read { db in try Row.fetchAll(db, sql: "SELECT f_4, sort_key, local_month FROM asset") }
        #expect(rows.count == 4)
        for r in rows {
            let expected: Int64
            if case .takenAt(let t) = Schema.value(.takenAt, r[0] as DatabaseValue) {
                expected = TimelineMonth.yearMonth(t.localSeconds)
            } else {
                expected = TimelineMonth.yearMonth(r[1])
            }
            #expect(r[2] as Int64 == expected)
        }
    }
}
