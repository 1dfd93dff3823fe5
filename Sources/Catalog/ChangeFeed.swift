import Foundation
import GRDB
import HearthCrypto

/// The node-local change feed: every change this node applies to an asset row (import, any
/// field, trash and restore, purge), an album row (create, rename, describe, cover, delete), an
/// album's membership (asset added or removed) or a person (any field, removal) takes the next number of one strictly increasing
/// sequence, stored beside the row (`update_seq`, set by `Applier` whether the change came from a
/// local commit or a peer's batch). Purged assets and deleted albums keep their rows (`state = 9`,
/// `deleted = 1`) and a membership keeps its `album_asset_feed` row after the asset leaves
/// (`present = 0`), so deletions are numbered like every other change.
///
/// The numbers are this node's order of arrival, never synced: two nodes number the same changes
/// differently. A client that reads "what changed after number N" (the Immich sync stream, whose
/// checkpoints are per session and so per node) must start from nothing on another node.
public enum ChangeFeed {
    /// The highest number given so far (0 for none): every table's numbers are indexed.
    static let maxSeqSQL = """
        SELECT MAX(m) FROM (SELECT MAX(update_seq) AS m FROM asset UNION ALL SELECT MAX(update_seq) FROM album
        UNION ALL SELECT MAX(update_seq) FROM album_asset_feed UNION ALL SELECT MAX(update_seq) FROM person)
        """
}

/// One person as the feed last changed it (`person.deleted` says they were removed).
public struct FeedPerson: Sendable {
    public let seq: Int64
    public let person: Person
}

/// One asset as the feed last changed it; `asset.purged` says it was purged.
public struct FeedAsset: Sendable {
    public let seq: Int64
    public let asset: Asset
}

/// One album as the feed last changed it.
public struct FeedAlbum: Sendable {
    public let seq: Int64
    public let id: AlbumID
    public let name: String
    public let description: String?
    public let cover: Hash256?
    public let deleted: Bool
    /// The device whose change named the album (the album's creator, as far as the catalog
    /// knows: the winner of its name register), when it has a name.
    public let namedBy: DeviceID?
}

/// One album membership as the feed last changed it: the asset is in the album (`present`) or left it.
public struct FeedAlbumAsset: Sendable {
    public let seq: Int64
    public let album: AlbumID
    public let asset: Hash256
    public let present: Bool
}

extension Catalog {
    /// The highest feed number given so far (0 when nothing was numbered).
    public func feedHighWater() throws -> Int64 {
        try guarded { try db.read { db in try Int64.fetchOne(db, sql: ChangeFeed.maxSeqSQL) ?? 0 } }
    }

    /// People changed after `seq`, at most `limit`, in feed order: removed ones (`deleted: true`) or
    /// the others. A person no change has named yet is not listed as existing.
    public func feedPeople(after seq: Int64, limit: Int, deleted: Bool) throws -> [FeedPerson] {
        precondition(limit >= 0)
        let wanted = try guarded {
            try db.read { db in
                try Row.fetchAll(db, sql: """
                    SELECT id, update_seq FROM person WHERE update_seq > ? AND \(deleted ? "deleted = 1" : "deleted = 0 AND name IS NOT NULL")
                    ORDER BY update_seq LIMIT ?
                    """, arguments: [seq, limit]).compactMap { r -> (PersonID, Int64)? in
                    guard let id = PersonID(bytes: [UInt8](r[0] as Data)) else { return nil }
                    return (id, r[1])
                }
            }
        }
        return try wanted.compactMap { id, s in
            try person(id, includingRemoved: true).map { FeedPerson(seq: s, person: $0) }
        }
    }

    /// Assets changed after `seq`, at most `limit`, in feed order: purged ones (`purged: true`)
    /// or the others (library, archived, trashed).
    public func feedAssets(after seq: Int64, limit: Int, purged: Bool) throws -> [FeedAsset] {
        precondition(limit >= 0)
        return try guarded {
            try db.read { db in
                let rows = try Row.fetchAll(db, sql: """
                    SELECT \(Self.assetColumns), a.update_seq FROM asset a
                    WHERE a.update_seq > ? AND \(purged ? "a.state = 9" : "a.state != 9")
                    ORDER BY a.update_seq LIMIT ?
                    """, arguments: [seq, limit])
                let assets = try Self.assets(db, rows)
                let seqColumn = 5 + AssetField.allCases.count
                return zip(rows, assets).map { FeedAsset(seq: $0[seqColumn], asset: $1) }
            }
        }
    }

    /// Albums changed after `seq`, at most `limit`, in feed order: deleted ones (`deleted: true`)
    /// or those that exist. An album no change has named yet (only its description arrived) is
    /// not listed as existing.
    public func feedAlbums(after seq: Int64, limit: Int, deleted: Bool) throws -> [FeedAlbum] {
        precondition(limit >= 0)
        return try guarded {
            try db.read { db in
                try Row.fetchAll(db, sql: """
                    SELECT al.update_seq, al.id, al.name, al.description, al.cover, al.deleted,
                      (SELECT r.dev FROM album_reg r WHERE r.album = al.id AND r.field = ?)
                    FROM album al WHERE al.update_seq > ? AND \(deleted ? "al.deleted = 1" : "al.deleted = 0 AND al.name IS NOT NULL")
                    ORDER BY al.update_seq LIMIT ?
                    """, arguments: [Int64(AlbumField.name.rawValue), seq, limit]).compactMap { r in
                    guard let id = AlbumID(bytes: [UInt8](r[1] as Data)) else { return nil }
                    return FeedAlbum(seq: r[0], id: id, name: r[2] ?? "", description: r[3],
                                     cover: (r[4] as String?).flatMap(Hash256.init(hex:)), deleted: (r[5] as Int64) != 0,
                                     namedBy: (r[6] as Data?).flatMap(\.hash256).map { DeviceID(hash: $0) })
                }
            }
        }
    }

    /// Album memberships changed after `seq`, at most `limit`, in feed order: removals
    /// (`present: false`), or assets now in an album. Additions are listed only while the album
    /// exists and the asset is not purged (a client holds neither otherwise); a removal always is.
    public func feedAlbumAssets(after seq: Int64, limit: Int, present: Bool) throws -> [FeedAlbumAsset] {
        precondition(limit >= 0)
        return try guarded {
            try db.read { db in
                let live = present ? """
                     AND EXISTS(SELECT 1 FROM album al WHERE al.id = f.album AND al.deleted = 0 AND al.name IS NOT NULL)
                     AND EXISTS(SELECT 1 FROM asset a WHERE a.id = f.asset AND a.state != 9)
                    """ : ""
                return try Row.fetchAll(db, sql: """
                    SELECT f.update_seq, f.album, f.asset FROM album_asset_feed f
                    WHERE f.update_seq > ? AND f.present = ?\(live) ORDER BY f.update_seq LIMIT ?
                    """, arguments: [seq, present ? 1 : 0, limit]).compactMap { r in
                    guard let album = AlbumID(bytes: [UInt8](r[1] as Data)), let asset = (r[2] as Data).hash256 else { return nil }
                    return FeedAlbumAsset(seq: r[0], album: album, asset: asset, present: present)
                }
            }
        }
    }
}
