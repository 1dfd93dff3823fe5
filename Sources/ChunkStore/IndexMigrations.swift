import Foundation
import GRDB

/// Every change ever made to the chunk index's schema (`index.sqlite`), in order.
///
/// The index opens through GRDB's `DatabaseMigrator`, which records each applied migration's
/// name in `grdb_migrations` and runs the rest, each in its own transaction.
///
/// ## The pattern for a change
/// Write one new `static func` below with its SQL written out literally (a new table, or
/// `ALTER TABLE … ADD COLUMN`), append `(name, function)` to `all`, and append the name to the
/// pinned list in `IndexMigrationTests`. Never edit, rename, reorder or remove a migration that
/// has shipped: stores out there already ran it. An index written by a newer Hearth (one whose
/// `grdb_migrations` names migrations this binary does not know) is refused unchanged.
///
/// Release 6847644 created `pack`, `chunk` and `chunk_by_pack` without a migrator; such an index
/// is adopted in place (the first migration is recorded as applied, no data is touched).
enum IndexMigrations {
    /// The chunk index migrations, oldest first. Append only.
    static let all: [(name: String, migrate: @Sendable (Database) throws -> Void)] = [
        ("v1-release-6847644", v1Initial),
    ]

    /// The schema version this binary writes: one per migration (release 6847644's index is 1).
    static var version: Int { all.count }

    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        for (name, migrate) in all { m.registerMigration(name, migrate: migrate) }
        return m
    }

    /// Brings the index to `version`: adopts a release-6847644 index, refuses one from a newer
    /// Hearth (unchanged), and runs the migrations not yet applied.
    static func migrate(_ writer: any DatabaseWriter, path: String) throws {
        let migrator = migrator
        try writer.barrierWriteWithoutTransaction { db in
            let applied = try migrator.appliedIdentifiers(db)
            if applied.isEmpty {
                let release = try db.tableExists("chunk"), pack = try db.tableExists("pack")
                if release || pack {
                    guard release, pack else {
                        throw ChunkStoreError(.corrupt, "\(path): the chunk index is damaged (table "
                                              + "\(release ? "pack" : "chunk") is missing)")
                    }
                    try db.inTransaction {
                        try db.execute(sql: "CREATE TABLE IF NOT EXISTS grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY)")
                        try db.execute(sql: "INSERT OR IGNORE INTO grdb_migrations(identifier) VALUES(?)",
                                       arguments: [all[0].name])
                        return .commit
                    }
                }
            } else if try migrator.hasBeenSuperseded(db) {
                let unknown = applied.subtracting(migrator.migrations).sorted()
                throw ChunkStoreError(.newerSchema, "\(path): chunk index schema \(applied.count) (written by a newer "
                                      + "Hearth) is newer than this binary's schema \(version); upgrade hearth "
                                      + "(unknown migrations: \(unknown.joined(separator: ", ")))")
            }
        }
        try migrator.migrate(writer)
    }

    // MARK: - The migrations. Frozen: never edit one that has shipped.

    /// Schema 1, as release 6847644 created it.
    static func v1Initial(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE pack (
                id INTEGER PRIMARY KEY,
                liveCount INTEGER NOT NULL,
                liveBytes INTEGER NOT NULL);
            CREATE TABLE chunk (
                id BLOB PRIMARY KEY NOT NULL,
                pack INTEGER NOT NULL,
                offset INTEGER NOT NULL,
                length INTEGER NOT NULL) WITHOUT ROWID;
            CREATE INDEX chunk_by_pack ON chunk(pack, offset);
            """)
    }
}
