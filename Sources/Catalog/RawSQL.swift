import Foundation
import GRDB
internal import GRDBSQLite

/// Binds and steps a prepared GRDB statement through the SQLite C API (`sqlite3_bind_*`,
/// `sqlite3_step`): the import path runs one wide INSERT per asset, and binding 38 columns
/// directly costs a fraction of building `StatementArguments`.
struct RawBinder {
    private let stmt: OpaquePointer
    private let db: Database
    private var index: Int32 = 0

    init(_ statement: Statement, _ db: Database) {
        stmt = statement.sqliteStatement
        self.db = db
        sqlite3_reset(stmt)
        sqlite3_clear_bindings(stmt)
    }

    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    mutating func null() {
        index += 1
        sqlite3_bind_null(stmt, index)
    }
    mutating func int(_ v: Int64) {
        index += 1
        sqlite3_bind_int64(stmt, index, v)
    }
    mutating func double(_ v: Double) {
        index += 1
        sqlite3_bind_double(stmt, index, v)
    }
    mutating func text(_ s: String) {
        index += 1
        var s = s
        s.withUTF8 { b in
            _ = sqlite3_bind_text(stmt, index, UnsafeRawPointer(b.baseAddress!).assumingMemoryBound(to: CChar.self),
                                  Int32(b.count), Self.transient)
        }
    }
    mutating func blob(_ bytes: [UInt8]) {
        index += 1
        bytes.withUnsafeBytes { b in
            _ = sqlite3_bind_blob(stmt, index, b.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32(b.count), Self.transient)
        }
    }

    mutating func value(_ v: FieldValue) {
        switch v {
        case .null: null()
        case .int(let i): int(i)
        case .double(let d): double(d)
        case .text(let s): text(s)
        case .bool(let b): int(b ? 1 : 0)
        case .takenAt, .object, .range: blob(Schema.encodeValue(v))
        }
    }

    /// Runs the statement to completion.
    func step() throws {
        let rc = sqlite3_step(stmt)
        sqlite3_reset(stmt)
        guard rc == SQLITE_DONE else {
            throw CatalogError(.database, "SQLite error \(rc): \(String(cString: sqlite3_errmsg(db.sqliteConnection)))")
        }
    }
}
