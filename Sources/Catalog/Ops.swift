import Foundation
import GRDB
import HearthCrypto

/// Album fields, each a last-writer-wins register.
enum AlbumField: UInt8, CaseIterable {
    case name = 1, description, cover, deleted
}

/// One change as it travels in a batch payload. Its dot is the batch's first seq plus its index;
/// its clock is the batch's base clock plus its index.
enum Op: Equatable {
    /// First change of a library: the founding device's key and the nonce that, hashed with it, gives the library id.
    case genesis(nonce: [UInt8], publicKey: [UInt8])
    case memberPut(publicKey: [UInt8], name: String, role: Role)
    case memberRemove(DeviceID)
    case importAsset(id: Hash256, fileName: String, original: ObjectRef, fields: [(AssetField, FieldValue)])
    case setField(Hash256, AssetField, FieldValue)
    case purge(Hash256)
    case albumSet(AlbumID, AlbumField, FieldValue)
    case albumAdd(AlbumID, Hash256)
    case albumRemove(AlbumID, Hash256, observed: [Dot])
    case tagAdd(Hash256, String)
    case tagRemove(Hash256, String, observed: [Dot])
    /// Sets fields of a person, each a last-writer-wins register (format 3). A creation sets
    /// them all in one change; fields strictly ascending, at least one.
    case person(PersonID, [(PersonField, FieldValue)])
    /// Which person a device belongs to (nil: none), a last-writer-wins register (format 3).
    case devicePerson(DeviceID, PersonID?)

    static func == (a: Op, b: Op) -> Bool {
        var wa = ByteWriter(), wb = ByteWriter()
        wa.op(a)
        wb.op(b)
        return wa.bytes == wb.bytes
    }

    var touchesMembers: Bool {
        switch self {
        case .genesis, .memberPut, .memberRemove: true
        default: false
        }
    }
}

/// The order of last-writer-wins: clock, then device, then epoch and seq (so no two writes tie).
struct Stamp: Comparable {
    let hlc: UInt64
    let device: [UInt8]
    let epoch: UInt32
    let seq: UInt64

    init(hlc: UInt64, dot: Dot) {
        self.hlc = hlc
        device = dot.origin.device.hash.bytes
        epoch = dot.origin.epoch
        seq = dot.seq
    }

    init(hlc: UInt64, device: [UInt8], epoch: UInt32, seq: UInt64) {
        self.hlc = hlc
        self.device = device
        self.epoch = epoch
        self.seq = seq
    }

    static func < (a: Stamp, b: Stamp) -> Bool {
        if a.hlc != b.hlc { return a.hlc < b.hlc }
        if a.device != b.device { return a.device.lexicographicallyPrecedes(b.device) }
        if a.epoch != b.epoch { return a.epoch < b.epoch }
        return a.seq < b.seq
    }
}

/// A hybrid logical clock packed as physical milliseconds << 16 | counter.
enum HLC {
    /// How far ahead of local time a remote clock may pull ours.
    static let maxClockSkewMillis: Int64 = 5 * 60 * 1000

    /// The next local timestamp after `clock`, at wall time `now` (ms).
    static func tick(_ clock: UInt64, now: Int64) -> UInt64 {
        let phys = UInt64(max(now, 0)) << 16
        return max(phys, clock &+ 1)
    }

    /// Our clock after seeing `remote` at `now`: never beyond now + max skew, however far ahead `remote` is.
    static func receive(_ clock: UInt64, remote: UInt64, now: Int64) -> UInt64 {
        let limit = (UInt64(max(now, 0) + maxClockSkewMillis) << 16) | 0xffff
        return max(clock, min(remote, limit))
    }
}

/// One change of a decoded payload: understood and applied now, or kept for a later upgrade.
enum Change {
    case known(Op)
    /// A change of a kind, or writing a field, above this node's format level (or unknown to this
    /// build): its kind and body as a version 3 payload carries them. It is stored, counted and
    /// relayed (inside its batch) and applied once the node is opened at a level that knows it.
    case unknown(kind: UInt64, body: [UInt8])
    /// An import that also carries fields above this node's level: `op` holds the fields it
    /// understands and applies now; the whole body is kept so that an upgrade applies the rest.
    case partial(Op, body: [UInt8])

    /// The part applied now.
    var op: Op? {
        switch self {
        case .known(let op), .partial(let op, _): op
        case .unknown: nil
        }
    }

    var touchesMembers: Bool {
        switch self {
        case .known(let op), .partial(let op, _): op.touchesMembers
        case .unknown(let kind, _): CatalogFormat.membershipKinds.contains(kind)
        }
    }
}

/// A decoded payload: version (2 or 3), base clock, the author's membership context, then the changes.
///
/// The context lists, for every origin that had written membership changes the author held
/// when it committed, the highest sequence number of such a change (sorted by origin, each
/// seq > 0). A receiver authorizes the batch against the membership those changes make (see
/// `Membership`), so the verdict is the same on every node whatever order batches arrive in.
///
/// Version 2 (release 6847644) writes each change as a kind byte and its fields, which a reader
/// must understand to find the next change. Version 3 writes each change as kind, byte length
/// and body, and each field of an import as field id, byte length and value, so that a reader
/// skips (and keeps) what it does not understand. A writer uses version 2 whenever every change
/// is of format level 1, so that nodes of that release keep syncing; version 3 otherwise.
struct Payload {
    static let v2: UInt8 = 2
    static let v3: UInt8 = 3
    var hlc: UInt64
    var context: [(origin: Origin, seq: UInt64)]
    var changes: [Change]

    init(hlc: UInt64, context: [(origin: Origin, seq: UInt64)] = [], ops: [Op]) {
        self.init(hlc: hlc, context: context, changes: ops.map { .known($0) })
    }

    init(hlc: UInt64, context: [(origin: Origin, seq: UInt64)] = [], changes: [Change]) {
        self.hlc = hlc
        self.context = context
        self.changes = changes
    }

    /// The changes understood (the known part of a partial import included); tests and the
    /// writer's own batches, where nothing is unknown, read this.
    var ops: [Op] { changes.compactMap(\.op) }

    /// The context as a version vector (origins it does not name map to 0).
    var contextVector: VersionVector {
        VersionVector(Dictionary(context.map { ($0.origin, $0.seq) }, uniquingKeysWith: max))
    }

    /// 2 when every change is of format level 1, else 3.
    var version: UInt8 {
        changes.allSatisfy { if case .known(let op) = $0 { op.format <= CatalogFormat.base } else { false } }
            ? Self.v2 : Self.v3
    }

    func encode() -> [UInt8] {
        let v = version
        var w = ByteWriter()
        w.u8(v)
        w.varint(hlc)
        w.varint(UInt64(context.count))
        for e in context {
            w.hash(e.origin.device.hash)
            w.varint(UInt64(e.origin.epoch))
            w.varint(e.seq)
        }
        w.varint(UInt64(changes.count))
        for c in changes {
            if v == Self.v2, case .known(let op) = c {
                w.op(op)
                continue
            }
            switch c {
            case .known(let op):
                w.varint(op.kind)
                w.data(ByteWriter.v3Body(op))
            case .unknown(let kind, let body):
                w.varint(kind)
                w.data(body)
            case .partial(let op, let body):
                w.varint(op.kind)
                w.data(body)
            }
        }
        return w.bytes
    }

    /// The payload version of an encoded payload (its first byte), nil when empty.
    static func version(of bytes: [UInt8]) -> UInt8? { bytes.first }

    /// Only the membership context of an encoded payload, checked as `decode` checks it (nil if
    /// the header does not parse); the changes are not read.
    static func context(of bytes: [UInt8]) -> [(origin: Origin, seq: UInt64)]? {
        var r = ByteReader(bytes)
        return try? readHeader(&r).context
    }

    /// Version, base clock and membership context: everything before the changes.
    private static func readHeader(_ r: inout ByteReader) throws
        -> (version: UInt8, hlc: UInt64, context: [(origin: Origin, seq: UInt64)]) {
        let v = try r.u8()
        guard v == v2 || v == v3 else { throw ByteReader.fail("unsupported version \(v)") }
        let hlc = try r.varint()
        let m = try r.count(max: Limits.contextOrigins, "context origin")
        guard m <= (r.bytes.count - r.pos) / 34 else { throw ByteReader.fail("truncated context") }
        var context = [(origin: Origin, seq: UInt64)]()
        context.reserveCapacity(m)
        for _ in 0..<m {
            let d = try r.dot()
            guard d.seq > 0 else { throw ByteReader.fail("context entry with sequence 0") }
            if let last = context.last, !(last.origin < d.origin) {
                throw ByteReader.fail("context origins not in strictly ascending order")
            }
            context.append((d.origin, d.seq))
        }
        return (v, hlc, context)
    }

    /// Decodes a payload for a node that understands format levels up to `level`. Changes above
    /// it come back as `.unknown` or `.partial`; a payload that does not parse (a bad header,
    /// lengths that do not fit, a known change with a bad body, trailing bytes) throws.
    static func decode(_ bytes: [UInt8], level: UInt16 = CatalogFormat.current) throws -> Payload {
        guard bytes.count <= Limits.payloadBytes else { throw ByteReader.fail("payload larger than 32 MiB") }
        var r = ByteReader(bytes)
        let (version, hlc, context) = try readHeader(&r)
        let n = try r.count(max: Limits.opsPerBatch, "change")
        guard n > 0, n <= bytes.count else { throw ByteReader.fail("change count \(n) does not fit the payload") }
        guard hlc <= UInt64.max - UInt64(n) else { throw ByteReader.fail("clock overflow") }
        var changes = [Change]()
        changes.reserveCapacity(n)
        for _ in 0..<n {
            if version == v2 {
                let op = try r.op()
                guard op.format <= CatalogFormat.base else {
                    throw ByteReader.fail("a version 2 payload carries a change of format \(op.format)")
                }
                changes.append(.known(op))
            } else {
                let kind = try r.varint()
                guard kind >= 1, kind <= Limits.maxKind else { throw ByteReader.fail("change kind \(kind) out of range") }
                let body = try r.data(max: Limits.payloadBytes)
                changes.append(try ByteReader.v3Change(kind: kind, body: body, level: level))
            }
        }
        guard r.atEnd else { throw ByteReader.fail("trailing bytes") }
        return Payload(hlc: hlc, context: context, changes: changes)
    }
}

extension ByteWriter {
    mutating func op(_ op: Op) {
        switch op {
        case .genesis(let nonce, let pk): u8(1); raw(nonce); raw(pk)
        case .memberPut(let pk, let name, let role): u8(2); raw(pk); string(name); u8(role.rawValue)
        case .memberRemove(let d): u8(3); hash(d.hash)
        case .importAsset(let id, let name, let original, let fields):
            u8(4); hash(id); string(name); object(original)
            varint(UInt64(fields.count))
            for (f, v) in fields { u8(f.rawValue); value(v) }
        case .setField(let id, let f, let v): u8(5); hash(id); u8(f.rawValue); value(v)
        case .purge(let id): u8(6); hash(id)
        case .albumSet(let a, let f, let v): u8(7); raw(a.bytes); u8(f.rawValue); value(v)
        case .albumAdd(let a, let id): u8(8); raw(a.bytes); hash(id)
        case .albumRemove(let a, let id, let dots):
            u8(9); raw(a.bytes); hash(id); varint(UInt64(dots.count))
            for d in dots { dot(d) }
        case .tagAdd(let id, let tag): u8(10); hash(id); string(tag)
        case .tagRemove(let id, let tag, let dots):
            u8(11); hash(id); string(tag); varint(UInt64(dots.count))
            for d in dots { dot(d) }
        case .person(let p, let fields):
            u8(12); raw(p.bytes); varint(UInt64(fields.count))
            for (f, v) in fields { u8(f.rawValue); value(v) }
        case .devicePerson(let d, let p):
            u8(13); hash(d.hash)
            if let p { u8(1); raw(p.bytes) } else { u8(0) }
        }
    }

    /// A change's body in payload version 3 (what follows its kind and length). An import's
    /// fields are each field id (varint), value length (varint) and value; a field edit names its
    /// field as a varint; every other kind's body is its version 2 encoding without the kind byte.
    static func v3Body(_ op: Op) -> [UInt8] {
        var w = ByteWriter()
        switch op {
        case .importAsset(let id, let name, let original, let fields):
            w.hash(id); w.string(name); w.object(original)
            w.varint(UInt64(fields.count))
            for (f, v) in fields {
                w.varint(UInt64(f.rawValue))
                w.data(Schema.encodeValue(v))
            }
        case .setField(let id, let f, let v):
            w.hash(id); w.varint(UInt64(f.rawValue)); w.value(v)
        default:
            w.op(op)
            w.bytes.removeFirst()
        }
        return w.bytes
    }
}

extension ByteReader {
    mutating func field() throws -> (AssetField, FieldValue) {
        let raw = try u8()
        guard let f = AssetField(rawValue: raw) else { throw Self.fail("unknown asset field \(raw)") }
        let v = try value()
        if let problem = validate(f, v) { throw Self.fail(problem) }
        return (f, v)
    }

    mutating func album() throws -> AlbumID { AlbumID(bytes: try raw(16))! }

    mutating func dots() throws -> [Dot] {
        let n = try count(max: Limits.observedDots, "observed dot")
        guard n <= (bytes.count - pos) / 34 else { throw Self.fail("truncated dot list") }
        return try (0..<n).map { _ in try dot() }
    }

    mutating func tag() throws -> String {
        let t = try string(max: Limits.tagBytes)
        guard Tags.isValid(t) else { throw Self.fail("invalid tag \"\(t)\"") }
        return t
    }

    mutating func op() throws -> Op { try opBody(UInt64(try u8())) }

    /// A change of kind `kind` (1...11) as version 2 writes it after the kind byte.
    mutating func opBody(_ kind: UInt64) throws -> Op {
        switch kind {
        case 1: return .genesis(nonce: try raw(16), publicKey: try raw(32))
        case 2:
            let pk = try raw(32)
            let name = try string(max: Limits.nameBytes)
            let r = try u8()
            guard let role = Role(rawValue: r) else { throw Self.fail("unknown role \(r)") }
            return .memberPut(publicKey: pk, name: name, role: role)
        case 3: return .memberRemove(DeviceID(hash: try hash()))
        case 4:
            let id = try hash()
            let name = try string(max: Limits.nameBytes)
            let original = try object()
            let n = try count(max: AssetField.allCases.count, "field")
            var fields = [(AssetField, FieldValue)]()
            fields.reserveCapacity(n)
            for _ in 0..<n {
                let fv = try field()
                guard !fields.contains(where: { $0.0 == fv.0 }) else { throw Self.fail("field \(fv.0) repeated") }
                fields.append(fv)
            }
            return .importAsset(id: id, fileName: name, original: original, fields: fields)
        case 5:
            let id = try hash()
            let (f, v) = try field()
            return .setField(id, f, v)
        case 6: return .purge(try hash())
        case 7:
            let a = try album()
            let raw = try u8()
            guard let f = AlbumField(rawValue: raw) else { throw Self.fail("unknown album field \(raw)") }
            let v = try value()
            guard AlbumRules.valid(f, v) else { throw Self.fail("bad value for album field \(f)") }
            return .albumSet(a, f, v)
        case 8: return .albumAdd(try album(), try hash())
        case 9: return .albumRemove(try album(), try hash(), observed: try dots())
        case 10: return .tagAdd(try hash(), try tag())
        case 11: return .tagRemove(try hash(), try tag(), observed: try dots())
        case 12:
            let p = PersonID(bytes: try raw(16))!
            let n = try count(max: PersonField.allCases.count, "person field")
            guard n > 0 else { throw Self.fail("a person change sets no field") }
            var fields = [(PersonField, FieldValue)]()
            for _ in 0..<n {
                let raw = try u8()
                guard let f = PersonField(rawValue: raw) else { throw Self.fail("unknown person field \(raw)") }
                guard fields.last.map({ $0.0.rawValue < raw }) ?? true else {
                    throw Self.fail("person fields not in strictly ascending order")
                }
                let v = try value()
                if let problem = PeopleRules.validate(f, v) { throw Self.fail(problem) }
                fields.append((f, v))
            }
            return .person(p, fields)
        case 13:
            let d = DeviceID(hash: try hash())
            switch try u8() {
            case 0: return .devicePerson(d, nil)
            case 1: return .devicePerson(d, PersonID(bytes: try raw(16))!)
            case let f: throw Self.fail("bad person flag \(f)")
            }
        case let t: throw Self.fail("unknown change type \(t)")
        }
    }

    /// One version 3 change, for a node at format `level`: known when its kind and every field it
    /// names are at most `level`; partial for an import with fields above it; unknown otherwise.
    /// A kind this node knows whose body does not parse exactly throws.
    static func v3Change(kind: UInt64, body: [UInt8], level: UInt16) throws -> Change {
        guard let kindLevel = CatalogFormat.level(kind: kind), kindLevel <= level else {
            return .unknown(kind: kind, body: body)
        }
        var r = ByteReader(body)
        let change: Change
        switch kind {
        case 4:
            let id = try r.hash()
            let name = try r.string(max: Limits.nameBytes)
            let original = try r.object()
            let n = try r.count(max: Limits.importFields, "field")
            var fields = [(AssetField, FieldValue)]()
            var skipped = false
            var last: UInt64 = 0
            for _ in 0..<n {
                let fid = try r.varint()
                guard fid >= 1, fid <= Limits.maxFieldID else { throw Self.fail("field id \(fid) out of range") }
                guard fid > last else { throw Self.fail("import fields not in strictly ascending order") }
                last = fid
                let raw = try r.data(max: Limits.payloadBytes)
                guard let f = AssetField(rawValue: UInt8(truncatingIfNeeded: fid)), fid <= 255, f.format <= level else {
                    skipped = true
                    continue
                }
                var vr = ByteReader(raw)
                let v = try vr.value()
                guard vr.atEnd else { throw Self.fail("trailing bytes in the value of field \(f)") }
                if let problem = validate(f, v) { throw Self.fail(problem) }
                fields.append((f, v))
            }
            let op = Op.importAsset(id: id, fileName: name, original: original, fields: fields)
            change = skipped ? .partial(op, body: body) : .known(op)
        case 5:
            let id = try r.hash()
            let fid = try r.varint()
            guard fid >= 1, fid <= Limits.maxFieldID else { throw Self.fail("field id \(fid) out of range") }
            guard let f = AssetField(rawValue: UInt8(truncatingIfNeeded: fid)), fid <= 255, f.format <= level else {
                return .unknown(kind: kind, body: body)
            }
            let v = try r.value()
            if let problem = validate(f, v) { throw Self.fail(problem) }
            change = .known(.setField(id, f, v))
        default:
            change = .known(try r.opBody(kind))
        }
        guard r.atEnd else { throw Self.fail("trailing bytes in a change of kind \(kind)") }
        return change
    }
}

enum AlbumRules {
    static func valid(_ f: AlbumField, _ v: FieldValue) -> Bool {
        switch (f, v) {
        case (.name, .text(let s)): !s.isEmpty && s.utf8.count <= Limits.nameBytes
        case (.description, .null), (.cover, .null): true
        case (.description, .text(let s)): s.utf8.count <= Limits.textBytes
        case (.cover, .text(let s)): Hash256(hex: s) != nil
        case (.deleted, .bool): true
        default: false
        }
    }
}

enum Tags {
    /// A tag is slash-separated non-empty components, such as `Places/Japan`.
    static func isValid(_ t: String) -> Bool {
        !t.isEmpty && t.utf8.count <= Limits.tagBytes && !t.split(separator: "/", omittingEmptySubsequences: false)
            .contains(where: \.isEmpty)
    }
}

/// The last-writer-wins register an op writes, read for the clock of the value it would replace.
enum Registers {
    /// The highest clock stored for the register `op` writes; nil when `op` writes none or it is unset.
    static func storedHLC(_ db: Database, _ op: Op) throws -> UInt64? {
        switch op {
        case .setField(let id, let f, _):
            return try Int64.fetchOne(db.cachedStatement(sql: "SELECT hlc FROM field_reg WHERE asset = ? AND field = ?"),
                                      arguments: [id.data, Int64(f.rawValue)]).map(unsql)
        case .albumSet(let a, let f, _):
            return try Int64.fetchOne(db.cachedStatement(sql: "SELECT hlc FROM album_reg WHERE album = ? AND field = ?"),
                                      arguments: [Data(a.bytes), Int64(f.rawValue)]).map(unsql)
        case .person(let p, let fields):
            var top: UInt64? = nil
            for (f, _) in fields {
                if let h = try Int64.fetchOne(db.cachedStatement(sql: "SELECT hlc FROM person_reg WHERE person = ? AND field = ?"),
                                              arguments: [Data(p.bytes), Int64(f.rawValue)]).map(unsql) {
                    top = max(top ?? 0, h)
                }
            }
            return top
        case .devicePerson(let d, _):
            return try Int64.fetchOne(db.cachedStatement(sql: "SELECT hlc FROM device_person WHERE device = ?"),
                                      arguments: [d.hash.data]).map(unsql)
        case .memberPut(let pk, _, _):
            return try memberHLC(db, DeviceID(publicKey: pk))
        case .memberRemove(let dev):
            return try memberHLC(db, dev)
        default:
            return nil
        }
    }

    /// A member record is decided by every change to it (see `Membership.materialize`).
    private static func memberHLC(_ db: Database, _ target: DeviceID) throws -> UInt64? {
        try Int64.fetchOne(db.cachedStatement(sql: "SELECT MAX(hlc) FROM member_op WHERE target = ?"),
                           arguments: [target.hash.data]).map(unsql)
    }
}
