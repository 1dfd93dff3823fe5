import Foundation
import GRDB
import HearthCrypto

/// How values live in the catalog's tables. The tables themselves are made by
/// `CatalogMigrations` (frozen SQL, one named migration per change). `asset` is a rowid table
/// on purpose: its wide rows append in import order while only the narrow id index takes the
/// random-key inserts. `member_op` keeps every accepted membership change for causal
/// authorization (see `Membership`). Registers keep the winning stamp; `asset`, `album`,
/// `member` are the materialized state the queries read, updated as each change is applied.
enum Schema {
    /// The `asset` columns of the fields, in `AssetField` order (queries read and write these;
    /// the migrations create them).
    static let assetFieldColumns = AssetField.allCases.map { "\($0.column)" }

    /// The column form of a field value.
    static func column(_ v: FieldValue) -> DatabaseValue {
        switch v {
        case .null: .null
        case .int(let i): i.databaseValue
        case .double(let d): d.databaseValue
        case .text(let s): s.databaseValue
        case .bool(let b): (b ? 1 : 0 as Int64).databaseValue
        case .takenAt, .object, .range: Data(encodeValue(v)).databaseValue
        }
    }

    /// Reads a field's column back; a corrupt column reads as empty rather than crashing.
    static func value(_ f: AssetField, _ dbv: DatabaseValue) -> FieldValue {
        if dbv.isNull { return .null }
        switch f.kind {
        case .int: return Int64.fromDatabaseValue(dbv).map { .int($0) } ?? .null
        case .double: return Double.fromDatabaseValue(dbv).map { .double($0) } ?? .null
        case .text: return String.fromDatabaseValue(dbv).map { .text($0) } ?? .null
        case .bool: return .bool((Int64.fromDatabaseValue(dbv) ?? 0) != 0)
        case .takenAt, .object, .range:
            guard let d = Data.fromDatabaseValue(dbv) else { return .null }
            return decodeValue([UInt8](d)) ?? .null
        }
    }

    static func encodeValue(_ v: FieldValue) -> [UInt8] {
        var w = ByteWriter()
        w.value(v)
        return w.bytes
    }

    static func decodeValue(_ b: [UInt8]) -> FieldValue? {
        var r = ByteReader(b)
        return try? r.value()
    }

    static func encodeObject(_ o: ObjectRef) -> Data {
        var w = ByteWriter()
        w.object(o)
        return Data(w.bytes)
    }

    static func decodeObject(_ d: Data) -> ObjectRef? {
        var r = ByteReader([UInt8](d))
        return try? r.object()
    }
}

extension Hash256 {
    var data: Data { Data(bytes) }
}

extension Data {
    var hash256: Hash256? { Hash256(bytes: [UInt8](self)) }
}

/// Stores a UInt64 as the Int64 with the same bits (SQLite integers are signed).
@inline(__always) func sql(_ v: UInt64) -> Int64 { Int64(bitPattern: v) }
@inline(__always) func unsql(_ v: Int64) -> UInt64 { UInt64(bitPattern: v) }
