import Foundation
import GRDB
import HearthCrypto
import Testing
@testable import Catalog

/// The catalog's schema history: pinned migration names, adoption of a release-6847644 catalog,
/// refusal of a newer one.
@Suite struct MigrationTests {
    /// Every migration ever shipped, in order. Append a new one here when you append it to
    /// `CatalogMigrations.all`; editing, renaming or reordering a shipped one fails this test.
    static let pinned = [
        "v2-release-6847644",
        "v3-deferred-change",
        "v4-thumbhash",
        "v5-people",
    ]

    @Test func migrationNamesArePinned() {
        #expect(CatalogMigrations.all.map(\.name) == Self.pinned)
        #expect(CatalogMigrations.version == CatalogMigrations.firstVersion - 1 + Self.pinned.count)
    }

    @Test func everyAssetFieldHasItsColumn() throws {
        let q = try DatabaseQueue()
        try CatalogMigrations.migrate(q, label: "test", existing: false)
        let columns = try q.read { db in Set(try db.columns(in: "asset").map(\.name)) }
        for f in AssetField.allCases {
            #expect(columns.contains(f.column), "AssetField.\(f) has no column: add a migration with ALTER TABLE")
        }
    }

    @Test func newCatalogRecordsItsMigrationsAndVersion() throws {
        let dir = try TempDir()
        let path = dir.path("c.sqlite")
        _ = try Catalog.create(path: path, identity: identity(1), personName: "Ann",
                               nonce: [UInt8](repeating: 9, count: 16), now: t0)
        let (applied, schema) = try DatabaseQueue(path: path).read(Self.migrationState)
        #expect(applied == Self.pinned)
        #expect(schema == CatalogMigrations.version)
    }

    /// The fixture's catalog was made by the release-6847644 binary (scripts/make-release-fixture.sh):
    /// the first migration makes exactly its schema, and the release catalog upgraded by every
    /// later migration has exactly a fresh catalog's schema.
    @Test func freshSchemaEqualsReleaseSchema() throws {
        let dir = try TempDir()
        let copy = try releaseCatalogCopy(into: dir)
        let release = try DatabaseQueue(path: copy)
        let first = try DatabaseQueue()
        try first.write { db in try CatalogMigrations.all[0].migrate(db) }
        let a = try release.read(Self.schemaShape), b = try first.read(Self.schemaShape)
        #expect(!a.isEmpty)
        #expect(a == b)
        let fresh = try DatabaseQueue()
        try CatalogMigrations.migrate(fresh, label: "fresh", existing: false)
        try CatalogMigrations.migrate(release, label: copy, existing: true)
        #expect(try release.read(Self.schemaShape) == fresh.read(Self.schemaShape))
    }

    /// Adoption touches no data; the later migrations only add tables, indexes and columns
    /// (which read as their defaults) and move `meta.schema`.
    @Test func releaseCatalogIsAdoptedInPlaceWithoutTouchingData() throws {
        let dir = try TempDir()
        let copy = try releaseCatalogCopy(into: dir)
        let before = try DatabaseQueue(path: copy).read(Self.contents)
        let columns = try DatabaseQueue(path: copy).read(Self.columns)
        let migrated = try DatabaseQueue(path: copy).read { try $0.tableExists("grdb_migrations") }
        #expect(!migrated, "the fixture predates migrations")

        let pool = try DatabasePool(path: copy)
        try CatalogMigrations.migrate(pool, label: copy, existing: true)
        try CatalogMigrations.migrate(pool, label: copy, existing: true) // reopening is a no-op
        let after = try pool.read { db in try Self.contents(db, only: columns) }
        #expect(after == before.map {
            $0 == "meta: [key:\"schema\" value:2]" ? "meta: [key:\"schema\" value:\(CatalogMigrations.version)]" : $0
        })
        let (applied, schema) = try pool.read(Self.migrationState)
        #expect(applied == Self.pinned)
        #expect(schema == CatalogMigrations.version)
    }

    @Test func newerCatalogIsRefusedUnchanged() throws {
        let dir = try TempDir()
        let path = dir.path("c.sqlite")
        do {
            _ = try Catalog.create(path: path, identity: identity(1), personName: "Ann",
                                   nonce: [UInt8](repeating: 9, count: 16), now: t0)
        }
        // What a later Hearth would leave: two more migrations and meta.schema moved on.
        let future = CatalogMigrations.version + 2
        try DatabaseQueue(path: path).write { db in
            try db.execute(sql: "CREATE TABLE face(id BLOB PRIMARY KEY, name TEXT) WITHOUT ROWID")
            try db.execute(sql: "INSERT INTO grdb_migrations VALUES('v6-face'), ('v7-pet')")
            try db.execute(sql: "UPDATE meta SET value = ? WHERE key = 'schema'", arguments: [future])
        }
        let before = try DatabaseQueue(path: path).read { db in try Self.schemaShape(db) + Self.contents(db) }
        let e = try #require(throws: CatalogError.self) { try Catalog.open(path: path, identity: identity(1)) }
        #expect(e.code == .newerSchema)
        #expect(e.message.contains("catalog schema \(future) (written by a newer Hearth) is newer than this "
                                   + "binary's schema \(CatalogMigrations.version); upgrade hearth"), "\(e.message)")
        let after = try DatabaseQueue(path: path).read { db in try Self.schemaShape(db) + Self.contents(db) }
        #expect(after == before, "the refused catalog is left as it was")
        let (applied, schema) = try DatabaseQueue(path: path).read(Self.migrationState)
        #expect(applied == Self.pinned + ["v6-face", "v7-pet"])
        #expect(schema == future)
    }

    @Test func aDatabaseThatIsNoCatalogIsLeftAlone() throws {
        let dir = try TempDir()
        let path = dir.path("other.sqlite")
        try DatabaseQueue(path: path).write { db in try db.execute(sql: "CREATE TABLE notes(t TEXT)") }
        let e = try #require(throws: CatalogError.self) { try Catalog.open(path: path, identity: identity(1)) }
        #expect(e.message.contains("not a Hearth catalog"))
        let names = try DatabaseQueue(path: path).read { db in
            try String.fetchAll(db, sql: "SELECT name FROM sqlite_master ORDER BY name")
        }
        #expect(names == ["notes"])
    }

    // MARK: - Helpers

    /// The applied migrations (in the order applied) and `meta.schema`.
    static func migrationState(_ db: Database) throws -> ([String], Int?) {
        (try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY rowid"),
         try Int.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'schema'"))
    }

    /// Tables with their columns (name, type, not null, default, primary key position) and
    /// indexes with their SQL (whitespace folded), for comparing two schemas.
    static func schemaShape(_ db: Database) throws -> [String] {
        var out: [String] = []
        let tables = try String.fetchAll(db, sql: """
            SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'
            AND name != 'grdb_migrations' ORDER BY name
            """)
        for t in tables {
            for r in try Row.fetchAll(db, sql: "PRAGMA table_info(\(t.quotedDatabaseIdentifier))") {
                out.append("\(t).\(r["name"] as String) \(r["type"] as String) nn=\(r["notnull"] as Int) "
                           + "dflt=\(r["dflt_value"] as String? ?? "-") pk=\(r["pk"] as Int)")
            }
            let withoutRowID = try String.fetchOne(db, sql: "SELECT sql FROM sqlite_master WHERE name = ?",
                                                   arguments: [t])?.uppercased().contains("WITHOUT ROWID") ?? false
            out.append("\(t) withoutRowID=\(withoutRowID)")
        }
        for sql in try String.fetchAll(db, sql: "SELECT sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL") {
            out.append(sql.split(whereSeparator: \.isWhitespace).joined(separator: " "))
        }
        return out.sorted()
    }

    /// Every row of every table but `grdb_migrations` and the `meta.schema` key, as text.
    static func contents(_ db: Database) throws -> [String] { try contents(db, only: nil) }

    /// Every table's columns, in order.
    static func columns(_ db: Database) throws -> [String: [String]] {
        var out: [String: [String]] = [:]
        for t in try String.fetchAll(db, sql: """
            SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'
            AND name != 'grdb_migrations' ORDER BY name
            """) {
            out[t] = try db.columns(in: t).map(\.name)
        }
        return out
    }

    /// Every row of every table; with `only`, just those tables and columns.
    static func contents(_ db: Database, only: [String: [String]]?) throws -> [String] {
        var out: [String] = []
        let tables = try String.fetchAll(db, sql: """
            SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'
            AND name != 'grdb_migrations' ORDER BY name
            """)
        for t in tables {
            let list: String
            if let only {
                guard let cols = only[t] else { continue }
                list = cols.map(\.quotedDatabaseIdentifier).joined(separator: ", ")
            } else {
                list = "*"
            }
            for r in try Row.fetchAll(db, sql: "SELECT \(list) FROM \(t.quotedDatabaseIdentifier)") {
                out.append("\(t): \(r.description)")
            }
        }
        return out.sorted()
    }

    func releaseCatalogCopy(into dir: TempDir) throws -> String {
        let libraries = releaseFixtureHome.appendingPathComponent("libraries")
        let files = try FileManager.default.contentsOfDirectory(atPath: libraries.path).filter { $0.hasSuffix(".sqlite") }
        let file = try #require(files.first, "the release fixture (Tests/Fixtures/release-6847644) has no catalog")
        let copy = dir.path(file)
        try FileManager.default.copyItem(atPath: libraries.appendingPathComponent(file).path, toPath: copy)
        return copy
    }
}

/// The HOME directory release 6847644 left (committed; made by scripts/make-release-fixture.sh).
let releaseFixtureHome = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fixtures/release-6847644/home")

/// A temporary directory removed when the value goes away.
final class TempDir {
    let url: URL
    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("hearth-catalog-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    func path(_ name: String) -> String { url.appendingPathComponent(name).path }
    deinit { try? FileManager.default.removeItem(at: url) }
}
