import Foundation
import GRDB
import HearthCrypto

extension Catalog {
    static let assetColumns = (["id", "file_name", "imp_dev", "original", "state"] + Schema.assetFieldColumns)
        .map { "a.\($0)" }.joined(separator: ", ")

    /// Assets newest first (by `TakenAt.sortSeconds`, then id), filtered; purged assets never appear.
    public func assets(_ filter: AssetFilter = AssetFilter()) throws -> [Asset] {
        precondition((filter.limit ?? 0) >= 0 && filter.offset >= 0)
        return try guarded {
            try db.read { db in
                var sqlText = "SELECT \(Self.assetColumns) FROM asset a WHERE "
                var args: [DatabaseValueConvertible] = []
                switch filter.scope {
                case .library: sqlText += "a.state = 0"
                case .archived: sqlText += "a.state = 1"
                case .trashed: sqlText += "a.state = 2"
                case .all: sqlText += "a.state IN (0, 1, 2)"
                }
                if filter.favoritesOnly { sqlText += " AND a.\(AssetField.favorite.column) = 1" }
                if let from = filter.from { sqlText += " AND a.sort_key >= ?"; args.append(from) }
                if let to = filter.to { sqlText += " AND a.sort_key <= ?"; args.append(to) }
                if let album = filter.album {
                    let members = "SELECT asset FROM album_item WHERE album = ?"
                    let large = try Self.isLarge(db, members, [Data(album.bytes)])
                    sqlText += large ? " AND EXISTS(SELECT 1 FROM album_item i WHERE i.album = ? AND i.asset = a.id)"
                        : " AND a.id IN (\(members))"
                    args.append(Data(album.bytes))
                }
                if let tag = filter.tag {
                    let tagged = "SELECT asset FROM asset_tag WHERE tag = ? OR (tag >= ? AND tag < ?)"
                    let tagArgs: [DatabaseValueConvertible] = [tag, tag + "/", tag + "0"]
                    let large = try Self.isLarge(db, tagged, tagArgs)
                    sqlText += large ? " AND EXISTS(SELECT 1 FROM asset_tag t WHERE t.asset = a.id AND "
                        + "(t.tag = ? OR (t.tag >= ? AND t.tag < ?)))" : " AND a.id IN (\(tagged))"
                    args += tagArgs
                }
                sqlText += " ORDER BY a.sort_key DESC, a.id DESC LIMIT ? OFFSET ?"
                args += [filter.limit ?? -1, filter.offset]  // SQLite: a negative LIMIT is none
                let rows = try Row.fetchAll(db, sql: sqlText, arguments: StatementArguments(args))
                return try Self.assets(db, rows)
            }
        }
    }

    /// Whether a membership subquery matches so many assets that walking the newest-first index
    /// and probing each row's membership (a correlated EXISTS on the set's primary key) beats
    /// fetching every member and sorting.
    static func isLarge(_ db: Database, _ subquery: String, _ args: [DatabaseValueConvertible]) throws -> Bool {
        try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM (\(subquery) LIMIT 4000)",
                         arguments: StatementArguments(args)) ?? 0 >= 4000
    }

    /// One asset by id (purged ones included, flagged), or nil.
    public func asset(_ id: Hash256) throws -> Asset? {
        try guarded {
            try db.read { db in
                try Row.fetchOne(db, sql: "SELECT \(Self.assetColumns) FROM asset a WHERE id = ?", arguments: [id.data])
                    .map { try Self.asset(db, $0) }
            }
        }
    }

    /// Builds assets from rows, fetching file names and importer names in one query each.
    static func assets(_ db: Database, _ rows: [Row]) throws -> [Asset] {
        guard rows.count > 1 else { return try rows.map { try asset(db, $0) } }
        let keys = rows.map { $0[0] as Data }
        var names: [Data: [String]] = [:]
        let marks = Array(repeating: "?", count: keys.count).joined(separator: ",")
        for r in try Row.fetchAll(db, sql: "SELECT asset, name FROM asset_name WHERE asset IN (\(marks)) ORDER BY asset, name",
                                  arguments: StatementArguments(keys)) {
            names[r[0], default: []].append(r[1])
        }
        var people: [Data: String] = [:]
        for r in try Row.fetchAll(db, sql: "SELECT device, name FROM member WHERE name IS NOT NULL") { people[r[0]] = r[1] }
        return rows.map { asset($0, names: names[$0[0] as Data] ?? [], person: people[$0[2] as Data]) }
    }

    static func asset(_ db: Database, _ row: Row) throws -> Asset {
        let names = try String.fetchAll(db.cachedStatement(sql: "SELECT name FROM asset_name WHERE asset = ? ORDER BY name"),
                                        arguments: [row[0] as Data])
        let person = try String.fetchOne(db.cachedStatement(sql: "SELECT name FROM member WHERE device = ?"),
                                         arguments: [row[2] as Data])
        return asset(row, names: names, person: person)
    }

    static func asset(_ row: Row, names: [String], person: String?) -> Asset {
        let id = (row[0] as Data).hash256!
        var values: [AssetField: FieldValue] = [:]
        for (i, f) in AssetField.allCases.enumerated() {
            let v = Schema.value(f, row[5 + i] as DatabaseValue)
            if v != .null { values[f] = v }
        }
        let dev = DeviceID(hash: (row[2] as Data).hash256!)
        let original = Schema.decodeObject(row[3]) ?? ObjectRef(id: id, size: 0, chunks: [])
        return Asset(id: id, fileNames: names, importedBy: dev, importedByPerson: person, original: original,
                     purged: (row[4] as Int64) == 9, values: values)
    }

    /// The one visible asset whose hex id starts with `prefix`.
    public func resolveAsset(prefix: String) throws -> Hash256 {
        let p = prefix.lowercased()
        guard !p.isEmpty, p.count <= 64, p.allSatisfy(\.isHexDigit) else {
            throw CatalogError(.unknownAsset, "\"\(prefix)\" is not a hex asset id prefix")
        }
        let low = Hex.decode(p.padding(toLength: 64, withPad: "0", startingAt: 0))!
        let high = Hex.decode(p.padding(toLength: 64, withPad: "f", startingAt: 0))!
        let ids = try guarded {
            try db.read { db in
                try Data.fetchAll(db, sql: "SELECT id FROM asset WHERE id BETWEEN ? AND ? AND state != 9 ORDER BY id LIMIT 2",
                                  arguments: [Data(low), Data(high)])
            }
        }
        guard let first = ids.first?.hash256 else {
            throw CatalogError(.unknownAsset, "no asset id starts with \(p)")
        }
        guard ids.count == 1 else {
            throw CatalogError(.ambiguous, "\(p) matches more than one asset (\(first.hex.prefix(p.count + 4))…, "
                               + "\(ids[1].hash256!.hex.prefix(p.count + 4))…); type more characters")
        }
        return first
    }

    /// Albums that exist (not deleted), by name then id.
    public func albums() throws -> [Album] {
        try guarded { try db.read { db in try Self.albums(db, where: "", []) } }
    }

    static func albums(_ db: Database, where extra: String, _ args: [DatabaseValueConvertible]) throws -> [Album] {
        try Row.fetchAll(db, sql: """
            SELECT al.id, al.name, al.description, al.cover,
              (SELECT COUNT(DISTINCT i.asset) FROM album_item i JOIN asset a ON a.id = i.asset
               WHERE i.album = al.id AND a.state IN (0, 1))
            FROM album al WHERE al.deleted = 0 AND al.name IS NOT NULL \(extra) ORDER BY al.name, al.id
            """, arguments: StatementArguments(args)).compactMap { r in
            guard let id = AlbumID(bytes: [UInt8](r[0] as Data)) else { return nil }
            return Album(id: id, name: r[1], description: r[2], cover: (r[3] as String?).flatMap(Hash256.init(hex:)),
                         assetCount: r[4])
        }
    }

    /// An album by exact name, else by unique hex id prefix.
    public func album(_ nameOrIDPrefix: String) throws -> Album {
        try guarded {
            try db.read { db in
                let byName = try Self.albums(db, where: "AND al.name = ?", [nameOrIDPrefix])
                if byName.count == 1 { return byName[0] }
                if byName.count > 1 {
                    throw CatalogError(.ambiguous, "\(byName.count) albums are named \"\(nameOrIDPrefix)\"; use an id prefix: "
                                       + byName.map { String($0.id.hex.prefix(8)) }.joined(separator: ", "))
                }
                let p = nameOrIDPrefix.lowercased()
                guard !p.isEmpty, p.count <= 32, p.allSatisfy(\.isHexDigit) else {
                    throw CatalogError(.unknownAlbum, "no album named \"\(nameOrIDPrefix)\"")
                }
                let low = Hex.decode(p.padding(toLength: 32, withPad: "0", startingAt: 0))!
                let high = Hex.decode(p.padding(toLength: 32, withPad: "f", startingAt: 0))!
                let found = try Self.albums(db, where: "AND al.id BETWEEN ? AND ?", [Data(low), Data(high)])
                guard let a = found.first else {
                    throw CatalogError(.unknownAlbum, "no album named or with an id starting \"\(nameOrIDPrefix)\"")
                }
                guard found.count == 1 else {
                    throw CatalogError(.ambiguous, "\(p) matches \(found.count) albums; type more characters")
                }
                return a
            }
        }
    }

    /// Tags on visible assets with how many assets carry each, sorted by tag.
    public func tags() throws -> [(tag: String, count: Int)] {
        try guarded {
            try db.read { db in
                try Row.fetchAll(db, sql: """
                    SELECT t.tag, COUNT(DISTINCT t.asset) FROM asset_tag t JOIN asset a ON a.id = t.asset
                    WHERE a.state IN (0, 1) GROUP BY t.tag ORDER BY t.tag
                    """).map { ($0[0], $0[1]) }
            }
        }
    }

    /// Tags on one asset, sorted.
    public func tags(of id: Hash256) throws -> [String] {
        try guarded {
            try db.read { db in
                try String.fetchAll(db, sql: "SELECT DISTINCT tag FROM asset_tag WHERE asset = ? ORDER BY tag",
                                    arguments: [id.data])
            }
        }
    }

    public func counts() throws -> CatalogCounts {
        try guarded {
            try db.read { db in
                var c = CatalogCounts()
                for r in try Row.fetchAll(db, sql: "SELECT state, COUNT(*) FROM asset GROUP BY state") {
                    switch r[0] as Int64 {
                    case 0: c.library = r[1]
                    case 1: c.archived = r[1]
                    case 2: c.trashed = r[1]
                    default: c.purged += r[1]
                    }
                }
                c.favorites = try Int.fetchOne(db, sql: """
                    SELECT COUNT(*) FROM asset WHERE state IN (0, 1) AND \(AssetField.favorite.column) = 1
                    """) ?? 0
                c.albums = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM album WHERE deleted = 0 AND name IS NOT NULL") ?? 0
                c.tags = try Int.fetchOne(db, sql: "SELECT COUNT(DISTINCT tag) FROM asset_tag") ?? 0
                c.members = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM member WHERE removed = 0 AND role IS NOT NULL") ?? 0
                c.batches = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM batch_log") ?? 0
                return c
            }
        }
    }

    /// Current members (not removed), by device id.
    public func members() throws -> [Member] {
        try guarded {
            try db.read { db in
                try Row.fetchAll(db, sql: """
                    SELECT device, public_key, name, role FROM member
                    WHERE removed = 0 AND public_key IS NOT NULL AND role IS NOT NULL ORDER BY device
                    """).compactMap { r in
                    guard let h = (r[0] as Data).hash256, let role = Role(rawValue: UInt8(truncatingIfNeeded: r[3] as Int64))
                    else { return nil }
                    return Member(device: DeviceID(hash: h), publicKey: [UInt8](r[1] as Data), name: r[2] ?? "", role: role)
                }
            }
        }
    }

    /// The founding admin's public key, once the genesis batch is held.
    public func founder() throws -> [UInt8]? {
        try guarded {
            try db.read { db in
                try Data.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'founder'").map { [UInt8]($0) }
            }
        }
    }

    /// Every object a non-purged asset refers to (originals, thumbnails, previews, Live Photo videos),
    /// once each, sorted by id: what verify checks and gc keeps.
    public func referencedObjects() throws -> [ObjectRef] {
        try guarded {
            try db.read { db in
                var out = Set<ObjectRef>()
                let cols = [AssetField.motionVideo, .thumbnail, .preview].map(\.column).joined(separator: ", ")
                let cursor = try Row.fetchCursor(db, sql: "SELECT original, \(cols) FROM asset WHERE state != 9")
                while let r = try cursor.next() {
                    if let o = Schema.decodeObject(r[0]) { out.insert(o) }
                    for i in 1...3 {
                        if case .object(let o) = Schema.value(.thumbnail, r[i] as DatabaseValue) { out.insert(o) }
                    }
                }
                return out.sorted()
            }
        }
    }
}

/// The stored objects of one asset, as `Catalog.assetObjects()` reads them.
public struct AssetObjects: Sendable {
    public let id: Hash256
    public let original: ObjectRef
    public let motionVideo: ObjectRef?
    public let preview: ObjectRef?
    public let thumbnail: ObjectRef?
}

extension Asset {
    /// This asset's stored objects, as `Catalog.assetObjects()` reads them.
    public var storedObjects: AssetObjects {
        AssetObjects(id: id, original: original, motionVideo: motionVideo, preview: preview, thumbnail: thumbnail)
    }
}

extension Catalog {
    /// The objects of every asset that is not purged, in the library, the archive and the trash
    /// alike, in one read and without a page limit: what sync wants and `verify` checks. Only
    /// the object columns are read, so a large library costs little more than its chunk lists.
    public func assetObjects() throws -> [AssetObjects] {
        let cols = [AssetField.motionVideo, .preview, .thumbnail].map { "\($0.column)" }.joined(separator: ", ")
        return try guarded {
            try db.read { db in
                let cursor = try Row.fetchCursor(db, sql: "SELECT id, original, \(cols) FROM asset WHERE state IN (0, 1, 2)")
                var out: [AssetObjects] = []
                while let row = try cursor.next() {
                    guard let id = (row[0] as Data).hash256 else { continue }
                    func ref(_ i: Int, _ f: AssetField) -> ObjectRef? {
                        if case .object(let o) = Schema.value(f, row[i] as DatabaseValue) { return o }
                        return nil
                    }
                    out.append(AssetObjects(id: id, original: Schema.decodeObject(row[1]) ?? ObjectRef(id: id, size: 0, chunks: []),
                                            motionVideo: ref(2, .motionVideo), preview: ref(3, .preview),
                                            thumbnail: ref(4, .thumbnail)))
                }
                return out
            }
        }
    }
}
