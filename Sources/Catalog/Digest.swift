import Foundation
import GRDB
import HearthCrypto

extension Catalog {
    /// BLAKE2b-256 over the visible state in canonical order: members, assets (fields, names, tags),
    /// purged ids, albums with their assets. Equal on two replicas exactly when what they show is equal,
    /// whatever order the batches arrived in; clocks and the batch log are left out.
    ///
    /// Fields of format level 1 are hashed in field order, as release 6847644 hashes them; a
    /// field of a later level adds its id and value when set, so a library that uses none of them
    /// keeps its digest. `format` leaves out fields above it: two nodes of different levels
    /// compare what both understand with `digest(format: lower level)`.
    public func digest(format: UInt16 = CatalogFormat.current) throws -> Hash256 {
        try guarded {
            try db.read { db in
                var h = Blake2b()
                var w = ByteWriter()
                w.string("hearth-catalog-digest-v1")
                w.raw(libraryID.bytes)
                for r in try Row.fetchAll(db, sql: """
                    SELECT device, name, role, removed FROM member WHERE role IS NOT NULL ORDER BY device
                    """) {
                    w.u8(1)
                    w.raw([UInt8](r[0] as Data))
                    w.string(r[1] ?? "")
                    w.varint(UInt64(r[2] as Int64))
                    w.u8((r[3] as Bool) ? 1 : 0)
                }
                let assets = try Row.fetchCursor(db, sql: """
                    SELECT \(Self.assetColumns), (SELECT group_concat(name, char(0)) FROM
                      (SELECT name FROM asset_name WHERE asset = a.id ORDER BY name)),
                      (SELECT group_concat(tag, char(0)) FROM
                      (SELECT DISTINCT tag FROM asset_tag WHERE asset = a.id ORDER BY tag))
                    FROM asset a ORDER BY a.id
                    """)
                let extra = 5 + AssetField.allCases.count
                while let r = try assets.next() {
                    w.u8(2)
                    w.raw([UInt8](r[0] as Data))
                    if (r[4] as Int64) == 9 {
                        w.u8(0)
                        if w.bytes.count >= 1 << 16 { h.update(w.bytes); w.bytes.removeAll(keepingCapacity: true) }
                        continue
                    }
                    w.u8(1)
                    w.string(r[extra] ?? "")
                    w.string(r[extra + 1] ?? "")
                    w.raw([UInt8](r[2] as Data))
                    w.data([UInt8](r[3] as Data))
                    for (i, f) in AssetField.allCases.enumerated() where f.format == CatalogFormat.base {
                        w.value(Schema.value(f, r[5 + i] as DatabaseValue))
                    }
                    for (i, f) in AssetField.allCases.enumerated() where f.format > CatalogFormat.base && f.format <= format {
                        let v = Schema.value(f, r[5 + i] as DatabaseValue)
                        if v != .null {
                            w.varint(UInt64(f.rawValue))
                            w.value(v)
                        }
                    }
                    if w.bytes.count >= 1 << 16 { h.update(w.bytes); w.bytes.removeAll(keepingCapacity: true) }
                }
                for r in try Row.fetchAll(db, sql: """
                    SELECT al.id, al.name, al.description, al.cover,
                      (SELECT group_concat(hex(asset), ',') FROM (SELECT DISTINCT i.asset FROM album_item i
                       JOIN asset a ON a.id = i.asset AND a.state != 9 WHERE i.album = al.id ORDER BY i.asset))
                    FROM album al WHERE al.deleted = 0 AND al.name IS NOT NULL ORDER BY al.id
                    """) {
                    w.u8(3)
                    w.raw([UInt8](r[0] as Data))
                    w.string(r[1] ?? "")
                    w.string(r[2] ?? "\u{0}")
                    w.string(r[3] ?? "")
                    w.string(r[4] ?? "")
                    if w.bytes.count >= 1 << 16 { h.update(w.bytes); w.bytes.removeAll(keepingCapacity: true) }
                }
                // People and device links (format 3); a library without any keeps its digest.
                if format >= CatalogFormat.people {
                    for r in try Row.fetchAll(db, sql: """
                        SELECT id, name, email, is_admin, avatar_color, password_hash, created_at, updated_at, deleted
                        FROM person ORDER BY id
                        """) {
                        w.u8(4)
                        w.raw([UInt8](r[0] as Data))
                        for i in [1, 2, 4, 5] { w.string(r[i] ?? "\u{0}") }
                        w.u8((r[3] as Bool) ? 1 : 0)
                        w.svarint(r[6] ?? -1)
                        w.svarint(r[7])
                        w.u8((r[8] as Bool) ? 1 : 0)
                    }
                    for r in try Row.fetchAll(db, sql: "SELECT device, person FROM device_person ORDER BY device") {
                        w.u8(5)
                        w.raw([UInt8](r[0] as Data))
                        w.data((r[1] as Data?).map { [UInt8]($0) } ?? [])
                    }
                }
                h.update(w.bytes)
                return h.finalize256()
            }
        }
    }
}
