import Foundation
import GRDB
import HearthCrypto

// The queries behind a timeline, search, map and statistics (Immich's `timeline/buckets`,
// `timeline/bucket`, `search/metadata`, `search/random`, `map/markers`, `assets/statistics`).
// Buckets are local capture months (`asset.local_month`, see `CatalogMigrations.v6Timeline`);
// inside a bucket and in search results assets are ordered by the UTC sort key, then id.

/// A local calendar month: the key of a timeline bucket.
public struct TimelineMonth: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let year: Int
    public let month: Int

    public init?(year: Int, month: Int) {
        guard (1...12).contains(month), (-9999...9999).contains(year) else { return nil }
        self.year = year
        self.month = month
    }

    /// Parses Immich's `timeBucket`: `YYYY-MM-DD`, optionally followed by a time
    /// (`2024-03-01T00:00:00.000Z`); the day and time are ignored, the month is what counts.
    public init?(_ text: String) {
        let s = Array(text.utf8.prefix(64))
        guard s.count >= 7, s[4] == UInt8(ascii: "-"), s[0...3].allSatisfy({ $0 >= 48 && $0 <= 57 }),
              s[5...6].allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
        if s.count > 7 {
            guard s[7] == UInt8(ascii: "-"), s.count >= 10, s[8...9].allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
        }
        let digits = { (r: ClosedRange<Int>) in r.reduce(0) { $0 * 10 + Int(s[$1] - 48) } }
        self.init(year: digits(0...3), month: digits(5...6))
    }

    init(key: Int64) {
        // `key` is `YYYY * 100 + MM`; for negative years the month is still the positive remainder.
        let m = Int(((key % 100) + 100) % 100)
        year = Int((key - Int64(m)) / 100)
        month = m
    }

    /// `YYYY * 100 + MM`, as stored in `asset.local_month`.
    var key: Int64 { Int64(year) * 100 + Int64(month) }

    /// Immich's bucket name: the first day of the month, `YYYY-MM-01`.
    public var bucket: String { String(format: "%04d-%02d-01", year, month) }
    public var description: String { bucket }

    public static func < (a: TimelineMonth, b: TimelineMonth) -> Bool { a.key < b.key }

    /// `YYYY * 100 + MM` of seconds since 1970 read as UTC (proleptic Gregorian calendar,
    /// H. Hinnant's civil-from-days): the month of a local wall-clock time in `TakenAt` form.
    static func yearMonth(_ seconds: Int64) -> Int64 {
        let days = seconds >= 0 ? seconds / 86400 : -((-(seconds + 1)) / 86400) - 1
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0)) * 100 + m
    }
}

/// Newest first or oldest first.
public enum TimelineOrder: Sendable {
    case descending, ascending
    var sql: String { self == .descending ? "DESC" : "ASC" }
}

/// Which assets a timeline, map or statistics query counts. The defaults are Immich's: with no
/// `visibility` both the timeline and the archive, never the trash unless `isTrashed`.
public struct TimelineFilter: Sendable {
    public enum Visibility: Sendable {
        /// Not archived (Immich's `visibility=timeline`).
        case timeline
        /// Archived (`visibility=archive`).
        case archive
        /// Both (no `visibility` given).
        case all
    }
    public var visibility: Visibility = .all
    /// true: favourites only; false: non-favourites only; nil: either.
    public var isFavorite: Bool? = nil
    /// true: only what is in the trash (still split by `visibility`); false: nothing trashed.
    public var isTrashed = false
    public var album: AlbumID? = nil
    /// Inclusive bounds on the capture instant (UTC seconds, the sort key).
    public var takenAfter: Int64? = nil
    public var takenBefore: Int64? = nil
    public var order: TimelineOrder = .descending

    public init(visibility: Visibility = .all, isFavorite: Bool? = nil, isTrashed: Bool = false, album: AlbumID? = nil,
                takenAfter: Int64? = nil, takenBefore: Int64? = nil, order: TimelineOrder = .descending) {
        self.visibility = visibility
        self.isFavorite = isFavorite
        self.isTrashed = isTrashed
        self.album = album
        self.takenAfter = takenAfter
        self.takenBefore = takenBefore
        self.order = order
    }

    /// The `asset.state` values to read, each with the extra condition it needs: outside the
    /// trash the state says archived (1) or not (0); in the trash (2) the archive flag does.
    var stateParts: [(state: Int64, extra: String?)] {
        Self.stateParts(visibility, trashed: isTrashed, withDeleted: false)
    }

    /// How to run a query over the states: without an album, once per state (each an index
    /// range); with one, once for all (the album's members drive, and are walked once).
    var statePasses: [(sql: String, args: [DatabaseValueConvertible])] {
        let parts = stateParts
        if album == nil {
            return parts.map { p in ("a.state = ?" + (p.extra.map { " AND \($0)" } ?? ""), [p.state]) }
        }
        let states = parts.map { String($0.state) }.joined(separator: ", ")
        let each = parts.map { p in "(a.state = \(p.state)" + (p.extra.map { " AND \($0)" } ?? "") + ")" }
        return [("a.state IN (\(states)) AND (\(each.joined(separator: " OR ")))", [])]
    }

    static func stateParts(_ v: Visibility, trashed: Bool, withDeleted: Bool) -> [(state: Int64, extra: String?)] {
        let archived = AssetField.archived.column
        let live: [(Int64, String?)] = switch v {
        case .timeline: [(0, nil)]
        case .archive: [(1, nil)]
        case .all: [(0, nil), (1, nil)]
        }
        let trash: (Int64, String?) = switch v {
        case .timeline: (2, "coalesce(a.\(archived), 0) = 0")
        case .archive: (2, "a.\(archived) = 1")
        case .all: (2, nil)
        }
        if trashed { return [trash] }
        return withDeleted ? live + [trash] : live
    }

    /// What the query reads from (`asset a`, or an album's assets joined to it: an album is
    /// small beside the library, so its members drive) and the conditions other than the state.
    /// `index` names the index to read `asset` by when no album drives.
    func query(index: String? = nil) -> (from: String, fromArgs: [DatabaseValueConvertible], sql: String,
                                         args: [DatabaseValueConvertible]) {
        var sql = ""
        var args: [DatabaseValueConvertible] = []
        var from = "asset a" + (index.map { " INDEXED BY \($0)" } ?? "")
        var fromArgs: [DatabaseValueConvertible] = []
        if let album {
            // `album_item`'s key is (album, asset, dot): the distinct members come out in order, free.
            from = "(SELECT DISTINCT asset AS id FROM album_item WHERE album = ?) m CROSS JOIN asset a ON a.id = m.id"
            fromArgs.append(Data(album.bytes))
        }
        if let f = isFavorite { sql += Self.favorite(f) }
        if let t = takenAfter { sql += " AND a.sort_key >= ?"; args.append(t) }
        if let t = takenBefore { sql += " AND a.sort_key <= ?"; args.append(t) }
        return (from, fromArgs, sql, args)
    }

    static func favorite(_ on: Bool) -> String {
        on ? " AND a.\(AssetField.favorite.column) = 1" : " AND coalesce(a.\(AssetField.favorite.column), 0) = 0"
    }
}

/// One timeline bucket: a local month and how many assets it holds.
public struct TimeBucket: Hashable, Sendable {
    public let month: TimelineMonth
    public let count: Int
    /// Immich's `timeBucket`: `YYYY-MM-01`.
    public var timeBucket: String { month.bucket }
}

/// What Immich's columnar `timeline/bucket` needs of one asset, and no more.
public struct TimelineAsset: Hashable, Sendable {
    public let id: Hash256
    /// The device that imported it.
    public let importedBy: DeviceID
    /// The person who added it (asset field `owner`), when recorded.
    public let owner: PersonID?
    /// Width over height as displayed: orientations 5–8 (rotated a quarter turn) swap them;
    /// 1 when the size is unknown.
    public let ratio: Double
    public let isImage: Bool
    public let isFavorite: Bool
    public let isTrashed: Bool
    public let isArchived: Bool
    public let thumbhash: String?
    /// The capture instant, UTC seconds (when the offset is unknown, the local time read as
    /// UTC); without a capture time, the import time.
    public let fileCreatedAt: Int64
    /// The local wall-clock capture time, seconds as if it were UTC (Immich's `localDateTime`).
    public let localDateTime: Int64
    /// The capture time's UTC offset in hours (may be fractional); 0 when unknown.
    public let localOffsetHours: Double
    public let durationSeconds: Double?
    /// The Live Photo's motion video object, when it has one.
    public let motionVideo: Hash256?
    public let projection: String?
    /// Always nil: Hearth has no reverse geocoder yet.
    public let city: String?
    public let country: String?
    public let latitude: Double?
    public let longitude: Double?
    /// When it was imported, ms since 1970 (the import's clock).
    public let createdAt: Int64
    /// The bucket it belongs to.
    public let month: TimelineMonth
}

/// A metadata search (Immich's `POST /search/metadata`). Text matches are case-insensitive
/// for ASCII letters (SQLite `LIKE` / `NOCASE`).
public struct MetadataSearch: Sendable {
    /// Inclusive bounds on the capture instant, UTC seconds.
    public var takenAfter: Int64? = nil
    public var takenBefore: Int64? = nil
    /// Exact camera make, model and lens (case-insensitive).
    public var make: String? = nil
    public var model: String? = nil
    public var lens: String? = nil
    /// A substring of any name the asset was imported under.
    public var originalFileName: String? = nil
    /// A substring of the description.
    public var description: String? = nil
    /// Every tag must be on the asset (a tag also matches its children: `Places` matches `Places/Japan`).
    public var tags: [String] = []
    public var isFavorite: Bool? = nil
    /// Live Photos and Motion Photos (true), or everything else (false).
    public var isMotion: Bool? = nil
    /// Exactly this rating (0…5; 0 is unrated).
    public var rating: Int? = nil
    /// In every one of these albums.
    public var albums: [AlbumID] = []
    /// A place: no asset has one until Hearth has a reverse geocoder, so a search that names a
    /// city, state or country finds nothing (as it would in Immich for assets never geocoded).
    public var city: String? = nil
    public var state: String? = nil
    public var country: String? = nil
    /// `image` or `video` (the asset `type` field).
    public var type: String? = nil
    public var visibility: TimelineFilter.Visibility = .all
    /// Include what is in the trash.
    public var withDeleted = false
    /// Only what is in the trash.
    public var isTrashed = false
    /// 1-based page of `size` assets.
    public var page = 1
    public var size = 250
    public var order: TimelineOrder = .descending

    /// The largest page size and page number accepted (Immich caps `size` at 1000).
    public static let maxSize = 1000
    public static let maxPage = 100_000

    public init() {}
}

/// One page of a search, and the next page's number when there are more.
public struct SearchPage: Sendable {
    public let assets: [Asset]
    public let nextPage: Int?

    public init(assets: [Asset], nextPage: Int?) {
        self.assets = assets
        self.nextPage = nextPage
    }
}

/// A map marker: an asset with a position.
public struct MapMarker: Hashable, Sendable {
    public let id: Hash256
    public let latitude: Double
    public let longitude: Double
}

/// Counts by type (Immich's `assets/statistics`).
public struct AssetStatistics: Hashable, Sendable {
    public let images: Int
    public let videos: Int
    /// Every matching asset (images, videos and any other type).
    public let total: Int
}

extension Catalog {
    /// The timeline's buckets: each local month that holds matching assets, with their count,
    /// newest month first (or oldest with `.ascending`). Reads `asset_month` only (one covering
    /// index range per state), so it costs one index scan.
    public func timeBuckets(_ filter: TimelineFilter = TimelineFilter()) throws -> [TimeBucket] {
        try guarded {
            try db.read { db in
                let (from, fromArgs, cond, args) = filter.query()
                var counts: [Int64: Int] = [:]
                for pass in filter.statePasses {
                    let rows = try Row.fetchCursor(db, sql: """
                        SELECT a.local_month, COUNT(*) FROM \(from) WHERE \(pass.sql)\(cond)
                        GROUP BY a.local_month
                        """, arguments: StatementArguments(fromArgs + pass.args + args))
                    while let r = try rows.next() { counts[r[0], default: 0] += r[1] as Int }
                }
                let keys = filter.order == .descending ? counts.keys.sorted(by: >) : counts.keys.sorted()
                return keys.map { TimeBucket(month: TimelineMonth(key: $0), count: counts[$0]!) }
            }
        }
    }

    /// The matching assets of one local month, by capture instant (newest first, or oldest with
    /// `.ascending`), then id.
    public func timeBucket(_ month: TimelineMonth, _ filter: TimelineFilter = TimelineFilter()) throws -> [TimelineAsset] {
        try guarded {
            try db.read { db in
                // INDEXED BY: without statistics the planner would walk `asset_page` for the ORDER BY.
                let (from, fromArgs, cond, args) = filter.query(index: "asset_month")
                let parts = filter.stateParts.map { p in
                    "(a.state = \(p.state)" + (p.extra.map { " AND \($0)" } ?? "") + ")"
                }.joined(separator: " OR ")
                let states = filter.stateParts.map { String($0.state) }.joined(separator: ", ")
                let cols = ["id", "imp_dev", "state", "sort_key", "imp_hlc", "local_month"]
                    .map { "a.\($0)" } + Self.timelineFields.map { "a.\($0.column)" }
                let order = filter.order.sql
                // Read through the C API: a month is hundreds of rows of a dozen columns each.
                var rows = RawBinder(try db.cachedStatement(sql: """
                    SELECT \(cols.joined(separator: ", ")) FROM \(from)
                    WHERE a.state IN (\(states)) AND a.local_month = ? AND (\(parts))\(cond)
                    ORDER BY a.sort_key \(order), a.id \(order)
                    """), db)
                rows.bind(fromArgs + [month.key] + args)
                var out: [TimelineAsset] = []
                while try rows.next() {
                    if let a = Self.timelineAsset(rows) { out.append(a) }
                }
                return out
            }
        }
    }

    static let timelineFields: [AssetField] = [.type, .takenAt, .width, .height, .orientation, .latitude, .longitude,
                                               .durationSeconds, .projection, .motionVideo, .favorite, .archived,
                                               .thumbhash, .owner]

    /// One row of `timeBucket`'s query: id, imp_dev, state, sort_key, imp_hlc, local_month, then
    /// `timelineFields`. Nil for a row whose id or device is not 32 bytes (a damaged row).
    static func timelineAsset(_ r: RawBinder) -> TimelineAsset? {
        guard let id = Hash256(bytes: r.blob(at: 0)), let dev = Hash256(bytes: r.blob(at: 1)) else { return nil }
        func col(_ f: AssetField) -> Int32 { Int32(6 + timelineFields.firstIndex(of: f)!) }
        let sortKey = r.int(at: 3)
        var local = sortKey, offsetHours = 0.0
        if case .takenAt(let t)? = Schema.decodeValue(r.blob(at: col(.takenAt))) {
            local = t.localSeconds
            offsetHours = Double(t.utcOffsetMinutes ?? 0) / 60
        }
        var ratio = 1.0
        if let w = r.optionalInt(at: col(.width)), let h = r.optionalInt(at: col(.height)), w > 0, h > 0 {
            let quarter = (5...8).contains(r.optionalInt(at: col(.orientation)) ?? 1)
            ratio = quarter ? Double(h) / Double(w) : Double(w) / Double(h)
        }
        var motion: Hash256? = nil
        if !r.isNull(col(.motionVideo)), case .object(let o)? = Schema.decodeValue(r.blob(at: col(.motionVideo))) {
            motion = o.id
        }
        let state = r.int(at: 2)
        return TimelineAsset(
            id: id, importedBy: DeviceID(hash: dev), owner: r.optionalText(at: col(.owner)).flatMap(PersonID.init(uuid:)), ratio: ratio,
            isImage: r.optionalText(at: col(.type)) != "video", isFavorite: r.optionalInt(at: col(.favorite)) == 1,
            isTrashed: state == 2, isArchived: state == 1 || r.optionalInt(at: col(.archived)) == 1,
            thumbhash: r.optionalText(at: col(.thumbhash)),
            fileCreatedAt: sortKey, localDateTime: local, localOffsetHours: offsetHours,
            durationSeconds: r.optionalDouble(at: col(.durationSeconds)), motionVideo: motion,
            projection: r.optionalText(at: col(.projection)), city: nil, country: nil,
            latitude: r.optionalDouble(at: col(.latitude)), longitude: r.optionalDouble(at: col(.longitude)),
            createdAt: Int64(unsql(r.int(at: 4)) >> 16), month: TimelineMonth(key: r.int(at: 5)))
    }

    /// A page of assets matching a metadata search, by capture instant then id. Each state
    /// (timeline, archive, trash) is read as its own range of `asset_page` and limited to the
    /// page's end, so a search by date is an index range scan whatever the visibility.
    public func searchMetadata(_ q: MetadataSearch) throws -> SearchPage {
        guard (1...MetadataSearch.maxSize).contains(q.size) else {
            throw CatalogError(.invalidQuery, "search page size \(q.size) is not within 1...\(MetadataSearch.maxSize)")
        }
        guard (1...MetadataSearch.maxPage).contains(q.page) else {
            throw CatalogError(.invalidQuery, "search page \(q.page) is not within 1...\(MetadataSearch.maxPage)")
        }
        for (what, text) in [("make", q.make), ("model", q.model), ("lens", q.lens), ("file name", q.originalFileName),
                             ("description", q.description)] + q.tags.map({ ("tag", $0) }) {
            if let text, text.utf8.count > Limits.textBytes {
                throw CatalogError(.invalidQuery, "search \(what) is longer than \(Limits.textBytes) bytes")
            }
        }
        guard q.tags.count <= 64, q.albums.count <= 64 else {
            throw CatalogError(.invalidQuery, "a search names at most 64 tags and 64 albums")
        }
        if let r = q.rating, !(0...5).contains(r) { throw CatalogError(.invalidQuery, "rating \(r) is not within 0...5") }
        if q.city != nil || q.state != nil || q.country != nil { return SearchPage(assets: [], nextPage: nil) }
        return try guarded {
            try db.read { db in
                var cond = ""
                var args: [DatabaseValueConvertible] = []
                if let t = q.takenAfter { cond += " AND a.sort_key >= ?"; args.append(t) }
                if let t = q.takenBefore { cond += " AND a.sort_key <= ?"; args.append(t) }
                for (f, text) in [(AssetField.make, q.make), (.model, q.model), (.lens, q.lens)] {
                    if let text { cond += " AND a.\(f.column) = ? COLLATE NOCASE"; args.append(text) }
                }
                if let name = q.originalFileName {
                    cond += " AND EXISTS(SELECT 1 FROM asset_name n WHERE n.asset = a.id AND n.name LIKE ? ESCAPE '\\')"
                    args.append(Self.likePattern(name))
                }
                if let d = q.description {
                    cond += " AND a.\(AssetField.description.column) LIKE ? ESCAPE '\\'"
                    args.append(Self.likePattern(d))
                }
                for tag in q.tags {
                    cond += " AND EXISTS(SELECT 1 FROM asset_tag t WHERE t.asset = a.id AND "
                        + "(t.tag = ? OR (t.tag >= ? AND t.tag < ?)))"
                    args += [tag, tag + "/", tag + "0"]
                }
                if let f = q.isFavorite { cond += TimelineFilter.favorite(f) }
                if let m = q.isMotion {
                    cond += m ? " AND a.\(AssetField.motion.column) = 1" : " AND coalesce(a.\(AssetField.motion.column), 0) = 0"
                }
                if let r = q.rating {
                    cond += r == 0 ? " AND coalesce(a.\(AssetField.rating.column), 0) = 0" : " AND a.\(AssetField.rating.column) = ?"
                    if r != 0 { args.append(r) }
                }
                for album in q.albums {
                    cond += " AND EXISTS(SELECT 1 FROM album_item i WHERE i.album = ? AND i.asset = a.id)"
                    args.append(Data(album.bytes))
                }
                if let type = q.type { cond += " AND a.\(AssetField.type.column) = ?"; args.append(type) }
                let order = q.order.sql
                let end = q.page * q.size + 1
                var parts: [String] = []
                var partArgs: [DatabaseValueConvertible] = []
                for p in TimelineFilter.stateParts(q.visibility, trashed: q.isTrashed, withDeleted: q.withDeleted) {
                    let extra = p.extra.map { " AND \($0)" } ?? ""
                    parts.append("""
                        SELECT * FROM (SELECT a.rowid AS r, a.sort_key AS k, a.id AS i FROM asset a
                        WHERE a.state = \(p.state)\(extra)\(cond) ORDER BY a.sort_key \(order), a.id \(order) LIMIT ?)
                        """)
                    partArgs += args + [end]
                }
                let rows = try Row.fetchAll(db, sql: """
                    SELECT \(Self.assetColumns) FROM (\(parts.joined(separator: " UNION ALL "))) s
                    JOIN asset a ON a.rowid = s.r ORDER BY s.k \(order), s.i \(order) LIMIT ? OFFSET ?
                    """, arguments: StatementArguments(partArgs + [q.size + 1, (q.page - 1) * q.size]))
                let more = rows.count > q.size
                return SearchPage(assets: try Self.assets(db, Array(rows.prefix(q.size))), nextPage: more ? q.page + 1 : nil)
            }
        }
    }

    /// `%text%` for LIKE, with `%`, `_` and `\` in the text matched literally.
    static func likePattern(_ text: String) -> String {
        var out = "%"
        for c in text {
            if c == "%" || c == "_" || c == "\\" { out.append("\\") }
            out.append(c)
        }
        return out + "%"
    }

    /// Up to `count` (1…1000) assets picked at random from the timeline and archive (never the
    /// trash). Reads the narrow `asset_page` index to pick, then the rows picked.
    public func randomAssets(_ count: Int, visibility: TimelineFilter.Visibility = .all) throws -> [Asset] {
        guard (1...MetadataSearch.maxSize).contains(count) else {
            throw CatalogError(.invalidQuery, "random count \(count) is not within 1...\(MetadataSearch.maxSize)")
        }
        let states = TimelineFilter.stateParts(visibility, trashed: false, withDeleted: false).map { String($0.state) }
        return try guarded {
            try db.read { db in
                let rows = try Row.fetchAll(db, sql: """
                    SELECT \(Self.assetColumns) FROM asset a WHERE a.rowid IN
                    (SELECT rowid FROM asset WHERE state IN (\(states.joined(separator: ", "))) ORDER BY random() LIMIT ?)
                    """, arguments: [count])
                return try Self.assets(db, rows).shuffled()
            }
        }
    }

    /// Every matching asset that has a latitude and a longitude, by capture instant.
    public func mapMarkers(_ filter: TimelineFilter = TimelineFilter()) throws -> [MapMarker] {
        try guarded {
            try db.read { db in
                let (from, fromArgs, cond, args) = filter.query()
                let lat = AssetField.latitude.column, lon = AssetField.longitude.column
                // One range of `asset_geo` (which holds all it needs) per state, each in order; merged
                // by sort key then id.
                let order = filter.order.sql
                var lists: [[(key: Int64, marker: MapMarker)]] = []
                for pass in filter.statePasses {
                    var rows = RawBinder(try db.cachedStatement(sql: """
                        SELECT a.sort_key, a.id, a.\(lat), a.\(lon) FROM \(from)
                        WHERE \(pass.sql) AND a.\(lat) IS NOT NULL AND a.\(lon) IS NOT NULL\(cond)
                        ORDER BY a.sort_key \(order), a.id \(order)
                        """), db)
                    rows.bind(fromArgs + pass.args + args)
                    var list: [(key: Int64, marker: MapMarker)] = []
                    while try rows.next() {
                        guard let id = Hash256(bytes: rows.blob(at: 1)), let la = rows.optionalDouble(at: 2),
                              let lo = rows.optionalDouble(at: 3), la.isFinite, lo.isFinite else { continue }
                        list.append((rows.int(at: 0), MapMarker(id: id, latitude: la, longitude: lo)))
                    }
                    lists.append(list)
                }
                let descending = filter.order == .descending
                func first(_ a: (key: Int64, marker: MapMarker), _ b: (key: Int64, marker: MapMarker)) -> Bool {
                    if a.key != b.key { return descending ? a.key > b.key : a.key < b.key }
                    return descending ? b.marker.id < a.marker.id : a.marker.id < b.marker.id
                }
                var merged = lists.first ?? []
                for next in lists.dropFirst() {
                    var out: [(key: Int64, marker: MapMarker)] = []
                    out.reserveCapacity(merged.count + next.count)
                    var i = 0, j = 0
                    while i < merged.count || j < next.count {
                        if j == next.count || (i < merged.count && first(merged[i], next[j])) {
                            out.append(merged[i]); i += 1
                        } else {
                            out.append(next[j]); j += 1
                        }
                    }
                    merged = out
                }
                return merged.map(\.marker)
            }
        }
    }

    /// How many matching assets are images, videos, and in all.
    public func assetStatistics(_ filter: TimelineFilter = TimelineFilter()) throws -> AssetStatistics {
        try guarded {
            try db.read { db in
                let (from, fromArgs, cond, args) = filter.query()
                var images = 0, videos = 0, total = 0
                let type = AssetField.type.column
                for pass in filter.statePasses {
                    // Sums rather than GROUP BY: one pass over the index, no sort.
                    guard let r = try Row.fetchOne(db, sql: """
                        SELECT COUNT(*), coalesce(SUM(a.\(type) = 'image'), 0), coalesce(SUM(a.\(type) = 'video'), 0)
                        FROM \(from) WHERE \(pass.sql)\(cond)
                        """, arguments: StatementArguments(fromArgs + pass.args + args)) else { continue }
                    total += r[0] as Int
                    images += r[1] as Int
                    videos += r[2] as Int
                }
                return AssetStatistics(images: images, videos: videos, total: total)
            }
        }
    }

    /// Immich's `search/explore` sections (places and things). Always empty: Hearth has no
    /// reverse geocoder and no recognition yet, so there is nothing to explore by; a later
    /// issue that adds either fills this in.
    public func exploreSections() -> [(fieldName: String, items: [Hash256])] { [] }
}

extension Catalog {
    /// Assets (not purged) that have a thumbnail but no ThumbHash yet, at most `limit`, by id
    /// after `after`: what a backfill computes. Walk on with the last id returned.
    public func assetsWithoutThumbhash(after: Hash256? = nil, limit: Int) throws -> [(id: Hash256, thumbnail: ObjectRef)] {
        precondition(limit > 0)
        return try guarded {
            try db.read { db in
                let thumb = AssetField.thumbnail.column, hash = AssetField.thumbhash.column
                let rows = try Row.fetchAll(db, sql: """
                    SELECT id, \(thumb) FROM asset WHERE state IN (0, 1, 2) AND \(thumb) IS NOT NULL AND \(hash) IS NULL
                    AND id > ? ORDER BY id LIMIT ?
                    """, arguments: [after?.data ?? Data(), limit])
                return rows.compactMap { r in
                    guard let id = (r[0] as Data).hash256,
                          case .object(let ref) = Schema.value(.thumbnail, r[1] as DatabaseValue) else { return nil }
                    return (id, ref)
                }
            }
        }
    }
}
