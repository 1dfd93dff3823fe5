import Foundation
import GRDB
import HearthCrypto

extension Catalog {
    /// Limits of the pool of batches waiting for an earlier batch of their origin.
    public static let maxPendingBatches = 10_000
    public static let maxPendingBytes = 64 << 20

    /// Applies batches from peers: idempotent, in any order. A batch already covered is skipped;
    /// one after a gap, or whose membership context names changes not held yet, waits in the
    /// pending pool. Each is verified (signature, payload, and its author's membership and role in
    /// the context it was written in, see `Membership`) before any of it is applied; a bad batch is
    /// rejected with a reason and leaves no trace. The verdict on a batch is the same on every node.
    /// Changes above this catalog's format level are verified with their batch, stored, counted
    /// in the version vector and kept in `deferred_change` until the catalog is opened at a level
    /// that understands them (see `CatalogFormat`).
    @discardableResult
    public func applyRemote(_ batches: [SignedBatch], now: Int64) throws -> ApplyReport {
        try guarded {
            try db.write { db in
                var run = RemoteApply(catalog: self, db: db, now: now)
                return try run.run(batches)
            }
        }
    }

    /// The batches a node with version vector `vv` lacks, in an order it can apply in one pass:
    /// origins that changed the member list first, each origin's batches by sequence. Stops once
    /// `maxBytes` of payload is reached (always returns at least one batch when any is missing).
    ///
    /// With `maxPayloadVersion` 2 (a peer speaking protocol 1), each origin's batches stop before
    /// its first batch of payload version 3, so such a peer gets a contiguous prefix it accepts.
    public func batches(missingFrom vv: VersionVector, maxBytes: Int = .max,
                        maxPayloadVersion: UInt8 = 3) throws -> [SignedBatch] {
        try guarded {
            try db.read { db in
                let caps = maxPayloadVersion >= Payload.v3 ? [:] : try BatchLog.caps(db, maxPayloadVersion: maxPayloadVersion)
                var runs: [(members: Bool, origin: Origin, batches: [SignedBatch])] = []
                for (origin, have) in try VV.all(db).sorted where min(have, caps[origin] ?? .max) > vv[origin] {
                    let rows = try Row.fetchAll(db.cachedStatement(sql: """
                        SELECT first_seq, last_seq, payload, signature, members FROM batch_log
                        WHERE device = ? AND epoch = ? AND last_seq > ? AND last_seq <= ? ORDER BY first_seq
                        """), arguments: [origin.device.hash.data, Int64(origin.epoch), sql(vv[origin]),
                                          sql(min(caps[origin] ?? UInt64(Int64.max), UInt64(Int64.max)))])
                    let list = rows.map {
                        SignedBatch(origin: origin, firstSeq: unsql($0[0]), lastSeq: unsql($0[1]),
                                    payload: [UInt8]($0[2] as Data), signature: [UInt8]($0[3] as Data))
                    }
                    runs.append((rows.contains { $0[4] as Bool }, origin, list))
                }
                runs.sort { $0.origin < $1.origin }
                let ordered = Self.causalOrder(runs.filter(\.members).map(\.batches), after: vv)
                    + runs.filter { !$0.members }.flatMap(\.batches)
                var out = [SignedBatch]()
                var bytes = 0
                for b in ordered {
                    if !out.isEmpty && bytes + b.payload.count > maxBytes { return out }
                    out.append(b)
                    bytes += b.payload.count
                }
                return out
            }
        }
    }

    /// The batches of origins that wrote membership changes, each origin's in ascending order,
    /// merged so that every batch comes after the membership changes its author had seen (its
    /// context): a receiver holding `vector` can then authorize each batch as it arrives, however
    /// the answer is cut into messages. Between eligible batches the lowest origin goes first; a
    /// context nothing here satisfies (it names changes this node lacks) falls back to that order.
    static func causalOrder(_ runs: [[SignedBatch]], after vector: VersionVector) -> [SignedBatch] {
        let contexts = runs.map { run in run.map { Payload.context(of: $0.payload) ?? [] } }
        var heads = Array(repeating: 0, count: runs.count)
        var held = vector
        var out: [SignedBatch] = []
        out.reserveCapacity(runs.reduce(0) { $0 + $1.count })
        func ready(_ run: Int) -> Bool {
            let origin = runs[run][heads[run]].origin
            return contexts[run][heads[run]].allSatisfy { $0.origin == origin || held[$0.origin] >= $0.seq }
        }
        while true {
            let waiting = runs.indices.filter { heads[$0] < runs[$0].count }
            guard let first = waiting.first else { return out }
            let i = waiting.first(where: ready) ?? first
            let b = runs[i][heads[i]]
            out.append(b)
            heads[i] += 1
            if b.lastSeq > held[b.origin] { held[b.origin] = b.lastSeq }
        }
    }

    /// Highest contiguous sequence held per origin.
    public func versionVector() throws -> VersionVector {
        try guarded { try db.read { db in try VV.all(db) } }
    }

    /// The version vector of what `batches(missingFrom:maxPayloadVersion:)` may give a peer that
    /// accepts payload versions up to `maxPayloadVersion`: each origin capped before its first
    /// batch of a higher version.
    public func versionVector(maxPayloadVersion: UInt8) throws -> VersionVector {
        try guarded {
            try db.read { db in
                var vv = try VV.all(db)
                guard maxPayloadVersion < Payload.v3 else { return vv }
                for (o, cap) in try BatchLog.caps(db, maxPayloadVersion: maxPayloadVersion) where cap < vv[o] { vv[o] = cap }
                return vv
            }
        }
    }
}

/// One `applyRemote` call inside its transaction.
private struct RemoteApply {
    let catalog: Catalog
    let db: Database
    let now: Int64
    var report = ApplyReport()
    var seqs: [Origin: UInt64] = [:]
    /// One applier for the whole call: its statements stay prepared, and asset changes are
    /// applied sorted by id when the call's batches are all in (see `Applier`).
    let applier: Applier

    init(catalog: Catalog, db: Database, now: Int64) {
        self.catalog = catalog
        self.db = db
        self.now = now
        applier = Applier(db: db, deferAssetChanges: true)
    }

    enum Verdict {
        case apply(Payload, hasMembers: Bool)
        /// The context covers membership changes this node does not hold yet.
        case waitForContext
        case reject(CatalogError)
    }

    /// Accepted membership changes, loaded on first use and reloaded after a batch changes them.
    var membership: Membership? = nil

    mutating func seq(_ o: Origin) throws -> UInt64 {
        if let s = seqs[o] { return s }
        let s = try VV.seq(db, o)
        seqs[o] = s
        return s
    }

    mutating func run(_ incoming: [SignedBatch]) throws -> ApplyReport {
        var remaining = try loadPending().map { ($0, true) } + incoming.map { ($0, false) }
        try db.execute(sql: "DELETE FROM pending")
        remaining.sort { a, b in
            a.0.origin != b.0.origin ? a.0.origin < b.0.origin : a.0.firstSeq < b.0.firstSeq
        }
        var progress = true
        while progress {
            progress = false
            var next: [(SignedBatch, Bool)] = []
            for (b, fromPending) in remaining {
                let have = try seq(b.origin)
                if b.lastSeq <= have {
                    if !fromPending { report.skipped += 1 }
                    continue
                }
                if b.firstSeq > have + 1 {
                    next.append((b, fromPending))
                    continue
                }
                if b.firstSeq <= have || b.firstSeq == 0 || b.lastSeq < b.firstSeq {
                    reject(b, CatalogError(.overlap, "batch \(b.origin) \(b.firstSeq)...\(b.lastSeq) overlaps "
                                           + "changes already held up to \(have)"))
                    continue
                }
                switch try verify(b) {
                case .apply(let payload, let members):
                    try apply(b, payload, members: members)
                    progress = true
                case .waitForContext:
                    next.append((b, fromPending))
                case .reject(let e):
                    reject(b, e)
                }
            }
            remaining = next
        }
        try applier.flush()
        try storePending(remaining.map(\.0))
        return report
    }

    mutating func reject(_ b: SignedBatch, _ e: CatalogError) {
        report.rejected.append((b.origin, b.firstSeq, e))
    }

    mutating func verify(_ b: SignedBatch) throws -> Verdict {
        let payload: Payload
        do {
            payload = try Payload.decode(b.payload, level: catalog.formatLevel)
        } catch let e as CatalogError {
            return .reject(CatalogError(.badPayload, "batch from \(b.origin.device.short): \(e.message)"))
        }
        guard UInt64(payload.changes.count) == b.lastSeq - b.firstSeq + 1 else {
            return .reject(CatalogError(.badPayload, "batch from \(b.origin.device.short) claims \(b.firstSeq)...\(b.lastSeq) "
                                        + "but holds \(payload.changes.count) changes"))
        }
        let publicKey: [UInt8]
        let role: Role
        let who = b.origin.device.short
        if case .known(.genesis(let nonce, let pk)) = payload.changes[0] {
            guard b.firstSeq == 1, payload.context.isEmpty, DeviceID(publicKey: pk) == b.origin.device,
                  Catalog.libraryID(founder: pk, nonce: nonce) == catalog.libraryID else {
                return .reject(CatalogError(.wrongLibrary, "genesis from \(who) does not found library "
                                            + "\(catalog.libraryID)"))
            }
            (publicKey, role) = (pk, .admin)
        } else {
            let context = payload.contextVector
            if context[b.origin] >= b.firstSeq {
                return .reject(CatalogError(.badPayload, "batch \(b.origin) \(b.firstSeq)...\(b.lastSeq) claims to "
                                            + "have seen its own later changes"))
            }
            for e in payload.context where try seq(e.origin) < e.seq { return .waitForContext }
            if membership == nil { membership = try Membership.load(db) }
            let standing = membership!.standing(of: b.origin.device, author: b.origin, firstSeq: b.firstSeq,
                                                context: context)
            let notMember = CatalogError(.notMember, "batch from device \(who) rejected: not a member of library "
                                         + "\(catalog.libraryID) in the membership it was written against")
            guard let standing else { return .reject(notMember) }
            if standing.removed {
                return .reject(CatalogError(.notMember, "batch from device \(who) rejected: it was written after the "
                                            + "device learned of its removal from library \(catalog.libraryID)"))
            }
            guard let pk = standing.publicKey, let r = standing.role else { return .reject(notMember) }
            (publicKey, role) = (pk, r)
        }
        guard Identity.verify(signature: b.signature, message: SignedBatch.signedBytes(
            library: catalog.libraryID, origin: b.origin, firstSeq: b.firstSeq, lastSeq: b.lastSeq,
            payload: b.payload), publicKey: publicKey) else {
            return .reject(CatalogError(.badSignature, "batch \(b.origin) \(b.firstSeq)...\(b.lastSeq): signature "
                                        + "does not match device \(b.origin.device.short)'s key"))
        }
        guard role.canWrite else {
            return .reject(CatalogError(.notPermitted, "device \(who) was a read-only partner when it wrote batch "
                                        + "\(b.origin) \(b.firstSeq)...\(b.lastSeq)"))
        }
        var members = false
        // The kinds that touch the member list are a closed set (`CatalogFormat.membershipKinds`),
        // all of them understood by every node: a change this node does not understand never
        // grants or removes membership, so it is authorized like any other write.
        for (i, change) in payload.changes.enumerated() where change.touchesMembers {
            members = true
            if case .known(.genesis) = change, i != 0 {
                return .reject(CatalogError(.badPayload, "genesis may only open a library"))
            }
            guard role == .admin else {
                return .reject(CatalogError(.notPermitted, "device \(b.origin.device.short) (\(role)) may not change members"))
            }
        }
        // People and device links: admin and member devices (SPEC 11). A node below format 3
        // keeps such changes unparsed; `DeferredChanges.apply` checks the same rule on upgrade.
        for change in payload.changes {
            if let op = change.op, let refusal = PeopleRules.refusal(op, role: role, author: b.origin.device) {
                return .reject(CatalogError(.notPermitted, "batch from device \(who) rejected: \(refusal)"))
            }
        }
        return .apply(payload, hasMembers: members)
    }

    mutating func apply(_ b: SignedBatch, _ p: Payload, members: Bool) throws {
        let n = UInt64(p.changes.count)
        let clock = try Meta.clock(db)
        try Meta.set(db, "clock", sql(HLC.receive(clock, remote: p.hlc + n - 1, now: now)))
        for (i, change) in p.changes.enumerated() {
            let dot = Dot(origin: b.origin, seq: b.firstSeq + UInt64(i))
            let hlc = p.hlc + UInt64(i)
            switch change {
            case .known(let op):
                try applier.apply(op, stamp: Stamp(hlc: hlc, dot: dot), dot: dot)
            case .partial(let op, let body):
                try applier.apply(op, stamp: Stamp(hlc: hlc, dot: dot), dot: dot)
                try DeferredChanges.keep(db, dot: dot, hlc: hlc, kind: op.kind, body: body)
                report.deferred += 1
            case .unknown(let kind, let body):
                try DeferredChanges.keep(db, dot: dot, hlc: hlc, kind: kind, body: body)
                report.deferred += 1
            }
        }
        try BatchLog.insert(db, b, members: members)
        if members { membership = nil }
        try VV.set(db, b.origin, b.lastSeq)
        seqs[b.origin] = b.lastSeq
        report.applied += 1
        report.changes += p.changes.count
    }

    func loadPending() throws -> [SignedBatch] {
        try Row.fetchAll(db, sql: "SELECT device, epoch, first_seq, last_seq, payload, signature FROM pending").compactMap {
            guard let h = ($0[0] as Data).hash256 else { return nil }
            return SignedBatch(origin: Origin(device: DeviceID(hash: h), epoch: UInt32(truncatingIfNeeded: $0[1] as Int64)),
                               firstSeq: unsql($0[2]), lastSeq: unsql($0[3]), payload: [UInt8]($0[4] as Data),
                               signature: [UInt8]($0[5] as Data))
        }
    }

    /// Keeps waiting batches, lowest sequence numbers first, within the pool's limits.
    mutating func storePending(_ list: [SignedBatch]) throws {
        let sorted = list.sorted { $0.firstSeq != $1.firstSeq ? $0.firstSeq < $1.firstSeq : $0.origin < $1.origin }
        var bytes = 0
        var count = 0
        for b in sorted {
            guard count < Catalog.maxPendingBatches, bytes + b.payload.count <= Catalog.maxPendingBytes,
                  b.payload.count <= Limits.payloadBytes, b.signature.count == 64 else {
                report.dropped += 1
                continue
            }
            try db.cachedStatement(sql: """
                INSERT OR IGNORE INTO pending(device, epoch, first_seq, last_seq, payload, signature) VALUES(?, ?, ?, ?, ?, ?)
                """).execute(arguments: [b.origin.device.hash.data, Int64(b.origin.epoch), sql(b.firstSeq),
                                         sql(b.lastSeq), Data(b.payload), Data(b.signature)])
            if db.changesCount > 0 {
                count += 1
                bytes += b.payload.count
            }
        }
        report.pending = count
    }
}
