import Foundation
import GRDB
import HearthCrypto
import Testing
@testable import Catalog

/// SQLite's busy, full and corrupt results reach the caller as such, not as one generic error.
@Suite struct DatabaseErrorTests {
    func fileCatalog(_ dir: TempDir) throws -> (Catalog, String) {
        let path = dir.path("c.sqlite")
        let c = try Catalog.create(path: path, identity: identity(1), personName: "Ann",
                                   nonce: [UInt8](repeating: 9, count: 16), now: t0)
        return (c, path)
    }

    /// A message cut to three findings says how many it left out, and that SQLite stopped at its limit.
    @Test func integritySummarySaysWhatItLeftOut() {
        #expect(Catalog.summarize(["a", "b"]) == "a; b")
        #expect(Catalog.summarize(["a", "b", "c", "d", "e"]) == "a; b; c; and 2 more")
        let many = (0..<Catalog.integrityFindingsLimit + 5).map { "page \($0)" }
        #expect(Catalog.summarize(Array(many.prefix(Catalog.integrityFindingsLimit))).hasSuffix("and 17 more, SQLite lists at most 20"))
    }

    @Test func garbageFileIsReportedCorrupt() throws {
        let dir = try TempDir()
        let path = dir.path("c.sqlite")
        do { _ = try fileCatalog(dir) }
        try Data((0..<8192).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }).write(to: URL(fileURLWithPath: path))
        try? FileManager.default.removeItem(atPath: path + "-wal")
        try? FileManager.default.removeItem(atPath: path + "-shm")
        let e = try #require(throws: CatalogError.self) { try Catalog.open(path: path, identity: identity(1)) }
        #expect(e.code == .corrupt)
        #expect(e.message.contains("catalog database is corrupt (\(path)"), "\(e.message)")
        #expect(e.message.contains("from a peer"))
    }

    /// The page limit stands in for a full disk: SQLite answers SQLITE_FULL either way.
    @Test func fullDiskSaysDiskFull() throws {
        let dir = try TempDir()
        let (c, path) = try fileCatalog(dir)
        try c.db.writeWithoutTransaction { db in
            let pages = try Int.fetchOne(db, sql: "PRAGMA page_count") ?? 0
            _ = try Int.fetchOne(db, sql: "PRAGMA max_page_count = \(pages)")
        }
        let imports = (0..<400).map { anImport($0, name: String(repeating: "n", count: 200) + "\($0).jpg") }
        let e = try #require(throws: CatalogError.self) {
            try c.commit(imports.map { .importAsset($0) }, now: t0 + 1)
        }
        #expect(e.code == .diskFull)
        #expect(e.message.contains("disk full while writing the catalog (\(path))"), "\(e.message)")
        // Nothing of the failed commit stayed, and the catalog still reads.
        #expect(try c.assets(AssetFilter(scope: .all)).isEmpty)
    }

    @Test func anotherWriterHoldingTheLockSaysBusy() throws {
        let dir = try TempDir()
        let (c, path) = try fileCatalog(dir)
        // Give up after 50 ms instead of the 10 s a real process waits.
        try c.db.writeWithoutTransaction { db in _ = try Int.fetchOne(db, sql: "PRAGMA busy_timeout = 50") }
        let other = try DatabaseQueue(path: path)
        try other.writeWithoutTransaction { db in
            try db.execute(sql: "BEGIN EXCLUSIVE")
            defer { try? db.execute(sql: "ROLLBACK") }
            let e = #expect(throws: CatalogError.self) { try c.commit([.importAsset(anImport(1))], now: t0 + 1) }
            #expect(e?.code == .busy)
            #expect(e?.message.contains("database is busy: another hearth process holds it") == true, "\(String(describing: e))")
        }
        // Once the lock is gone the same commit goes through.
        try c.commit([.importAsset(anImport(1))], now: t0 + 2)
        #expect(try c.assets(AssetFilter(scope: .all)).count == 1)
    }
}
