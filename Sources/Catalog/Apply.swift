import Foundation
import GRDB
import HearthCrypto

/// Applies one change to the registers and the materialized tables. Every operation is a
/// join (commutative, associative, idempotent per dot), so the order changes arrive in never matters.
///
/// One applier serves a whole local commit or `applyRemote` call and keeps its prepared statements
/// for that long. With `deferAssetChanges` (remote apply) imports, field edits and purges wait in a
/// buffer and are applied by `flush()` sorted by asset id, each asset's changes still in arrival
/// order: the id-keyed B-trees (`asset`'s id index, `asset_name`, `field_reg`) then take their
/// inserts in key order, a few neighbouring pages at a time, instead of one random page per change.
/// Those changes only read and write their own asset's rows, so the state is the same either way.
final class Applier {
    let db: Database
    private let deferAssetChanges: Bool
    private var deferred: [(id: Hash256, change: AssetChange)] = []
    private var statements = [Statement?](repeating: nil, count: Query.allCases.count)
    private var fieldUpdates = [Statement?](repeating: nil, count: AssetField.allCases.count + 1)
    /// Whether `purged` / `removed_dot` may hold rows; nil until first asked.
    private var purgedMaybe: Bool? = nil
    private var removedDotsMaybe: Bool? = nil

    static let fieldCount = AssetField.allCases.count
    /// Deferred changes held at most before a flush, to bound memory on huge calls.
    static let maxDeferred = 250_000

    init(db: Database, deferAssetChanges: Bool = false) {
        self.db = db
        self.deferAssetChanges = deferAssetChanges
    }

    /// A change that touches one asset's rows only (`asset`, `asset_name`, `field_reg`, `purged`).
    private enum AssetChange {
        case importAsset(name: String, original: ObjectRef, fields: [(AssetField, FieldValue)], stamp: Stamp)
        case setField(AssetField, FieldValue, Stamp)
        case purge
    }

    func apply(_ op: Op, stamp: Stamp, dot: Dot) throws {
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
            try assetChange(id, .importAsset(name: name, original: original, fields: fields, stamp: stamp))
        case .setField(let id, let f, let v):
            try assetChange(id, .setField(f, v, stamp))
        case .purge(let id):
            try assetChange(id, .purge)
        case .albumSet(let a, let f, let v):
            try setAlbum(a, f, v, stamp: stamp)
        case .albumAdd(let a, let id):
            try addDot(.albumItem, Data(a.bytes), id.data, dot)
        case .albumRemove(let a, let id, let dots):
            try removeDots(.albumItem, Data(a.bytes), id.data, dots)
        case .tagAdd(let id, let tag):
            try addDot(.assetTag, id.data, tag, dot)
        case .tagRemove(let id, let tag, let dots):
            try removeDots(.assetTag, id.data, tag, dots)
        case .person(let p, let fields):
            try applyPerson(p, fields, stamp: stamp)
        case .devicePerson(let d, let p):
            try applyDevicePerson(d, p, stamp: stamp)
        }
    }

    /// Applies the deferred asset changes, by asset id and, per asset, in arrival order.
    func flush() throws {
        guard !deferred.isEmpty else { return }
        let list = deferred
        deferred = []
        // Sort plain integers (the id's bytes as four big-endian words, then the arrival index):
        // comparing the changes themselves would retain and release their arrays at every step.
        var keys = [(UInt64, UInt64, UInt64, UInt64, Int)]()
        keys.reserveCapacity(list.count)
        for (i, entry) in list.enumerated() {
            let w = Self.words(entry.id)
            keys.append((w.0, w.1, w.2, w.3, i))
        }
        keys.sort { $0 < $1 }
        for k in keys {
            try applyNow(list[k.4].id, list[k.4].change)
        }
    }

    /// A 32-byte id as four big-endian words: their order is the bytes' lexicographic order.
    private static func words(_ id: Hash256) -> (UInt64, UInt64, UInt64, UInt64) {
        id.bytes.withUnsafeBytes { b in
            func word(_ i: Int) -> UInt64 { UInt64(bigEndian: b.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)) }
            return (word(0), word(1), word(2), word(3))
        }
    }

    private func assetChange(_ id: Hash256, _ change: AssetChange) throws {
        guard deferAssetChanges else { return try applyNow(id, change) }
        deferred.append((id, change))
        if deferred.count >= Self.maxDeferred { try flush() }
    }

    private func applyNow(_ id: Hash256, _ change: AssetChange) throws {
        switch change {
        case .importAsset(let name, let original, let fields, let stamp):
            try importAsset(id, name: name, original: original, fields: fields, stamp: stamp)
        case .setField(let f, let v, let stamp):
            try setField(id, f, v, stamp: stamp)
        case .purge:
            purgedMaybe = true
            var mark = RawBinder(try statement(.purgedInsert), db)
            mark.blob(id.bytes)
            try mark.step()
            var state = RawBinder(try statement(.purgeState), db)
            state.blob(id.bytes)
            try state.step()
        }
    }

    // MARK: Statements

    /// The applier's hot statements, prepared once per applier.
    private enum Query: Int, CaseIterable {
        case probe, probeUnpurged, nameInsert, insertAsset, fileName, purgedInsert, purgeState, purgedAny
        case fieldReg, fieldRegPut, importHLC, stateFromColumns, sortKey
        case removedAny, removedDelete, removedInsert, albumItemAdd, albumItemRemove, assetTagAdd, assetTagRemove

        var sql: String {
            switch self {
            // One probe for all an import needs: the current import's stamp, registers set before
            // this import arrived (out of order), and a purge.
            case .probe: """
                SELECT 0, imp_hlc, imp_dev, imp_epoch, imp_seq, file_name, NULL FROM asset WHERE id = ?1
                UNION ALL SELECT 1, hlc, dev, epoch, seq, value, field FROM field_reg WHERE asset = ?1
                UNION ALL SELECT 2, NULL, NULL, NULL, NULL, NULL, NULL FROM purged WHERE asset = ?1
                """
            // The same when no asset was ever purged.
            case .probeUnpurged: """
                SELECT 0, imp_hlc, imp_dev, imp_epoch, imp_seq, file_name, NULL FROM asset WHERE id = ?1
                UNION ALL SELECT 1, hlc, dev, epoch, seq, value, field FROM field_reg WHERE asset = ?1
                """
            case .nameInsert: "INSERT OR IGNORE INTO asset_name(asset, name) VALUES(?, ?)"
            case .insertAsset: Applier.insertAssetSQL
            case .fileName: "UPDATE asset SET file_name = ? WHERE id = ?"
            case .purgedInsert: "INSERT OR IGNORE INTO purged(asset) VALUES(?)"
            case .purgeState: "UPDATE asset SET state = 9 WHERE id = ?"
            case .purgedAny: "SELECT EXISTS(SELECT 1 FROM purged)"
            case .fieldReg: "SELECT hlc, dev, epoch, seq FROM field_reg WHERE asset = ? AND field = ?"
            case .fieldRegPut:
                "INSERT OR REPLACE INTO field_reg(asset, field, hlc, dev, epoch, seq, value) VALUES(?, ?, ?, ?, ?, ?, ?)"
            case .importHLC: "SELECT imp_hlc FROM asset WHERE id = ?"
            case .stateFromColumns: """
                UPDATE asset SET state = CASE WHEN state = 9 THEN 9 WHEN \(AssetField.trashedAt.column) IS NOT NULL
                THEN 2 WHEN \(AssetField.archived.column) = 1 THEN 1 ELSE 0 END WHERE id = ?
                """
            case .sortKey: "UPDATE asset SET sort_key = ? WHERE id = ?"
            case .removedAny: "SELECT EXISTS(SELECT 1 FROM removed_dot)"
            case .removedDelete: "DELETE FROM removed_dot WHERE dev = ? AND epoch = ? AND seq = ?"
            case .removedInsert: "INSERT OR IGNORE INTO removed_dot(dev, epoch, seq) VALUES(?, ?, ?)"
            case .albumItemAdd: "INSERT OR IGNORE INTO album_item(album, asset, dev, epoch, seq) VALUES(?, ?, ?, ?, ?)"
            case .albumItemRemove:
                "DELETE FROM album_item WHERE album = ? AND asset = ? AND dev = ? AND epoch = ? AND seq = ?"
            case .assetTagAdd: "INSERT OR IGNORE INTO asset_tag(asset, tag, dev, epoch, seq) VALUES(?, ?, ?, ?, ?)"
            case .assetTagRemove:
                "DELETE FROM asset_tag WHERE asset = ? AND tag = ? AND dev = ? AND epoch = ? AND seq = ?"
            }
        }
    }

    private func statement(_ q: Query) throws -> Statement {
        if let s = statements[q.rawValue] { return s }
        let s = try db.cachedStatement(sql: q.sql)
        statements[q.rawValue] = s
        return s
    }

    private func fieldUpdate(_ f: AssetField) throws -> Statement {
        let i = Int(f.rawValue)
        if let s = fieldUpdates[i] { return s }
        let s = try db.cachedStatement(sql: "UPDATE asset SET \(f.column) = ? WHERE id = ?")
        fieldUpdates[i] = s
        return s
    }

    /// Whether a one-row `SELECT EXISTS` statement answers true.
    private func exists(_ q: Query) throws -> Bool {
        let probe = RawBinder(try statement(q), db)
        guard try probe.next() else { return false }
        let found = probe.int(at: 0) != 0
        probe.finish()
        return found
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
        if purgedMaybe == nil { purgedMaybe = try exists(.purgedAny) }
        var probe = RawBinder(try statement(purgedMaybe == true ? .probe : .probeUnpurged), db)
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
        var nameInsert = RawBinder(try statement(.nameInsert), db)
        nameInsert.blob(id.bytes)
        nameInsert.text(name)
        try nameInsert.step()
        if let existing {
            fileName = min(existing.name, name)
            if let old = existing.stamp, old >= stamp {
                if fileName != existing.name {
                    var update = RawBinder(try statement(.fileName), db)
                    update.text(fileName)
                    update.blob(id.bytes)
                    try update.step()
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
        var insert = RawBinder(try statement(.insertAsset), db)
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
        let fieldNo = Int64(f.rawValue)
        var reg = RawBinder(try statement(.fieldReg), db)
        reg.blob(id.bytes)
        reg.int(fieldNo)
        if try reg.next() {
            let old = reg.stamp(at: 0)
            reg.finish()
            if let old, old >= stamp { return }
        }
        var put = RawBinder(try statement(.fieldRegPut), db)
        put.blob(id.bytes)
        put.int(fieldNo)
        put.int(sql(stamp.hlc))
        put.blob(stamp.device)
        put.int(Int64(stamp.epoch))
        put.int(sql(stamp.seq))
        put.blob(Schema.encodeValue(v))
        try put.step()
        // The winning edit shows whatever import it follows (see `importAsset`); without an
        // import yet, the import applies the register when it arrives.
        try writeColumn(id, f, v)
    }

    /// Sets a field's column in `asset` (and the state or sort key it decides), when the asset exists.
    func writeColumn(_ id: Hash256, _ f: AssetField, _ v: FieldValue) throws {
        var importHLC: UInt64? = nil
        if f == .takenAt {
            var imp = RawBinder(try statement(.importHLC), db)
            imp.blob(id.bytes)
            guard try imp.next() else { return }
            importHLC = unsql(imp.int(at: 0))
            imp.finish()
        }
        try fieldUpdate(f).execute(arguments: [Schema.column(v), id.data])
        if db.changesCount == 0 { return }
        switch f {
        case .trashedAt, .archived:
            var state = RawBinder(try statement(.stateFromColumns), db)
            state.blob(id.bytes)
            try state.step()
        case .takenAt:
            var key = RawBinder(try statement(.sortKey), db)
            key.int(Self.sortKey(v, importHLC: importHLC ?? 0))
            key.blob(id.bytes)
            try key.step()
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

    /// The two observed-remove sets of (key, key, dot) rows.
    private enum DotSet {
        case albumItem, assetTag
        var add: Query { self == .albumItem ? .albumItemAdd : .assetTagAdd }
        var remove: Query { self == .albumItem ? .albumItemRemove : .assetTagRemove }
    }

    /// Adds an element under its dot, unless a remove that observed the dot already arrived.
    private func addDot(_ set: DotSet, _ k1: DatabaseValueConvertible, _ k2: DatabaseValueConvertible,
                        _ dot: Dot) throws {
        let d = dot.origin.device.hash.data, e = Int64(dot.origin.epoch), s = sql(dot.seq)
        if removedDotsMaybe == nil { removedDotsMaybe = try exists(.removedAny) }
        if removedDotsMaybe == true {
            try statement(.removedDelete).execute(arguments: [d, e, s])
            if db.changesCount > 0 { return }
        }
        try statement(set.add).execute(arguments: [k1, k2, d, e, s])
    }

    /// Removes the observed dots; a dot not seen yet is remembered so its add stays removed.
    private func removeDots(_ set: DotSet, _ k1: DatabaseValueConvertible, _ k2: DatabaseValueConvertible,
                            _ dots: [Dot]) throws {
        for dot in dots {
            let d = dot.origin.device.hash.data, e = Int64(dot.origin.epoch), s = sql(dot.seq)
            try statement(set.remove).execute(arguments: [k1, k2, d, e, s])
            if db.changesCount > 0 { continue }
            if try VV.seq(db, dot.origin) >= dot.seq { continue }
            try statement(.removedInsert).execute(arguments: [d, e, s])
            removedDotsMaybe = true
        }
    }
}
