import HearthCrypto
@testable import Catalog

/// SplitMix64: a seeded generator so every property test reproduces from its seed.
struct SeededRNG: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}

/// 2026-01-01T00:00:00Z in ms: the tests' wall clock.
let t0: Int64 = 1_767_225_600_000

func identity(_ n: Int) -> Identity { Identity.fromSeed([UInt8](repeating: UInt8(n), count: 32)) }

func assetID(_ n: Int) -> Hash256 { Blake2b.hash256(Array("asset-\(n)".utf8)) }

func objectRef(_ label: String, size: UInt64 = 1000) -> ObjectRef {
    let id = Blake2b.hash256(Array(label.utf8))
    return ObjectRef(id: id, size: size, chunks: [id])
}

func anImport(_ n: Int, name: String? = nil, fields: [AssetField: FieldValue] = [:]) -> AssetImport {
    var f: [AssetField: FieldValue] = [.type: .text("image"), .mimeType: .text("image/jpeg"), .bytes: .int(1000 + Int64(n)),
                                       .takenAt: .takenAt(TakenAt(localSeconds: 1_700_000_000 + Int64(n) * 60))]
    f.merge(fields) { $1 }
    return AssetImport(id: assetID(n), fileName: name ?? "IMG_\(n).JPG", original: objectRef("orig-\(n)"), fields: f)
}

func albumID(_ n: UInt8) -> AlbumID { AlbumID(bytes: [UInt8](repeating: n, count: 16))! }

/// A library founded by identity 1 with `count - 1` more member devices, all caught up.
func library(_ count: Int, roles: [Role] = []) throws -> [Catalog] {
    let founder = try Catalog.create(path: nil, identity: identity(1), personName: "Ann",
                                     nonce: [UInt8](repeating: 9, count: 16), now: t0)
    var out = [founder]
    for i in 1..<count {
        let id = identity(i + 1)
        let role = i - 1 < roles.count ? roles[i - 1] : .member
        try founder.commit([.addMember(publicKey: id.publicKey, name: "P\(i)", role: role)], now: t0)
        out.append(try Catalog.join(path: nil, library: founder.libraryID, identity: id))
    }
    for c in out.dropFirst() { try sync(founder, c) }
    return out
}

@discardableResult
func sync(_ from: Catalog, _ to: Catalog, now: Int64 = t0) throws -> ApplyReport {
    try to.applyRemote(from.batches(missingFrom: to.versionVector()), now: now)
}

/// The membership context `c` would sign into its next batch.
func membershipContext(_ c: Catalog) throws -> [(origin: Origin, seq: UInt64)] {
    try c.db.read { try Membership.context($0) }
}
