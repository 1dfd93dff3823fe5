import Foundation
import GRDB

extension CatalogError {
    /// A database failure as the user should read it: SQLite's busy, full, corrupt, read-only and
    /// I/O results each get their own code and a message that says what to do, naming `label`
    /// (the catalog's path). `action` is what was being done ("opening", "writing", …).
    init(databaseError error: any Error, label: String, action: String) {
        guard let e = error as? DatabaseError else {
            self.init(.database, "\(label): catalog database error while \(action): \(error)")
            return
        }
        let detail = e.message ?? "\(e.extendedResultCode)"
        switch e.resultCode {
        case .SQLITE_BUSY, .SQLITE_LOCKED:
            self.init(.busy, "database is busy: another hearth process holds it (\(label), \(detail)); "
                      + "retry when it is done")
        case .SQLITE_FULL:
            self.init(.diskFull, "disk full while \(action == "opening" ? "opening" : "writing") the catalog "
                      + "(\(label)); free some space and retry")
        case .SQLITE_CORRUPT, .SQLITE_NOTADB:
            self.init(.corrupt, "catalog database is corrupt (\(label): \(detail)); "
                      + "rebuild it from a peer: move the home aside and `hearth join` again with a ticket from another device")
        case .SQLITE_READONLY, .SQLITE_PERM, .SQLITE_CANTOPEN, .SQLITE_AUTH:
            self.init(.readOnly, "catalog database cannot be written or opened (\(label): \(detail)); "
                      + "check the file's permissions and the disk")
        case .SQLITE_IOERR:
            self.init(.io, "I/O error while \(action) the catalog (\(label): \(detail)); check the disk")
        default:
            self.init(.database, "\(label): catalog database error while \(action) (\(detail))")
        }
    }
}

extension Catalog {
    /// How many findings `integrityProblems()` asks SQLite for.
    public static let integrityFindingsLimit = 20

    /// The first three findings, and how many more there were, so a short message never hides
    /// that it was cut (SQLite itself stops after `integrityFindingsLimit`).
    public static func summarize(_ findings: [String]) -> String {
        let more = findings.count - 3
        let cap = findings.count >= integrityFindingsLimit ? ", SQLite lists at most \(integrityFindingsLimit)" : ""
        return findings.prefix(3).joined(separator: "; ") + (more > 0 ? "; and \(more) more\(cap)" : "")
    }

    /// SQLite's own check of the catalog file (`PRAGMA integrity_check`, at most 20 findings):
    /// empty when the file is intact. A page of random bytes in any table or index shows here,
    /// though every query the node makes may still succeed.
    public func integrityProblems() -> [String] {
        do {
            let rows = try db.read { try String.fetchAll($0, sql: "PRAGMA integrity_check(\(Self.integrityFindingsLimit))") }
            return rows == ["ok"] ? [] : rows
        } catch {
            return ["\(CatalogError(databaseError: error, label: label, action: "checking"))"]
        }
    }

    /// Rebuilds a damaged catalog file from its tables: a new file gets the same schema, every
    /// table's rows are copied by a scan of the table itself (never through an index), the
    /// indexes are built afresh, and the new file replaces the old one, which is kept beside it as
    /// `catalog.sqlite.damaged-<time>`. Damage in index pages is repaired this way; damage in a
    /// table's own pages makes the copy fail, and nothing is replaced.
    /// - Returns: the path the damaged file was moved to.
    /// Call it with no `Catalog` open on `path`.
    public static func rebuild(path: String, nowSeconds: Int64) throws -> String {
        let fm = FileManager.default
        let fresh = path + ".rebuild"
        for suffix in ["", "-wal", "-shm"] { try? fm.removeItem(atPath: fresh + suffix) }
        do {
            let q = try DatabaseQueue(path: fresh)
            try q.writeWithoutTransaction { db in
                try db.execute(sql: "ATTACH DATABASE ? AS old", arguments: [path])
                let objects = try Row.fetchAll(db, sql: """
                    SELECT type, name, sql FROM old.sqlite_master
                    WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' ORDER BY rowid
                    """).map { (type: $0["type"] as String, name: $0["name"] as String, sql: $0["sql"] as String) }
                try db.inTransaction {
                    for o in objects where o.type == "table" { try db.execute(sql: o.sql) }
                    for o in objects where o.type == "table" {
                        let name = o.name.replacingOccurrences(of: "\"", with: "\"\"")
                        try db.execute(sql: "INSERT INTO main.\"\(name)\" SELECT * FROM old.\"\(name)\" NOT INDEXED")
                    }
                    for o in objects where o.type != "table" { try db.execute(sql: o.sql) }
                    return .commit
                }
                try db.execute(sql: "DETACH DATABASE old")
                let check = try String.fetchAll(db, sql: "PRAGMA integrity_check(\(Self.integrityFindingsLimit))")
                guard check == ["ok"] else {
                    throw CatalogError(.corrupt, "\(path): the rebuilt catalog is not intact either (\(Self.summarize(check)))")
                }
            }
            try q.close()
        } catch {
            for suffix in ["", "-wal", "-shm"] { try? fm.removeItem(atPath: fresh + suffix) }
            if let e = error as? CatalogError { throw e }
            throw CatalogError(databaseError: error, label: path, action: "rebuilding")
        }
        let stamp = nowSeconds
        let aside = path + ".damaged-\(stamp)"
        for suffix in ["", "-wal", "-shm"] where fm.fileExists(atPath: path + suffix) {
            try fm.moveItem(atPath: path + suffix, toPath: aside + suffix)
        }
        try fm.moveItem(atPath: fresh, toPath: path)
        return aside
    }

    /// The catalog's file (or ":memory:").
    public var path: String { label }
}
