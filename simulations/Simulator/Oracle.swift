import Catalog
import HearthCrypto

/// An LWW stamp as the catalog orders them: (clock, device, epoch, sequence).
struct SimStamp: Comparable {
    let hlc: UInt64
    let dot: Dot

    static func < (a: SimStamp, b: SimStamp) -> Bool {
        if a.hlc != b.hlc { return a.hlc < b.hlc }
        if a.dot.origin.device != b.dot.origin.device {
            return a.dot.origin.device.hash.bytes.lexicographicallyPrecedes(b.dot.origin.device.hash.bytes)
        }
        return a.dot < b.dot
    }

    /// The base clock of a batch: payload = version byte (2 or 3), then the clock as a LEB128 varint.
    static func baseClock(_ payload: [UInt8]) -> UInt64? { clock(payload, version: 2) ?? clock(payload, version: 3) }

    /// The clock after the version byte, when the payload is of `version`.
    static func clock(_ payload: [UInt8], version: UInt8) -> UInt64? {
        guard payload.first == version else { return nil }
        var v: UInt64 = 0
        var shift: UInt64 = 0
        for b in payload.dropFirst().prefix(10) {
            v |= UInt64(b & 0x7f) << shift
            if b & 0x80 == 0 { return v }
            shift += 7
        }
        return nil
    }
}

/// Every operation committed anywhere, with what its node knew: the oracle the invariants check against.
struct History {
    struct Commit {
        let order: Int
        let node: Int
        let batch: SignedBatch
        let vvBefore: VersionVector
    }

    enum SetKey: Hashable, Comparable {
        case tag(Hash256, String)
        case album(AlbumID, Hash256)

        static func < (a: SetKey, b: SetKey) -> Bool { a.sortKey.lexicographicallyPrecedes(b.sortKey) }
        var sortKey: [UInt8] {
            switch self {
            case .tag(let h, let t): [0] + h.bytes + Array(t.utf8)
            case .album(let a, let h): [1] + a.bytes + h.bytes
            }
        }
    }

    struct FieldWrite {
        let stamp: SimStamp
        let value: FieldValue
    }

    var commits: [Commit] = []
    /// OR-set adds (their dots) and removes (the version vector they observed), per element.
    var adds: [SetKey: [Dot]] = [:]
    var removes: [SetKey: [(dot: Dot, observed: VersionVector)]] = [:]
    /// LWW writes per (asset, field), and import stamps per asset.
    var writes: [Hash256: [AssetField: [FieldWrite]]] = [:]
    var imports: [Hash256: [SimStamp]] = [:]
    /// Per origin, the sequence after which batches may be gone (a restore from an older snapshot
    /// discarded them before they reached anyone); batches there may or may not survive.
    var lossWindows: [Origin: UInt64] = [:]
    /// Batches a removed member made after its removal: nobody may apply them.
    var forbidden: [SignedBatch] = []

    /// A last-writer-wins register, for the causal-order check.
    enum Register: Hashable, Comparable {
        case asset(Hash256, AssetField)
        case album(AlbumID, UInt8)
        case member(DeviceID)

        static func < (a: Register, b: Register) -> Bool { a.sortKey.lexicographicallyPrecedes(b.sortKey) }
        var sortKey: [UInt8] {
            switch self {
            case .asset(let h, let f): [0] + h.bytes + [f.rawValue]
            case .album(let a, let f): [1] + a.bytes + [f]
            case .member(let d): [2] + d.hash.bytes
            }
        }
    }

    /// Every register write with the version vector its node held: a write whose node had
    /// already applied another write of the same register must carry the greater stamp.
    var registerWrites: [Register: [(stamp: SimStamp, vvBefore: VersionVector)]] = [:]

    /// The register a local edit writes, if any (an edit is one change).
    static func register(of e: Edit) -> Register? {
        switch e {
        case .setField(let id, let f, _): .asset(id, f)
        case .trash(let id), .restore(let id): .asset(id, .trashedAt)
        case .createAlbum(let a, _), .renameAlbum(let a, _): .album(a, 1)
        case .describeAlbum(let a, _): .album(a, 2)
        case .setAlbumCover(let a, _): .album(a, 3)
        case .deleteAlbum(let a): .album(a, 4)
        case .addMember(let pk, _, _): .member(DeviceID(publicKey: pk))
        case .removeMember(let d), .setRole(let d, _): .member(d)
        default: nil
        }
    }

    /// A batch's base clock as payload versions 2 and 3 write it: the version byte, then the
    /// clock as a LEB128 varint (the membership context and the changes follow).
    static func payloadClock(_ payload: [UInt8]) -> UInt64? { SimStamp.baseClock(payload) }

    mutating func record(node: Int, batch: SignedBatch, edits: [Edit], vvBefore: VersionVector, now: Int64) {
        commits.append(Commit(order: commits.count, node: node, batch: batch, vvBefore: vvBefore))
        if let base = Self.payloadClock(batch.payload) {
            for (i, e) in edits.enumerated() {
                guard let r = Self.register(of: e) else { continue }
                let stamp = SimStamp(hlc: base + UInt64(i), dot: Dot(origin: batch.origin, seq: batch.firstSeq + UInt64(i)))
                registerWrites[r, default: []].append((stamp, vvBefore))
            }
        }
        guard let base = SimStamp.baseClock(batch.payload) else { return }
        for (i, e) in edits.enumerated() {
            let dot = Dot(origin: batch.origin, seq: batch.firstSeq + UInt64(i))
            let stamp = SimStamp(hlc: base + UInt64(i), dot: dot)
            switch e {
            case .importAsset(let imp): imports[imp.id, default: []].append(stamp)
            case .setField(let id, let f, let v): writes[id, default: [:]][f, default: []].append(FieldWrite(stamp: stamp, value: v))
            case .trash(let id):
                writes[id, default: [:]][.trashedAt, default: []].append(FieldWrite(stamp: stamp, value: .int(max(now, 0))))
            case .restore(let id): writes[id, default: [:]][.trashedAt, default: []].append(FieldWrite(stamp: stamp, value: .null))
            case .addTag(let id, let t): adds[.tag(id, t), default: []].append(dot)
            case .removeTag(let id, let t): removes[.tag(id, t), default: []].append((dot, vvBefore))
            case .addToAlbum(let a, let id): adds[.album(a, id), default: []].append(dot)
            case .removeFromAlbum(let a, let id): removes[.album(a, id), default: []].append((dot, vvBefore))
            default: break
            }
        }
    }

    /// True when the batch holding `dot` may be missing at the end without a write being lost.
    func mayBeLost(_ dot: Dot) -> Bool { lossWindows[dot.origin].map { dot.seq > $0 } ?? false }
}
