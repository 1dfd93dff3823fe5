import Foundation
import GRDB
import HearthCrypto

/// The catalog's tables. `asset` is a rowid table on purpose: its wide rows append in import
/// order while only the narrow id index takes the random-key inserts.
/// `member_op` keeps every accepted membership change for causal authorization (see `Membership`).
/// Registers keep the winning stamp; `asset`, `album`, `member` are the
/// materialized state the queries read, updated as each change is applied.
enum Schema {
    /// 2: release 6847644's tables (`create`); 3: `DeferredChanges.createTables` on top.
    static let version = DeferredChanges.schemaVersion

    static let assetFieldColumns = AssetField.allCases.map { "\($0.column)" }

    /// The tables as release 6847644 made them (schema 2): later fields get their columns from
    /// the step that introduced them.
    static func create(_ db: Database) throws {
        let fieldCols = AssetField.allCases.filter { $0.format == CatalogFormat.base }
            .map { "\($0.column) \(sqlType($0))" }.joined(separator: ", ")
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
                imp_seq INTEGER NOT NULL, original BLOB NOT NULL, \(fieldCols));
            CREATE INDEX asset_page ON asset(state, sort_key DESC, id DESC);
            CREATE INDEX asset_fav ON asset(state, sort_key DESC, id DESC) WHERE \(AssetField.favorite.column) = 1;
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

    static func sqlType(_ f: AssetField) -> String {
        switch f.kind {
        case .int, .bool: "INTEGER"
        case .double: "REAL"
        case .text: "TEXT"
        case .takenAt, .object, .range: "BLOB"
        }
    }

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
