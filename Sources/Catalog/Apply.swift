import Foundation
import GRDB
import HearthCrypto

/// Applies one change to the registers and the materialized tables. Every operation is a
/// join (commutative, associative, idempotent per dot), so the order changes arrive in never matters.
struct Applier {
    let db: Database

    static let fieldCount = AssetField.allCases.count

    mutating func apply(_ op: Op, stamp: Stamp, dot: Dot) throws {
        switch op {
        case .genesis(let nonce, let pk):
            try db.execute(sql: "INSERT OR IGNORE INTO meta(key, value) VALUES('founder', ?), ('nonce', ?)",
                           arguments: [Data(pk), Data(nonce)])
        case .memberPut(let pk, let name, let role):
            let dev = DeviceID(publicKey: pk)
            try Membership.record(db, target: dev, stamp: stamp, dot: dot, publicKey: pk, name: name, role: role,
                                  removed: false)
            try Membership.materialize(db, dev)
        case .memberRemove(let dev):
            try Membership.record(db, target: dev, stamp: stamp, dot: dot, publicKey: nil, name: nil, role: nil,
                                  removed: true)
            try Membership.materialize(db, dev)
        case .importAsset(let id, let name, let original, let fields):
            try importAsset(id, name: name, original: original, fields: fields, stamp: stamp)
        case .setField(let id, let f, let v):
            try setField(id, f, v, stamp: stamp)
        case .purge(let id):
            try db.cachedStatement(sql: "INSERT OR IGNORE INTO purged(asset) VALUES(?)").execute(arguments: [id.data])
            try db.cachedStatement(sql: "UPDATE asset SET state = 9 WHERE id = ?").execute(arguments: [id.data])
        case .albumSet(let a, let f, let v):
            try setAlbum(a, f, v, stamp: stamp)
        case .albumAdd(let a, let id):
            try addDot(table: "album_item", keys: ("album", "asset"), Data(a.bytes), id.data, dot)
        case .albumRemove(let a, let id, let dots):
            try removeDots(table: "album_item", keys: ("album", "asset"), Data(a.bytes), id.data, dots)
        case .tagAdd(let id, let tag):
            try addDot(table: "asset_tag", keys: ("asset", "tag"), id.data, tag, dot)
        case .tagRemove(let id, let tag, let dots):
            try removeDots(table: "asset_tag", keys: ("asset", "tag"), id.data, tag, dots)
        }
    }

    // MARK: Members

    /// A stamp stored as four columns starting at `i`; nil when absent.
    static func stamp(_ row: Row, _ i: Int) -> Stamp? {
        guard let hlc = row[i] as Int64?, let dev = row[i + 1] as Data? else { return nil }
        return Stamp(hlc: unsql(hlc), device: [UInt8](dev), epoch: UInt32(truncatingIfNeeded: row[i + 2] as Int64),
                     seq: unsql(row[i + 3]))
    }

    // MARK: Assets

    private func importAsset(_ id: Hash256, name: String, original: ObjectRef, fields: [(AssetField, FieldValue)],
                             stamp: Stamp) throws {
        // One probe for all an import needs: the current import's stamp, registers set before
        // this import arrived (out of order), and a purge.
        var probe = RawBinder(try db.cachedStatement(sql: """
            SELECT 0, imp_hlc, imp_dev, imp_epoch, imp_seq, file_name, NULL FROM asset WHERE id = ?1
            UNION ALL SELECT 1, hlc, dev, epoch, seq, value, field FROM field_reg WHERE asset = ?1
            UNION ALL SELECT 2, NULL, NULL, NULL, NULL, NULL, NULL FROM purged WHERE asset = ?1
            """), db)
        probe.blob(id.bytes)
        var fileName = name
        var purged = false
        var existing: (stamp: Stamp?, name: String)? = nil
        var values = [FieldValue](repeating: .null, count: Self.fieldCount)
        for (f, v) in fields { values[Int(f.rawValue) - 1] = v }
        var regs: [(AssetField, Stamp, [UInt8])] = []
        while try probe.next() {
            switch probe.int(at: 0) {
            case 0: existing = (probe.stamp(at: 1), probe.text(at: 5))
            case 1:
                if let f = AssetField(rawValue: UInt8(truncatingIfNeeded: probe.int(at: 6))), let s = probe.stamp(at: 1) {
                    regs.append((f, s, probe.blob(at: 5)))
                }
            default: purged = true
            }
        }
        var nameInsert = RawBinder(try db.cachedStatement(sql: "INSERT OR IGNORE INTO asset_name(asset, name) VALUES(?, ?)"), db)
        nameInsert.blob(id.bytes)
        nameInsert.text(name)
        try nameInsert.step()
        if let existing {
            fileName = min(existing.name, name)
            if let old = existing.stamp, old >= stamp {
                if fileName != existing.name {
                    try db.cachedStatement(sql: "UPDATE asset SET file_name = ? WHERE id = ?")
                        .execute(arguments: [fileName, id.data])
                }
                return
            }
        }
        // An edit always beats what an import read from the file, whatever their clocks: a
        // second import of the same photo (on another device, or later) never undoes a rating,
        // a description or a trash. Edits order among themselves by stamp, imports likewise.
        for (f, _, raw) in regs {
            if let v = Schema.decodeValue(raw) { values[Int(f.rawValue) - 1] = v }
        }
        var insert = RawBinder(try db.cachedStatement(sql: Self.insertAssetSQL), db)
        insert.blob(id.bytes)
        insert.int(Self.state(purged: purged, values))
        insert.int(Self.sortKey(values, importHLC: stamp.hlc))
        insert.text(fileName)
        insert.int(sql(stamp.hlc))
        insert.blob(stamp.device)
        insert.int(Int64(stamp.epoch))
        insert.int(sql(stamp.seq))
        var w = ByteWriter()
        w.object(original)
        insert.blob(w.bytes)
        for v in values { insert.value(v) }
        try insert.step()
    }

    static let insertAssetSQL: String = {
        let cols = ["id", "state", "sort_key", "file_name", "imp_hlc", "imp_dev", "imp_epoch", "imp_seq", "original"]
            + Schema.assetFieldColumns
        return "INSERT OR REPLACE INTO asset(\(cols.joined(separator: ", "))) VALUES("
            + Array(repeating: "?", count: cols.count).joined(separator: ", ") + ")"
    }()

    static func state(purged: Bool, _ values: [FieldValue]) -> Int64 {
        if purged { return 9 }
        if values[Int(AssetField.trashedAt.rawValue) - 1] != .null { return 2 }
        if values[Int(AssetField.archived.rawValue) - 1].bool { return 1 }
        return 0
    }

    /// Newest-first key: when it was taken, else when it was imported (seconds).
    static func sortKey(_ values: [FieldValue], importHLC: UInt64) -> Int64 {
        sortKey(values[Int(AssetField.takenAt.rawValue) - 1], importHLC: importHLC)
    }

    static func sortKey(_ taken: FieldValue, importHLC: UInt64) -> Int64 {
        if case .takenAt(let t) = taken { return t.sortSeconds }
        return Int64(importHLC >> 16) / 1000
    }

    private func setField(_ id: Hash256, _ f: AssetField, _ v: FieldValue, stamp: Stamp) throws {
        let key = id.data
        let fieldNo = Int64(f.rawValue)
        if let reg = try Row.fetchOne(db.cachedStatement(sql: """
            SELECT hlc, dev, epoch, seq FROM field_reg WHERE asset = ? AND field = ?
            """), arguments: [key, fieldNo]), let old = Self.stamp(reg, 0), old >= stamp {
            return
        }
        try db.cachedStatement(sql: """
            INSERT OR REPLACE INTO field_reg(asset, field, hlc, dev, epoch, seq, value) VALUES(?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [key, fieldNo, sql(stamp.hlc), Data(stamp.device), Int64(stamp.epoch),
                                     sql(stamp.seq), Data(Schema.encodeValue(v))])
        // The winning edit shows whatever import it follows (see `importAsset`).
        guard let row = try Row.fetchOne(db.cachedStatement(sql: """
            SELECT imp_hlc, imp_dev, imp_epoch, imp_seq FROM asset WHERE id = ?
            """), arguments: [key]), let imp = Self.stamp(row, 0) else { return }
        try db.cachedStatement(sql: "UPDATE asset SET \(f.column) = ? WHERE id = ?").execute(arguments: [Schema.column(v), key])
        switch f {
        case .trashedAt, .archived:
            try db.cachedStatement(sql: """
                UPDATE asset SET state = CASE WHEN state = 9 THEN 9 WHEN \(AssetField.trashedAt.column) IS NOT NULL
                THEN 2 WHEN \(AssetField.archived.column) = 1 THEN 1 ELSE 0 END WHERE id = ?
                """).execute(arguments: [key])
        case .takenAt:
            try db.cachedStatement(sql: "UPDATE asset SET sort_key = ? WHERE id = ?")
                .execute(arguments: [Self.sortKey(v, importHLC: imp.hlc), key])
        default: break
        }
    }

    // MARK: Albums

    private func setAlbum(_ a: AlbumID, _ f: AlbumField, _ v: FieldValue, stamp: Stamp) throws {
        let key = Data(a.bytes)
        if let reg = try Row.fetchOne(db, sql: "SELECT hlc, dev, epoch, seq FROM album_reg WHERE album = ? AND field = ?",
                                      arguments: [key, Int64(f.rawValue)]),
           let old = Self.stamp(reg, 0), old >= stamp {
            return
        }
        try db.execute(sql: "INSERT OR REPLACE INTO album_reg(album, field, hlc, dev, epoch, seq) VALUES(?, ?, ?, ?, ?, ?)",
                       arguments: [key, Int64(f.rawValue), sql(stamp.hlc), Data(stamp.device), Int64(stamp.epoch),
                                   sql(stamp.seq)])
        try db.execute(sql: "INSERT OR IGNORE INTO album(id) VALUES(?)", arguments: [key])
        let column: String
        let value: DatabaseValue
        switch f {
        case .name: (column, value) = ("name", v.text.databaseValue)
        case .description: (column, value) = ("description", v.text.databaseValue)
        case .cover: (column, value) = ("cover", v.text.databaseValue)
        case .deleted: (column, value) = ("deleted", v.bool.databaseValue)
        }
        try db.execute(sql: "UPDATE album SET \(column) = ? WHERE id = ?", arguments: [value, key])
    }

    // MARK: Observed-remove sets

    /// Adds an element under its dot, unless a remove that observed the dot already arrived.
    private func addDot(table: String, keys: (String, String), _ k1: DatabaseValueConvertible,
                        _ k2: DatabaseValueConvertible, _ dot: Dot) throws {
        let d = dot.origin.device.hash.data, e = Int64(dot.origin.epoch), s = sql(dot.seq)
        try db.cachedStatement(sql: "DELETE FROM removed_dot WHERE dev = ? AND epoch = ? AND seq = ?")
            .execute(arguments: [d, e, s])
        if db.changesCount > 0 { return }
        try db.cachedStatement(sql: "INSERT OR IGNORE INTO \(table)(\(keys.0), \(keys.1), dev, epoch, seq) VALUES(?, ?, ?, ?, ?)")
            .execute(arguments: [k1, k2, d, e, s])
    }

    /// Removes the observed dots; a dot not seen yet is remembered so its add stays removed.
    private func removeDots(table: String, keys: (String, String), _ k1: DatabaseValueConvertible,
                            _ k2: DatabaseValueConvertible, _ dots: [Dot]) throws {
        for dot in dots {
            let d = dot.origin.device.hash.data, e = Int64(dot.origin.epoch), s = sql(dot.seq)
            try db.cachedStatement(sql: """
                DELETE FROM \(table) WHERE \(keys.0) = ? AND \(keys.1) = ? AND dev = ? AND epoch = ? AND seq = ?
                """).execute(arguments: [k1, k2, d, e, s])
            if db.changesCount > 0 { continue }
            if try VV.seq(db, dot.origin) >= dot.seq { continue }
            try db.cachedStatement(sql: "INSERT OR IGNORE INTO removed_dot(dev, epoch, seq) VALUES(?, ?, ?)")
                .execute(arguments: [d, e, s])
        }
    }
}
