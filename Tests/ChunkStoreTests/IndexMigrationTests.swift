import Foundation
import GRDB
import Testing
@testable import ChunkStore

/// The chunk index's schema history: pinned migration names, adoption of a release-6847644
/// index, refusal of a newer one, honest errors for a damaged one.
@Suite struct IndexMigrationTests {
    /// Every migration ever shipped, in order. Append a new one here when you append it to
    /// `IndexMigrations.all`; editing, renaming or reordering a shipped one fails this test.
    static let pinned = [
        "v1-release-6847644",
    ]

    /// The chunk store release 6847644 left (committed; made by scripts/make-release-fixture.sh).
    static let releaseChunks = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/release-6847644/home/chunks")

    @Test func migrationNamesArePinned() {
        #expect(IndexMigrations.all.map(\.name) == Self.pinned)
        #expect(IndexMigrations.version == Self.pinned.count)
    }

    @Test func newIndexRecordsItsMigrations() throws {
        let dir = TempDir()
        do { _ = try ChunkStore.open(directory: dir.path) }
        let applied = try DatabaseQueue(path: dir.path + "/index.sqlite").read { db in
            try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY rowid")
        }
        #expect(applied == Self.pinned)
    }

    @Test func releaseIndexIsAdoptedAndEveryChunkStillReads() throws {
        let dir = TempDir()
        let store = dir.path + "/chunks"
        try FileManager.default.copyItem(atPath: Self.releaseChunks.path, toPath: store)
        let (migrated, rows) = try DatabaseQueue(path: store + "/index.sqlite").read { db in
            (try db.tableExists("grdb_migrations"), try Row.fetchAll(db, sql: "SELECT * FROM chunk ORDER BY id").map(\.description))
        }
        #expect(!migrated, "the fixture predates migrations")
        #expect(!rows.isEmpty)
        do {
            let s = try ChunkStore.open(directory: store)
            let report = try s.verify()
            #expect(report.chunksChecked == rows.count)
            #expect(report.problems.isEmpty)
        }
        let (applied, after) = try DatabaseQueue(path: store + "/index.sqlite").read { db in
            (try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations"),
             try Row.fetchAll(db, sql: "SELECT * FROM chunk ORDER BY id").map(\.description))
        }
        #expect(applied == Self.pinned)
        #expect(after == rows)
    }

    @Test func newerIndexIsRefusedUnchanged() throws {
        let dir = TempDir()
        do { _ = try ChunkStore.open(directory: dir.path) }
        let index = dir.path + "/index.sqlite"
        try DatabaseQueue(path: index).write { db in
            try db.execute(sql: "ALTER TABLE chunk ADD COLUMN sha1 BLOB")
            try db.execute(sql: "INSERT INTO grdb_migrations VALUES('v2-chunk-sha1')")
        }
        func state() throws -> [String] {
            try DatabaseQueue(path: index).read { db in
                try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY rowid")
                    + String.fetchAll(db, sql: "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY name")
                    + Row.fetchAll(db, sql: "SELECT * FROM chunk ORDER BY id").map(\.description)
            }
        }
        let before = try state()
        let e = try #require(throws: ChunkStoreError.self) { try ChunkStore.open(directory: dir.path) }
        #expect(e.code == .newerSchema)
        #expect(e.message.contains("chunk index schema 2 (written by a newer Hearth) is newer than this binary's "
                                   + "schema \(IndexMigrations.version); upgrade hearth"), "\(e.message)")
        #expect(try state() == before, "the refused index is left as it was")
    }

    /// The page limit stands in for a full disk: SQLite answers SQLITE_FULL either way.
    @Test func fullIndexSaysDiskFull() throws {
        let dir = TempDir()
        let store = try ChunkStore.open(directory: dir.path)
        let backend = try #require(store.backendForTesting as? FileBackend)
        try backend.db.writeWithoutTransaction { db in
            let pages = try Int.fetchOne(db, sql: "PRAGMA page_count") ?? 0
            _ = try Int.fetchOne(db, sql: "PRAGMA max_page_count = \(pages)")
        }
        let e = try #require(throws: ChunkStoreError.self) {
            for i in 0..<200 { _ = try store.store(bytes: pseudoRandomBytes(4096, seed: UInt64(i) + 1)) }
        }
        #expect(e.code == .diskFull)
        #expect(e.message.contains("disk full while writing the chunk index"), "\(e.message)")
    }

    @Test func garbageIndexIsReportedCorrupt() throws {
        let dir = TempDir()
        _ = dir.write("index.sqlite", (0..<8192).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) })
        let e = try #require(throws: ChunkStoreError.self) { try ChunkStore.open(directory: dir.path) }
        #expect(e.code == .corrupt)
        #expect(e.message.contains("chunk index is corrupt"), "\(e.message)")
    }
}
