import Foundation
import GRDB
import HearthCrypto

/// Changes a catalog holds but does not understand at its format level (`deferred_change`).
///
/// They arrived inside verified batches, which stay in `batch_log` (relayed byte-identical)
/// and count in the version vector. Each is kept with its dot and clock, its kind and its body
/// as payload version 3 carries it, and applied with those original stamps once the catalog is
/// opened at a level that understands it: last-writer-wins registers and observed-remove sets
/// give the same state whatever order changes apply in, so applying late is applying.
enum DeferredChanges {
    static func keep(_ db: Database, dot: Dot, hlc: UInt64, kind: UInt64, body: [UInt8]) throws {
        try db.cachedStatement(sql: """
            INSERT OR IGNORE INTO deferred_change(dev, epoch, seq, hlc, kind, body) VALUES(?, ?, ?, ?, ?, ?)
            """).execute(arguments: [dot.origin.device.hash.data, Int64(dot.origin.epoch), sql(dot.seq), sql(hlc),
                                     sql(kind), Data(body)])
    }

    static func count(_ db: Database) throws -> Int {
        try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM deferred_change") ?? 0
    }

    /// What an upgrade did with the kept changes.
    struct Upgrade: Equatable {
        var applied = 0
        /// Still above the new level (or unknown to this build): kept.
        var kept = 0
        /// Kept at a lower level without being parsed, and malformed at this one: dropped (their
        /// batch stays held and relayed; a node that understood it on arrival refused that batch).
        var dropped = 0
    }

    /// Applies every kept change that `level` understands, in dot order, with its original stamp.
    static func apply(_ db: Database, level: UInt16) throws -> Upgrade {
        var out = Upgrade()
        let rows = try Row.fetchAll(db, sql: "SELECT dev, epoch, seq, hlc, kind, body FROM deferred_change ORDER BY dev, epoch, seq")
        guard !rows.isEmpty else { return out }
        let applier = Applier(db: db)
        var membership: Membership? = nil
        for row in rows {
            let devData: Data = row[0]
            guard let h = devData.hash256 else { continue }
            let epoch: Int64 = row[1], seqRaw: Int64 = row[2], hlcRaw: Int64 = row[3], kindRaw: Int64 = row[4]
            let origin = Origin(device: DeviceID(hash: h), epoch: UInt32(truncatingIfNeeded: epoch))
            let dot = Dot(origin: origin, seq: unsql(seqRaw))
            let stamp = Stamp(hlc: unsql(hlcRaw), dot: dot)
            let body = [UInt8](row[5] as Data)
            let change: Change
            do {
                change = try ByteReader.v3Change(kind: unsql(kindRaw), body: body, level: level)
            } catch {
                out.dropped += 1
                try delete(db, dot)
                continue
            }
            switch change {
            case .known(let op):
                // People changes carry an authority rule this node could not check on arrival.
                if CatalogFormat.peopleKinds.contains(op.kind) {
                    let role = try authorRole(db, dot, &membership)
                    if role.map({ PeopleRules.refusal(op, role: $0, author: origin.device) != nil }) ?? true {
                        out.dropped += 1
                        try delete(db, dot)
                        continue
                    }
                }
                if case .importAsset = op { try applier.importFields(op, stamp: stamp) } else {
                    try applier.apply(op, stamp: stamp, dot: dot)
                }
                try delete(db, dot)
                out.applied += 1
            case .partial(let op, _):
                try applier.importFields(op, stamp: stamp)
                out.kept += 1
            case .unknown:
                out.kept += 1
            }
        }
        return out
    }

    /// The role the author of the batch holding `dot` had in the membership that batch was
    /// written against (as `RemoteApply.verify` decides it); nil when it cannot be found.
    static func authorRole(_ db: Database, _ dot: Dot, _ membership: inout Membership?) throws -> Role? {
        guard let row = try Row.fetchOne(db, sql: """
            SELECT first_seq, payload FROM batch_log WHERE device = ? AND epoch = ? AND first_seq <= ? AND last_seq >= ?
            """, arguments: [dot.origin.device.hash.data, Int64(dot.origin.epoch), sql(dot.seq), sql(dot.seq)]) else { return nil }
        let firstSeq = unsql(row[0])
        guard let context = Payload.context(of: [UInt8](row[1] as Data)) else { return nil }
        if membership == nil { membership = try Membership.load(db) }
        let vector = VersionVector(Dictionary(context.map { ($0.origin, $0.seq) }, uniquingKeysWith: max))
        if let standing = membership!.standing(of: dot.origin.device, author: dot.origin, firstSeq: firstSeq, context: vector) {
            return standing.removed ? nil : standing.role
        }
        // The genesis batch: its author is the founding admin.
        if firstSeq == 1, let founder = try Data.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'founder'"),
           DeviceID(publicKey: [UInt8](founder)) == dot.origin.device {
            return .admin
        }
        return nil
    }

    private static func delete(_ db: Database, _ dot: Dot) throws {
        try db.execute(sql: "DELETE FROM deferred_change WHERE dev = ? AND epoch = ? AND seq = ?",
                       arguments: [dot.origin.device.hash.data, Int64(dot.origin.epoch), sql(dot.seq)])
    }
}

extension Applier {
    /// The fields of an import whose other fields were applied on arrival: when that import is
    /// still the asset's winning one, each field no edit has written since takes its value
    /// (as if the import had been understood whole). A later import, or none, leaves it alone.
    func importFields(_ op: Op, stamp: Stamp) throws {
        guard case .importAsset(let id, _, _, let fields) = op, !fields.isEmpty else { return }
        guard let row = try Row.fetchOne(db, sql: "SELECT imp_hlc, imp_dev, imp_epoch, imp_seq FROM asset WHERE id = ?",
                                         arguments: [id.data]),
              let current = Self.stamp(row, 0), current == stamp else { return }
        for (f, v) in fields {
            let edited = try Bool.fetchOne(db, sql: "SELECT EXISTS(SELECT 1 FROM field_reg WHERE asset = ? AND field = ?)",
                                           arguments: [id.data, Int64(f.rawValue)]) ?? false
            if edited { continue }
            try writeColumn(id, f, v)
        }
    }
}
