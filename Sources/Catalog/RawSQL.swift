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

    /// Binds GRDB values in order (the timeline queries' arguments).
    mutating func bind(_ values: [DatabaseValueConvertible]) {
        for v in values {
            switch v.databaseValue.storage {
            case .null: null()
            case .int64(let i): int(i)
            case .double(let d): double(d)
            case .string(let s): text(s)
            case .blob(let d): blob([UInt8](d))
            }
        }
    }

    /// Steps to the next result row; false when done.
    func next() throws -> Bool {
        let rc = sqlite3_step(stmt)
        if rc == SQLITE_ROW { return true }
        sqlite3_reset(stmt)
        guard rc == SQLITE_DONE else {
            throw failure(rc)
        }
        return false
    }

    /// Ends a query before its last row (resets the statement so it holds no read cursor).
    func finish() {
        sqlite3_reset(stmt)
    }

    func isNull(_ col: Int32) -> Bool { sqlite3_column_type(stmt, col) == SQLITE_NULL }
    func int(at col: Int32) -> Int64 { sqlite3_column_int64(stmt, col) }
    func double(at col: Int32) -> Double { sqlite3_column_double(stmt, col) }
    /// A column that may be NULL (NULL, and any non-numeric value, read as nil).
    func optionalInt(at col: Int32) -> Int64? {
        sqlite3_column_type(stmt, col) == SQLITE_INTEGER ? int(at: col) : nil
    }
    func optionalDouble(at col: Int32) -> Double? {
        let t = sqlite3_column_type(stmt, col)
        return t == SQLITE_FLOAT || t == SQLITE_INTEGER ? double(at: col) : nil
    }
    func optionalText(at col: Int32) -> String? {
        sqlite3_column_type(stmt, col) == SQLITE_TEXT ? text(at: col) : nil
    }
    func text(at col: Int32) -> String {
        guard let p = sqlite3_column_text(stmt, col) else { return "" }
        return String(decoding: UnsafeBufferPointer(start: p, count: Int(sqlite3_column_bytes(stmt, col))), as: UTF8.self)
    }
    func blob(at col: Int32) -> [UInt8] {
        let n = Int(sqlite3_column_bytes(stmt, col))
        guard n > 0, let p = sqlite3_column_blob(stmt, col) else { return [] }
        return Array(UnsafeRawBufferPointer(start: p, count: n))
    }
    /// A stamp stored as four columns starting at `col`; nil when absent.
    func stamp(at col: Int32) -> Stamp? {
        guard !isNull(col), !isNull(col + 1) else { return nil }
        return Stamp(hlc: unsql(int(at: col)), device: blob(at: col + 1), epoch: UInt32(truncatingIfNeeded: int(at: col + 2)),
                     seq: unsql(int(at: col + 3)))
    }

    /// SQLite's result as a `DatabaseError`, so that `Catalog.guarded` keeps its cause (busy, full, corrupt…).
    private func failure(_ rc: Int32) -> DatabaseError {
        DatabaseError(resultCode: ResultCode(rawValue: rc), message: String(cString: sqlite3_errmsg(db.sqliteConnection)))
    }

    /// Runs the statement to completion.
    func step() throws {
        let rc = sqlite3_step(stmt)
        sqlite3_reset(stmt)
        guard rc == SQLITE_DONE else {
            throw failure(rc)
        }
    }
}
