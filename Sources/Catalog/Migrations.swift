import Foundation
import GRDB

/// Every change ever made to the catalog's SQLite schema, in order: the one place that says
/// what tables a catalog has.
///
/// A catalog opens through GRDB's `DatabaseMigrator`, which records each applied migration's
/// name in `grdb_migrations` and runs those not yet applied, each in its own transaction.
///
/// ## The pattern for a new record kind or field
/// 1. Write one new `static func` below that creates the new table (or `ALTER TABLE … ADD COLUMN`
///    for a new asset field), with its columns written out as literal SQL text.
/// 2. Append `(name, function)` to the end of `all`. The name says what it adds, e.g.
///    `"v3-person"`; the number is the schema version the migration brings (`version`).
/// 3. Append the same name to the pinned list in `MigrationTests`.
///
/// Never edit, rename, reorder or remove a migration that has shipped: libraries out there
/// already ran it, and a changed migration would leave their schema different from a new
/// library's. The pinned list makes such an edit fail the tests. A migration never reads a
/// Swift enum to build its SQL (an enum grows; a migration must not): a new `AssetField` needs
/// a migration that adds its column, and `MigrationTests` checks every field has one.
///
/// A catalog written by a newer Hearth, whose `grdb_migrations` names migrations this binary
/// does not know, is refused unchanged (`CatalogError.Code.newerSchema`).
///
/// Release 6847644 created its catalogs without a migrator, with exactly the tables of
/// `v2Initial`, and wrote `meta.schema = 2`. Such a catalog is adopted in place: the first
/// migration is recorded as applied without running it, and its data is not touched.
enum CatalogMigrations {
    /// The catalog schema migrations, oldest first. Append only.
    static let all: [(name: String, migrate: @Sendable (Database) throws -> Void)] = [
        ("v2-release-6847644", v2Initial),
        ("v3-deferred-change", v3DeferredChange),
        ("v4-thumbhash", v4Thumbhash),
        ("v5-people", v5People),
        ("v6-timeline", v6Timeline),
        ("v7-sync-feed", v7SyncFeed),
    ]

    /// The schema version this binary writes: version 2 is release 6847644's schema, and each
    /// later migration adds one. Also stored as `meta.schema`.
    static var version: Int { firstVersion - 1 + all.count }

    /// The version the first migration brings (release 6847644 wrote `meta.schema = 2`).
    static let firstVersion = 2

    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        for (name, migrate) in all { m.registerMigration(name, migrate: migrate) }
        return m
    }

    /// The tables every release-6847644 catalog has; their presence (with `meta.schema = 2` and no
    /// `grdb_migrations`) is how such a catalog is recognized.
    static let releaseTables = ["meta", "vv", "batch_log", "pending", "member", "member_op", "asset",
                                "asset_name", "field_reg", "purged", "album", "album_reg", "album_item",
                                "asset_tag", "removed_dot"]

    /// Brings `writer`'s database to `version`: adopts a release-6847644 catalog, refuses one
    /// from a newer Hearth (unchanged), runs the migrations not yet applied, and records the
    /// version in `meta`. `label` names the database in errors. With `existing`, the database
    /// must already be a catalog: no table is created in any other file.
    static func migrate(_ writer: any DatabaseWriter, label: String, existing: Bool) throws {
        let migrator = migrator
        try writer.barrierWriteWithoutTransaction { db in
            let applied = try migrator.appliedIdentifiers(db)
            if applied.isEmpty, try db.tableExists("meta") {
                try adoptRelease(db, label: label)
            } else if applied.isEmpty, existing {
                throw CatalogError(.database, "\(label): not a Hearth catalog (no library id)")
            } else if try migrator.hasBeenSuperseded(db) {
                let stored = (try? Int.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'schema'")) ?? 0
                let theirs = max(stored, firstVersion - 1 + applied.count)
                let unknown = applied.subtracting(migrator.migrations).sorted()
                throw CatalogError(.newerSchema, "\(label): catalog schema \(theirs) (written by a newer Hearth) "
                                   + "is newer than this binary's schema \(version); upgrade hearth "
                                   + "(unknown migrations: \(unknown.joined(separator: ", ")))")
            }
        }
        do {
            try migrator.migrate(writer)
        } catch {
            // Two processes (a running `hearth serve` and a command) may upgrade at once; the one
            // that waited for the lock then finds the migration's tables made. Done is done.
            guard (try? writer.read({ try migrator.hasCompletedMigrations($0) })) == true else { throw error }
        }
        let stored = try writer.read { db in
            try Int.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'schema'")
        }
        if stored != version {
            try writer.write { db in
                try db.execute(sql: "INSERT OR REPLACE INTO meta(key, value) VALUES('schema', ?)", arguments: [version])
            }
        }
    }

    /// Records the first migration as applied to a catalog release 6847644 made, after checking
    /// it is one: `meta.schema = 2` and every table of `v2Initial` present. Touches no data.
    private static func adoptRelease(_ db: Database, label: String) throws {
        let stored = try Int.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'schema'")
        guard stored == firstVersion else {
            throw CatalogError(.newerSchema, "\(label): catalog schema \(stored.map(String.init) ?? "unknown") "
                               + "without a migration record; this binary knows schemas \(firstVersion)...\(version)")
        }
        for table in releaseTables where try !db.tableExists(table) {
            throw CatalogError(.corrupt, "\(label): catalog database is corrupt (table \(table) is missing); "
                               + "rebuild it from a peer: move the home aside and `hearth join` again with a ticket from another device")
        }
        try db.inTransaction {
            try db.execute(sql: "CREATE TABLE IF NOT EXISTS grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY)")
            try db.execute(sql: "INSERT OR IGNORE INTO grdb_migrations(identifier) VALUES(?)", arguments: [all[0].name])
            return .commit
        }
    }

    // MARK: - The migrations. Frozen: never edit one that has shipped.

    /// Schema 2, as release 6847644 created it. `asset.f_N` materializes `AssetField` raw value N:
    /// 1 bytes, 2 mimeType, 3 type, 4 takenAt, 5 width, 6 height, 7 orientation, 8 latitude,
    /// 9 longitude, 10 altitude, 11 make, 12 model, 13 lens, 14 fNumber, 15 exposureTime, 16 iso,
    /// 17 focalLength, 18 durationSeconds, 19 projection, 20 motion, 21 motionVideo, 22 motionRange,
    /// 23 description, 24 rating, 25 favorite, 26 archived, 27 trashedAt, 28 thumbnail, 29 preview.
    static func v2Initial(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE meta(key TEXT PRIMARY KEY, value) WITHOUT ROWID;
            CREATE TABLE vv(device BLOB NOT NULL, epoch INTEGER NOT NULL, seq INTEGER NOT NULL,
                PRIMARY KEY(device, epoch)) WITHOUT ROWID;
            CREATE TABLE batch_log(device BLOB NOT NULL, epoch INTEGER NOT NULL, first_seq INTEGER NOT NULL,
                last_seq INTEGER NOT NULL, members INTEGER NOT NULL, payload BLOB NOT NULL, signature BLOB NOT NULL,
                UNIQUE(device, epoch, first_seq));
            CREATE TABLE pending(device BLOB NOT NULL, epoch INTEGER NOT NULL, first_seq INTEGER NOT NULL,
                last_seq INTEGER NOT NULL, payload BLOB NOT NULL, signature BLOB NOT NULL,
                PRIMARY KEY(device, epoch, first_seq));
            CREATE TABLE member(device BLOB PRIMARY KEY, public_key BLOB, name TEXT, role INTEGER,
                removed INTEGER NOT NULL DEFAULT 0,
                hlc INTEGER, s_dev BLOB, s_epoch INTEGER, s_seq INTEGER) WITHOUT ROWID;
            CREATE TABLE member_op(dev BLOB NOT NULL, epoch INTEGER NOT NULL, seq INTEGER NOT NULL,
                target BLOB NOT NULL, hlc INTEGER NOT NULL, public_key BLOB, name TEXT, role INTEGER,
                removed INTEGER NOT NULL, PRIMARY KEY(dev, epoch, seq)) WITHOUT ROWID;
            CREATE INDEX member_op_target ON member_op(target);
            CREATE TABLE asset(id BLOB PRIMARY KEY, state INTEGER NOT NULL, sort_key INTEGER NOT NULL,
                file_name TEXT NOT NULL, imp_hlc INTEGER NOT NULL, imp_dev BLOB NOT NULL, imp_epoch INTEGER NOT NULL,
                imp_seq INTEGER NOT NULL, original BLOB NOT NULL,
                f_1 INTEGER, f_2 TEXT, f_3 TEXT, f_4 BLOB, f_5 INTEGER, f_6 INTEGER, f_7 INTEGER,
                f_8 REAL, f_9 REAL, f_10 REAL, f_11 TEXT, f_12 TEXT, f_13 TEXT, f_14 REAL, f_15 REAL,
                f_16 INTEGER, f_17 REAL, f_18 REAL, f_19 TEXT, f_20 INTEGER, f_21 BLOB, f_22 BLOB,
                f_23 TEXT, f_24 INTEGER, f_25 INTEGER, f_26 INTEGER, f_27 INTEGER, f_28 BLOB, f_29 BLOB);
            CREATE INDEX asset_page ON asset(state, sort_key DESC, id DESC);
            CREATE INDEX asset_fav ON asset(state, sort_key DESC, id DESC) WHERE f_25 = 1;
            CREATE TABLE asset_name(asset BLOB NOT NULL, name TEXT NOT NULL, PRIMARY KEY(asset, name)) WITHOUT ROWID;
            CREATE TABLE field_reg(asset BLOB NOT NULL, field INTEGER NOT NULL, hlc INTEGER NOT NULL,
                dev BLOB NOT NULL, epoch INTEGER NOT NULL, seq INTEGER NOT NULL, value BLOB NOT NULL,
                PRIMARY KEY(asset, field)) WITHOUT ROWID;
            CREATE TABLE purged(asset BLOB PRIMARY KEY) WITHOUT ROWID;
            CREATE TABLE album(id BLOB PRIMARY KEY, name TEXT, description TEXT, cover TEXT,
                deleted INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
            CREATE TABLE album_reg(album BLOB NOT NULL, field INTEGER NOT NULL, hlc INTEGER NOT NULL,
                dev BLOB NOT NULL, epoch INTEGER NOT NULL, seq INTEGER NOT NULL,
                PRIMARY KEY(album, field)) WITHOUT ROWID;
            CREATE TABLE album_item(album BLOB NOT NULL, asset BLOB NOT NULL, dev BLOB NOT NULL,
                epoch INTEGER NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY(album, asset, dev, epoch, seq)) WITHOUT ROWID;
            CREATE INDEX album_item_asset ON album_item(asset);
            CREATE TABLE asset_tag(asset BLOB NOT NULL, tag TEXT NOT NULL, dev BLOB NOT NULL,
                epoch INTEGER NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY(asset, tag, dev, epoch, seq)) WITHOUT ROWID;
            CREATE INDEX asset_tag_tag ON asset_tag(tag, asset);
            CREATE TABLE removed_dot(dev BLOB NOT NULL, epoch INTEGER NOT NULL, seq INTEGER NOT NULL,
                PRIMARY KEY(dev, epoch, seq)) WITHOUT ROWID;
            """)
    }

    /// Schema 3: changes a node holds but does not understand at its format level, kept until
    /// it does (`DeferredChanges`), and each logged batch's payload version, so that a peer
    /// speaking protocol 1 is offered each origin only up to its first version 3 batch (release
    /// 6847644 wrote version 2 only, hence the default).
    static func v3DeferredChange(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE deferred_change(dev BLOB NOT NULL, epoch INTEGER NOT NULL, seq INTEGER NOT NULL,
                hlc INTEGER NOT NULL, kind INTEGER NOT NULL, body BLOB NOT NULL,
                PRIMARY KEY(dev, epoch, seq)) WITHOUT ROWID;
            ALTER TABLE batch_log ADD COLUMN payload_version INTEGER NOT NULL DEFAULT 2;
            CREATE INDEX batch_log_v3 ON batch_log(device, epoch, first_seq) WHERE payload_version > 2;
            """)
    }

    /// Schema 4: asset field 30, `thumbhash` (catalog format level 2).
    static func v4Thumbhash(_ db: Database) throws {
        try db.execute(sql: "ALTER TABLE asset ADD COLUMN f_30 TEXT")
    }

    /// Schema 5: people (catalog format level 3). `person` is the materialized state of the
    /// person registers (`person_reg`, one last-writer-wins register per person and field:
    /// 1 name, 2 email, 3 isAdmin, 4 avatarColor, 5 passwordHash, 6 createdAt, 7 deleted);
    /// `email_key` is the email lowercased, for lookups. `device_person` is the register that
    /// says which person a device belongs to. Asset fields 31 `owner` (a person's UUID) and
    /// 32 `sha1` (base64 SHA-1 of the original), with an index for dedup lookups by SHA-1.
    static func v5People(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE person(id BLOB PRIMARY KEY, name TEXT, email TEXT, email_key TEXT,
                is_admin INTEGER NOT NULL DEFAULT 0, avatar_color TEXT, password_hash TEXT, created_at INTEGER,
                updated_at INTEGER NOT NULL DEFAULT 0, deleted INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
            CREATE INDEX person_email ON person(email_key);
            CREATE TABLE person_reg(person BLOB NOT NULL, field INTEGER NOT NULL, hlc INTEGER NOT NULL,
                dev BLOB NOT NULL, epoch INTEGER NOT NULL, seq INTEGER NOT NULL,
                PRIMARY KEY(person, field)) WITHOUT ROWID;
            CREATE TABLE device_person(device BLOB PRIMARY KEY, person BLOB, hlc INTEGER NOT NULL,
                dev BLOB NOT NULL, epoch INTEGER NOT NULL, seq INTEGER NOT NULL) WITHOUT ROWID;
            ALTER TABLE asset ADD COLUMN f_31 TEXT;
            ALTER TABLE asset ADD COLUMN f_32 TEXT;
            CREATE INDEX asset_sha1 ON asset(f_32) WHERE f_32 IS NOT NULL;
            """)
    }
    /// Schema 6: `asset.local_month`, the year and month (`YYYY * 100 + MM`) of the local capture
    /// time, which the timeline groups by (Immich buckets by the local month, `localDateTime`).
    /// From `takenAt` when the asset has one: its local wall-clock seconds, whether or not the
    /// UTC offset is known. Without `takenAt` it falls back to the month of `sort_key` read as
    /// UTC (the import time). Kept up to date by `Applier` with `sort_key`.
    ///
    /// The backfill decodes `f_4` with its own frozen copy of the value codec (tag 5, a zigzag
    /// LEB128 of the local seconds): this migration never reads `AssetField`, `FieldValue` or
    /// `ByteReader`, which may grow. A value it cannot read falls back like a missing `takenAt`.
    ///
    /// The indexes make the timeline index scans: bucket counts and statistics read
    /// `asset_month` alone (state, month, sort key, favourite flag, type), one month's rows are a
    /// range of it in sort-key order, and map markers read `asset_geo` alone (the assets with a
    /// position). Search by date uses the existing `asset_page` (state, sort key).
    static func v6Timeline(_ db: Database) throws {
        try db.execute(sql: "ALTER TABLE asset ADD COLUMN local_month INTEGER NOT NULL DEFAULT 0")
        let rows = try Row.fetchCursor(db, sql: "SELECT rowid, f_4, sort_key FROM asset")
        let update = try db.makeStatement(sql: "UPDATE asset SET local_month = ? WHERE rowid = ?")
        var updates: [(Int64, Int64)] = []
        while let r = try rows.next() {
            let rowid: Int64 = r[0]
            let local = (r[1] as Data?).flatMap { v6LocalSeconds([UInt8]($0)) } ?? (r[2] as Int64)
            updates.append((v6YearMonth(local), rowid))
        }
        for (month, rowid) in updates { try update.execute(arguments: [month, rowid]) }
        try db.execute(sql: """
            CREATE INDEX asset_month ON asset(state, local_month, sort_key, f_25, f_3);
            CREATE INDEX asset_geo ON asset(state, sort_key, id, f_8, f_9) WHERE f_8 IS NOT NULL AND f_9 IS NOT NULL;
            """)
    }

    /// Frozen for `v6Timeline`: the local seconds of an encoded `takenAt` value, nil otherwise.
    static func v6LocalSeconds(_ b: [UInt8]) -> Int64? {
        guard b.count >= 2, b[0] == 5 else { return nil }
        var out: UInt64 = 0, shift: UInt64 = 0, i = 1
        while i < b.count {
            let byte = b[i]
            guard shift < 64, !(shift == 63 && byte > 1) else { return nil }
            out |= UInt64(byte & 0x7f) << shift
            if byte & 0x80 == 0 { return Int64(bitPattern: (out >> 1) ^ (0 &- (out & 1))) }
            shift += 7
            i += 1
        }
        return nil
    }

    /// Frozen for `v6Timeline`: `YYYY * 100 + MM` of a count of seconds since 1970 read as UTC
    /// (proleptic Gregorian calendar; H. Hinnant's civil-from-days).
    static func v6YearMonth(_ seconds: Int64) -> Int64 {
        let days = seconds >= 0 ? seconds / 86400 : -((-(seconds + 1)) / 86400) - 1
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let m = mp < 10 ? mp + 3 : mp - 9
        let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
        return y * 100 + m
    }

    /// The node-local change feed (`ChangeFeed`): every asset row, album row, album membership
    /// and person carries `update_seq`, this node's strictly increasing number for the last change it applied
    /// there (local commit or peer batch alike). A membership's rows live in `album_asset_feed`, kept
    /// after the asset leaves the album (`present = 0`) so a removal has a number too; purged assets
    /// (`state = 9`) and deleted albums keep their rows, so the feed needs no other tombstone.
    /// Rows already in the catalog are numbered here, assets first (by rowid), then albums, then
    /// memberships, then people, so a first full sync after the upgrade sees them all.
    static func v7SyncFeed(_ db: Database) throws {
        try db.execute(sql: """
            ALTER TABLE asset ADD COLUMN update_seq INTEGER;
            UPDATE asset SET update_seq = rowid;
            CREATE INDEX asset_update_seq ON asset(update_seq);
            ALTER TABLE album ADD COLUMN update_seq INTEGER;
            UPDATE album SET update_seq = (SELECT COALESCE(MAX(rowid), 0) FROM asset)
                + (SELECT COUNT(*) FROM album b WHERE b.id <= album.id);
            CREATE INDEX album_update_seq ON album(update_seq);
            CREATE TABLE album_asset_feed(album BLOB NOT NULL, asset BLOB NOT NULL, present INTEGER NOT NULL,
                update_seq INTEGER NOT NULL, PRIMARY KEY(album, asset)) WITHOUT ROWID;
            INSERT INTO album_asset_feed(album, asset, present, update_seq)
                SELECT album, asset, 1, (SELECT COALESCE(MAX(update_seq), 0) FROM album)
                    + (SELECT COALESCE(MAX(rowid), 0) FROM asset) + ROW_NUMBER() OVER (ORDER BY album, asset)
                FROM (SELECT DISTINCT album, asset FROM album_item);
            CREATE INDEX album_asset_feed_seq ON album_asset_feed(update_seq);
            ALTER TABLE person ADD COLUMN update_seq INTEGER;
            UPDATE person SET update_seq = (SELECT COALESCE(MAX(update_seq), 0) FROM album_asset_feed)
                + (SELECT COALESCE(MAX(update_seq), 0) FROM album) + (SELECT COALESCE(MAX(rowid), 0) FROM asset)
                + (SELECT COUNT(*) FROM person p WHERE p.id <= person.id);
            CREATE INDEX person_update_seq ON person(update_seq);
            """)
    }
}
