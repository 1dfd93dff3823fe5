import Foundation
import GRDB
import HearthCrypto

/// Causal authorization: a batch is judged against the membership its author had seen, never
/// against whatever membership the receiving node happens to hold when the batch arrives.
///
/// Why: if batches were checked against the receiver's current member list, a node that learned
/// of B's removal before B's in-flight batch would reject it while a node that got the batch first
/// would apply it, and the two would never converge.
///
/// The rule. Every batch carries its author's *membership context* in the signed payload: for
/// each origin whose membership changes (`memberPut`, `memberRemove`) the author held, the
/// highest sequence number of such a change. A batch by origin O starting at `firstSeq` is
/// authorized iff, in the membership state made of the membership changes it *covers* — those
/// of origin o with seq ≤ context[o], plus O's own ones below `firstSeq` — O's device is a
/// member, not removed, with a role that writes (`admin` for membership changes). That state is
/// the same last-writer-wins register per device the member table shows, restricted to a causal
/// cut, so every node computes it identically. A node that does not yet hold every change the
/// context covers (its version vector is below an entry) keeps the batch in the pending pool,
/// like a gap, until it does; it never decides with partial knowledge.
///
/// Consequences. A batch written before its author learned of its removal or demotion is
/// accepted everywhere; one written after is rejected everywhere (an honest node also refuses to
/// commit it). An admin removed concurrently with its own `memberPut` still had admin rights in
/// its context, so that add stands everywhere.
///
/// What about a removed device that lies, claiming a context without its removal? A cutoff in
/// the removal (the admin's knowledge of the removed origin's seq, rejecting later batches whose
/// context lacks the removal) was considered and rejected: a node that applied such a batch
/// before the removal reached it would have to revert applied state to agree with a node that saw
/// the removal first, and a verdict that depends on arrival order is exactly the divergence this
/// type exists to prevent. Instead, the verdict depends only on the batch and its causal past,
/// so nothing applied is ever undone, and the removed device is kept out by the transport: after
/// the handshake each peer checks the other's key against its member list, so once a node knows
/// of the removal it refuses the device's connections and the device can only reach nodes that
/// have not yet heard. What it wrote meanwhile converges (accepted everywhere) — the same
/// outcome as a write that was genuinely concurrent with the removal.
struct Membership {
    /// One membership change as accepted: its stamp orders it within its target's register.
    struct Change {
        let stamp: Stamp
        let dot: Dot
        let publicKey: [UInt8]?
        let role: Role?
        let removed: Bool
    }

    /// Where a device stands in one causal cut of the membership history.
    struct Standing {
        let publicKey: [UInt8]?
        let role: Role?
        let removed: Bool
    }

    private var byTarget: [DeviceID: [Change]] = [:]

    /// Every membership change this replica accepted.
    static func load(_ db: Database) throws -> Membership {
        var m = Membership()
        for r in try Row.fetchAll(db, sql: """
            SELECT target, dev, epoch, seq, hlc, public_key, role, removed FROM member_op
            """) {
            guard let target = (r[0] as Data).hash256, let dev = (r[1] as Data).hash256 else { continue }
            let dot = Dot(origin: Origin(device: DeviceID(hash: dev), epoch: UInt32(truncatingIfNeeded: r[2] as Int64)),
                          seq: unsql(r[3]))
            let change = Change(stamp: Stamp(hlc: unsql(r[4]), dot: dot), dot: dot,
                                publicKey: (r[5] as Data?).map { [UInt8]($0) },
                                role: (r[6] as Int64?).flatMap { Role(rawValue: UInt8(truncatingIfNeeded: $0)) },
                                removed: r[7] as Bool)
            m.byTarget[DeviceID(hash: target), default: []].append(change)
        }
        return m
    }

    /// Records an accepted membership change (part of applying it, local or remote).
    static func record(_ db: Database, target: DeviceID, stamp: Stamp, dot: Dot, publicKey: [UInt8]?, name: String?,
                       role: Role?, removed: Bool) throws {
        try db.cachedStatement(sql: """
            INSERT OR IGNORE INTO member_op(dev, epoch, seq, target, hlc, public_key, name, role, removed)
            VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [dot.origin.device.hash.data, Int64(dot.origin.epoch), sql(dot.seq),
                                     target.hash.data, sql(stamp.hlc), publicKey.map { Data($0) }, name,
                                     role.map { Int64($0.rawValue) }, removed])
    }

    /// Rewrites `target`'s row of the member table from every change to it: `removed` and the
    /// stamp follow the latest change, name and role the latest `memberPut` (so a removed member's
    /// name still labels what it imported). A pure function of the set of changes, so the row is
    /// the same whatever order they were applied in.
    static func materialize(_ db: Database, _ target: DeviceID) throws {
        var winner: (Stamp, Bool)? = nil
        var lastPut: (Stamp, [UInt8], String?, Int64?)? = nil
        for r in try Row.fetchAll(db.cachedStatement(sql: """
            SELECT dev, epoch, seq, hlc, public_key, name, role, removed FROM member_op WHERE target = ?
            """), arguments: [target.hash.data]) {
            let stamp = Stamp(hlc: unsql(r[3]), device: [UInt8](r[0] as Data), epoch: UInt32(truncatingIfNeeded: r[1] as Int64),
                              seq: unsql(r[2]))
            let removed = r[7] as Bool
            if winner.map({ stamp > $0.0 }) ?? true { winner = (stamp, removed) }
            if !removed, let pk = r[4] as Data?, lastPut.map({ stamp > $0.0 }) ?? true {
                lastPut = (stamp, [UInt8](pk), r[5], r[6])
            }
        }
        guard let (stamp, removed) = winner else { return }
        try db.cachedStatement(sql: """
            INSERT OR REPLACE INTO member(device, public_key, name, role, removed, hlc, s_dev, s_epoch, s_seq)
            VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [target.hash.data, lastPut.map { Data($0.1) }, lastPut?.2, lastPut?.3, removed,
                                     sql(stamp.hlc), Data(stamp.device), Int64(stamp.epoch), sql(stamp.seq)])
    }

    /// The context a local commit carries: per origin, the highest membership change held.
    static func context(_ db: Database) throws -> [(origin: Origin, seq: UInt64)] {
        try Row.fetchAll(db, sql: "SELECT dev, epoch, MAX(seq) FROM member_op GROUP BY dev, epoch ORDER BY dev, epoch")
            .compactMap { r in
                guard let h = (r[0] as Data).hash256 else { return nil }
                return (Origin(device: DeviceID(hash: h), epoch: UInt32(truncatingIfNeeded: r[1] as Int64)), unsql(r[2]))
            }
            .sorted { $0.origin < $1.origin }
    }

    /// `device`'s standing in the cut a batch by `author` starting at `firstSeq` with `context` covers;
    /// nil when no change in that cut names it.
    func standing(of device: DeviceID, author: Origin, firstSeq: UInt64, context: VersionVector) -> Standing? {
        guard let changes = byTarget[device] else { return nil }
        var winner: Change? = nil
        var publicKey: [UInt8]? = nil
        for c in changes {
            let covered = c.dot.origin == author ? c.dot.seq < firstSeq : context.covers(c.dot)
            guard covered else { continue }
            if publicKey == nil, let pk = c.publicKey { publicKey = pk }
            if winner.map({ c.stamp > $0.stamp }) ?? true { winner = c }
        }
        guard let winner else { return nil }
        return Standing(publicKey: publicKey, role: winner.role, removed: winner.removed)
    }
}
