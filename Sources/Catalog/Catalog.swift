import Foundation
import GRDB
import HearthCrypto

/// One library's catalog: a delta-state CRDT persisted in SQLite.
///
/// Every `commit` is one SQLite transaction and produces one `SignedBatch`; `applyRemote` takes
/// batches from any node in any order. Two replicas that hold the same batches show the same
/// state and the same `digest()`. Time (`now`, ms) always comes in as an argument.
///
/// Two replicas converge like this:
/// ```swift
/// let a = try Catalog.create(path: nil, identity: ida, personName: "Ann", nonce: nonce, now: t)
/// let b = try Catalog.join(path: nil, library: a.libraryID, identity: idb)
/// try a.commit([.addMember(publicKey: idb.publicKey, name: "Bob", role: .member)], now: t)
/// try b.applyRemote(a.batches(missingFrom: b.versionVector()), now: t)
/// try b.commit([.importAsset(imp)], now: t)
/// try a.applyRemote(b.batches(missingFrom: a.versionVector()), now: t)
/// assert(try a.digest() == b.digest())
/// ```
public final class Catalog: Sendable {
    let db: any DatabaseWriter
    let label: String
    public let identity: Identity
    public let libraryID: LibraryID
    /// The catalog format level this replica understands (`CatalogFormat`): changes above it
    /// are kept, not applied, and local edits above it are refused. Lower than
    /// `CatalogFormat.current` only to run an older node with this code (tests, the simulator).
    public let formatLevel: UInt16

    public var device: DeviceID { identity.deviceID }

    private init(db: any DatabaseWriter, label: String, identity: Identity, libraryID: LibraryID, formatLevel: UInt16) {
        precondition((CatalogFormat.base...CatalogFormat.current).contains(formatLevel), "unknown catalog format level")
        self.db = db
        self.label = label
        self.identity = identity
        self.libraryID = libraryID
        self.formatLevel = formatLevel
    }

    /// The library id a founding key and nonce give: the first 16 bytes of BLAKE2b-256(publicKey ‖ nonce).
    public static func libraryID(founder publicKey: [UInt8], nonce: [UInt8]) -> LibraryID {
        LibraryID(bytes: Array(Blake2b.hash(publicKey + nonce).prefix(16)))!
    }

    /// Creates a new library founded by `identity`, which becomes its first admin. The genesis batch
    /// records the founder's key and `nonce` (16 random bytes), so anyone can check the library id.
    /// - Parameter path: a database file, or nil for an in-memory catalog.
    public static func create(path: String?, identity: Identity, personName: String, nonce: [UInt8],
                              now: Int64, formatLevel: UInt16 = CatalogFormat.current) throws -> Catalog {
        precondition(nonce.count == 16, "nonce must be 16 bytes")
        guard !personName.isEmpty, personName.utf8.count <= Limits.nameBytes else {
            throw CatalogError(.invalidEdit, "person name must be 1...\(Limits.nameBytes) bytes")
        }
        let lib = libraryID(founder: identity.publicKey, nonce: nonce)
        let cat = try make(path: path, identity: identity, library: lib, formatLevel: formatLevel)
        let ops: [Op] = [.genesis(nonce: nonce, publicKey: identity.publicKey),
                         .memberPut(publicKey: identity.publicKey, name: personName, role: .admin)]
        try cat.guarded { try cat.db.write { db in _ = try cat.commitOps(db, ops, now: now) } }
        return cat
    }

    /// A fresh replica that knows only the library id; it fills through `applyRemote`, starting
    /// with the genesis batch (verified against the id) and the batch that made this device a member.
    public static func join(path: String?, library: LibraryID, identity: Identity,
                            formatLevel: UInt16 = CatalogFormat.current) throws -> Catalog {
        try make(path: path, identity: identity, library: library, formatLevel: formatLevel)
    }

    /// Opens an existing catalog file, migrated to this build's schema (`CatalogMigrations`). One
    /// last opened at a lower format level applies the changes it kept and the new
    /// level understands (see `DeferredChanges`). A catalog already opened at a higher level than
    /// `formatLevel` is refused: what it applied cannot be taken back.
    public static func open(path: String, identity: Identity,
                            formatLevel: UInt16 = CatalogFormat.current) throws -> Catalog {
        guard FileManager.default.fileExists(atPath: path) else {
            throw CatalogError(.database, "\(path): no catalog database there")
        }
        let writer = try writerFor(path: path, existing: true)
        let (lib, dev): (Data?, Data?)
        do {
            (lib, dev) = try writer.read { db in
                (try Data.fetchOne(db, sql: "SELECT value FROM meta WHERE key='library'"),
                 try Data.fetchOne(db, sql: "SELECT value FROM meta WHERE key='device'"))
            }
        } catch {
            throw CatalogError(databaseError: error, label: path, action: "reading")
        }
        guard let lib, let libID = LibraryID(bytes: [UInt8](lib)) else {
            throw CatalogError(.database, "\(path): not a Hearth catalog (no library id)")
        }
        guard dev.map({ [UInt8]($0) }) == identity.deviceID.hash.bytes else {
            throw CatalogError(.notPermitted, "\(path): catalog belongs to another device identity")
        }
        let cat = Catalog(db: writer, label: path, identity: identity, libraryID: libID, formatLevel: formatLevel)
        try cat.prepare()
        return cat
    }

    /// This catalog opened at a higher format level (an upgrade in place, as `open` does for a
    /// file): the kept changes the new level understands are applied.
    public func upgraded(to level: UInt16) throws -> Catalog {
        let cat = Catalog(db: db, label: label, identity: identity, libraryID: libraryID, formatLevel: level)
        try cat.prepare()
        return cat
    }

    /// Brings an opened (and migrated) database to this catalog's format level.
    private func prepare() throws {
        try guarded {
            try db.write { db in
                let stored = UInt16(clamping: max(try Meta.int(db, "format"), Int64(CatalogFormat.base)))
                if stored > formatLevel {
                    throw CatalogError(.database, "\(label): catalog was opened at format level \(stored); it cannot "
                                       + "be opened at \(formatLevel)")
                }
                if stored < formatLevel {
                    _ = try DeferredChanges.apply(db, level: formatLevel)
                    try Meta.set(db, "format", Int64(formatLevel))
                }
            }
        }
    }

    /// Changes held but not understood at this catalog's format level (see `DeferredChanges`).
    public func deferredChangeCount() throws -> Int {
        try guarded { try db.read { db in try DeferredChanges.count(db) } }
    }

    /// - Parameter existing: the file must already be a catalog (nothing is created in another database).
    private static func writerFor(path: String, existing: Bool) throws -> any DatabaseWriter {
        var config = Configuration()
        // Other `hearth` processes (a running `hearth serve`) may hold the write lock for a moment.
        config.busyMode = .timeout(10)
        // A 32 MiB page cache and 256 MiB of memory-mapped reads keep a million-asset catalog's hot pages
        // out of pread/pwrite; NORMAL sync is durable across process crashes in WAL mode.
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL; PRAGMA cache_size = -32768; "
                           + "PRAGMA mmap_size = 268435456; PRAGMA temp_store = MEMORY")
        }
        let pool: DatabasePool
        do {
            pool = try DatabasePool(path: path, configuration: config)
        } catch {
            throw CatalogError(databaseError: error, label: path, action: "opening")
        }
        try migrate(pool, label: path, existing: existing)
        return pool
    }

    /// Brings the database to this binary's schema (see `CatalogMigrations`).
    private static func migrate(_ writer: any DatabaseWriter, label: String, existing: Bool) throws {
        do {
            try CatalogMigrations.migrate(writer, label: label, existing: existing)
        } catch let e as CatalogError {
            throw e
        } catch {
            throw CatalogError(databaseError: error, label: label, action: "upgrading")
        }
    }

    private static func make(path: String?, identity: Identity, library: LibraryID, formatLevel: UInt16) throws -> Catalog {
        let writer: any DatabaseWriter
        if let path {
            if FileManager.default.fileExists(atPath: path) {
                throw CatalogError(.database, "\(path): a file already exists there; open it instead")
            }
            writer = try writerFor(path: path, existing: false)
        } else {
            writer = try DatabaseQueue()
            try migrate(writer, label: "in-memory catalog", existing: false)
        }
        let cat = Catalog(db: writer, label: path ?? "in-memory catalog", identity: identity, libraryID: library,
                          formatLevel: formatLevel)
        try cat.guarded {
            try writer.write { db in
                let meta: [(String, DatabaseValueConvertible)] = [
                    ("library", Data(library.bytes)),
                    ("device", identity.deviceID.hash.data), ("epoch", 1), ("clock", 0),
                    ("format", Int64(formatLevel)),
                ]
                for (k, v) in meta {
                    try db.execute(sql: "INSERT INTO meta(key, value) VALUES(?, ?)", arguments: [k, v])
                }
            }
        }
        return cat
    }

    /// Runs `body`, turning database failures into a `CatalogError` that names the catalog and
    /// keeps SQLite's cause (busy, full, corrupt, read-only, I/O).
    func guarded<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let e as CatalogError {
            throw e
        } catch {
            throw CatalogError(databaseError: error, label: label, action: "writing")
        }
    }

    // MARK: - Local origin and epochs

    /// The origin this replica writes under now.
    public func origin() throws -> Origin {
        try guarded { try db.read { db in try Origin(device: device, epoch: Meta.epoch(db)) } }
    }

    /// Starts a new epoch (for a restored or rebuilt database): later commits use fresh sequence
    /// numbers under `Origin(device, newEpoch)`, above every epoch of this device seen so far and `atLeast`.
    @discardableResult
    public func startNewEpoch(atLeast: UInt32 = 0) throws -> Origin {
        try guarded {
            try db.write { db in
                let seen = try Int64.fetchOne(db, sql: "SELECT MAX(epoch) FROM vv WHERE device = ?",
                                              arguments: [device.hash.data]) ?? 0
                let current = Int64(try Meta.epoch(db))
                let next = max(seen + 1, current + 1, Int64(atLeast))
                precondition(next <= Int64(UInt32.max), "epochs exhausted")
                try Meta.set(db, "epoch", next)
                return Origin(device: device, epoch: UInt32(next))
            }
        }
    }

    // MARK: - Local commits

    /// Applies `edits` as one transaction and returns the one signed batch that records them.
    /// Throws (and changes nothing) when any edit names an unknown id or is not permitted.
    @discardableResult
    public func commit(_ edits: [Edit], now: Int64) throws -> SignedBatch {
        precondition(!edits.isEmpty, "commit needs at least one edit")
        return try guarded {
            try db.write { db in
                guard let me = try Members.row(db, device), !me.removed, let role = me.role, role.canWrite else {
                    throw CatalogError(.notPermitted,
                                       "this device (\(device.short)) is not a member allowed to write to library \(libraryID)")
                }
                let builder = EditBuilder(db: db, role: role, now: now, formatLevel: formatLevel, device: device)
                return try commitOps(db, edits.count, now: now) { i in try builder.op(for: edits[i]) }
            }
        }
    }

    func commitOps(_ db: Database, _ ops: [Op], now: Int64) throws -> SignedBatch {
        try commitOps(db, ops.count, now: now) { ops[$0] }
    }

    /// Gives each op its dot and clock, applies it, then signs and logs the batch with the membership
    /// context it was written in (taken before its own ops, which never authorize the batch that carries them).
    ///
    /// A write to a last-writer-wins register (an asset field, an album field, a member record)
    /// replaces the value this node holds, so it gets a clock above that value's: the batch's base
    /// is raised until every such op `i` has `base + i > stored hlc`. A change made after seeing
    /// another change of the same register then wins on every node, however far apart the two
    /// devices' clocks are. Ops are made one at a time against the state their predecessors
    /// leave, so they are first applied at the ticked base inside a savepoint; only when a raise
    /// is needed is that rolled back and the same ops applied again at the raised base.
    private func commitOps(_ db: Database, _ count: Int, now: Int64, make: (Int) throws -> Op) throws -> SignedBatch {
        let origin = Origin(device: device, epoch: try Meta.epoch(db))
        let seq = try VV.seq(db, origin)
        let clock = try Meta.clock(db)
        let ticked = HLC.tick(clock, now: now)
        let context = try Membership.context(db)
        var ops = [Op]()
        ops.reserveCapacity(count)
        var base = ticked
        try db.inSavepoint {
            let applier = Applier(db: db)
            for i in 0..<count {
                let op = try make(i)
                // Read before op `i` applies; an earlier op of this batch on the same register
                // left `ticked + j` (j < i) there, which never raises the base.
                if let stored = try Registers.storedHLC(db, op) {
                    let index = UInt64(i)
                    // A stored clock too close to the top of the range to beat is left to win.
                    if stored < UInt64.max - UInt64(count), stored + 1 > index {
                        base = max(base, stored + 1 - index)
                    }
                }
                let dot = Dot(origin: origin, seq: seq + 1 + UInt64(i))
                try applier.apply(op, stamp: Stamp(hlc: ticked + UInt64(i), dot: dot), dot: dot)
                ops.append(op)
            }
            return base == ticked ? .commit : .rollback
        }
        if base != ticked {
            let applier = Applier(db: db)
            for (i, op) in ops.enumerated() {
                let dot = Dot(origin: origin, seq: seq + 1 + UInt64(i))
                try applier.apply(op, stamp: Stamp(hlc: base + UInt64(i), dot: dot), dot: dot)
            }
        }
        let payload = Payload(hlc: base, context: context, ops: ops).encode()
        guard payload.count <= Limits.payloadBytes else {
            throw CatalogError(.tooLarge, "one commit may hold at most 32 MiB of changes; split these \(count) edits")
        }
        let last = seq + UInt64(count)
        let sig = identity.sign(SignedBatch.signedBytes(library: libraryID, origin: origin, firstSeq: seq + 1,
                                                        lastSeq: last, payload: payload))
        let batch = SignedBatch(origin: origin, firstSeq: seq + 1, lastSeq: last, payload: payload, signature: sig)
        try BatchLog.insert(db, batch, members: ops.contains(where: \.touchesMembers))
        try VV.set(db, origin, last)
        // The clock moves past the ticked stamps, and past a raised base only as far as receiving
        // it would (at most `maxClockSkewMillis` beyond now): the raise makes these writes win
        // their registers, it must not drag every later stamp of this node into a far-off
        // future. Later writes to a raised register are raised again by the rule above, and
        // stamps of one origin need not increase (seqs tell its changes apart).
        let lastTicked = ticked + UInt64(count - 1)
        try Meta.set(db, "clock", sql(HLC.receive(lastTicked, remote: base + UInt64(count - 1), now: now)))
        return batch
    }
}

/// The `meta` key-value table.
enum Meta {
    static func int(_ db: Database, _ key: String) throws -> Int64 {
        try Int64.fetchOne(db.cachedStatement(sql: "SELECT value FROM meta WHERE key = ?"), arguments: [key]) ?? 0
    }
    static func set(_ db: Database, _ key: String, _ value: DatabaseValueConvertible) throws {
        try db.cachedStatement(sql: "INSERT OR REPLACE INTO meta(key, value) VALUES(?, ?)").execute(arguments: [key, value])
    }
    static func epoch(_ db: Database) throws -> UInt32 { UInt32(truncatingIfNeeded: try int(db, "epoch")) }
    static func clock(_ db: Database) throws -> UInt64 { unsql(try int(db, "clock")) }
}

/// The version vector table.
enum VV {
    static func seq(_ db: Database, _ o: Origin) throws -> UInt64 {
        let s = try Int64.fetchOne(db.cachedStatement(sql: "SELECT seq FROM vv WHERE device = ? AND epoch = ?"),
                                   arguments: [o.device.hash.data, Int64(o.epoch)])
        return unsql(s ?? 0)
    }
    static func set(_ db: Database, _ o: Origin, _ seq: UInt64) throws {
        try db.cachedStatement(sql: "INSERT OR REPLACE INTO vv(device, epoch, seq) VALUES(?, ?, ?)")
            .execute(arguments: [o.device.hash.data, Int64(o.epoch), sql(seq)])
    }
    static func all(_ db: Database) throws -> VersionVector {
        var v = VersionVector()
        for row in try Row.fetchAll(db, sql: "SELECT device, epoch, seq FROM vv") {
            guard let h = (row[0] as Data).hash256 else { continue }
            v[Origin(device: DeviceID(hash: h), epoch: UInt32(truncatingIfNeeded: row[1] as Int64))] = unsql(row[2])
        }
        return v
    }
}

/// The log of every batch held, own and remote, re-served unchanged to peers.
enum BatchLog {
    static func insert(_ db: Database, _ b: SignedBatch, members: Bool) throws {
        try db.cachedStatement(sql: """
            INSERT OR IGNORE INTO batch_log(device, epoch, first_seq, last_seq, members, payload, signature,
                payload_version) VALUES(?, ?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [b.origin.device.hash.data, Int64(b.origin.epoch), sql(b.firstSeq),
                                     sql(b.lastSeq), members, Data(b.payload), Data(b.signature),
                                     Int64(b.payload.first ?? 0)])
    }

    /// For each origin with a logged batch whose payload version is above `maxPayloadVersion`,
    /// the last sequence number before the first such batch: what a peer that accepts only
    /// versions up to `maxPayloadVersion` may be given of that origin (a contiguous prefix).
    static func caps(_ db: Database, maxPayloadVersion: UInt8) throws -> [Origin: UInt64] {
        var out: [Origin: UInt64] = [:]
        for row in try Row.fetchAll(db, sql: """
            SELECT device, epoch, MIN(first_seq) FROM batch_log WHERE payload_version > 2 AND payload_version > ?
            GROUP BY device, epoch
            """, arguments: [Int64(maxPayloadVersion)]) {
            guard let h = (row[0] as Data).hash256 else { continue }
            out[Origin(device: DeviceID(hash: h), epoch: UInt32(truncatingIfNeeded: row[1] as Int64))] = unsql(row[2]) - 1
        }
        return out
    }
}
