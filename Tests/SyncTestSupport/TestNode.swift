import Catalog
import ChunkStore
import HearthCrypto
import SyncEngine
import Wire

/// Test devices shared by the SyncEngine and Transport suites: real in-memory catalogs and
/// chunk stores, founded and introduced as pairing would.
public let testNow: Int64 = 1_700_000_000_000

/// One device in a test: an identity, the real `Catalog` (in-memory SQLite), the real in-memory
/// `ChunkStore` and a policy. Sessions use `syncCatalog`/`syncChunks`, which are the real stores
/// unless a test wraps them to inject a fault the real stores cannot produce.
public final class TestNode: @unchecked Sendable {
    public let name: String
    public let identity: Identity
    public let catalog: Catalog
    public let chunks = ChunkStore.inMemory()
    public let policy: StoragePolicy
    public var syncCatalog: any SyncCatalog & Sendable
    public var syncChunks: any SyncChunkSource & Sendable

    /// The founder (first admin) of a new library.
    public init(_ name: String, seed: UInt8, policy: StoragePolicy) {
        self.name = name
        self.policy = policy
        identity = Identity.fromSeed([UInt8](repeating: seed, count: 32))
        catalog = try! Catalog.create(path: nil, identity: identity, personName: name,
                                      nonce: [UInt8](repeating: seed, count: 16), now: testNow)
        syncCatalog = catalog
        syncChunks = chunks
    }

    /// An empty replica of `founder`'s library, as `hearth join` makes before pairing.
    public init(_ name: String, seed: UInt8, joining founder: TestNode, policy: StoragePolicy) {
        self.name = name
        self.policy = policy
        identity = Identity.fromSeed([UInt8](repeating: seed, count: 32))
        catalog = try! Catalog.join(path: nil, library: founder.catalog.libraryID, identity: identity)
        syncCatalog = catalog
        syncChunks = chunks
    }

    public var library: LibraryID { catalog.libraryID }
    public func digest() -> Hash256 { try! catalog.digest() }
    public func has(_ id: Hash256) -> Bool { try! chunks.hasChunk(id) }
    public var chunkCount: Int { try! chunks.allChunkIDs().count }
    public var origin: Origin { try! catalog.origin() }

    /// Imports a "photo": an original of `originalChunks` chunks of `chunkSize` bytes, a preview
    /// and a thumbnail of one chunk each, in one commit (one change). Returns the chunk ids,
    /// original first, thumbnail last.
    @discardableResult
    public func importPhoto(_ n: Int, originalChunks: Int = 2, chunkSize: Int = 1000) -> [Hash256] {
        func chunk(_ tag: UInt8, _ i: Int) -> (Hash256, [UInt8]) {
            let bytes = (0..<chunkSize).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ n &* 7 &+ i &* 13) ^ tag } + Array(name.utf8)
            let id = Blake2b.hash256(bytes)
            try! chunks.putChunk(id, bytes)
            return (id, bytes)
        }
        let original = (0..<originalChunks).map { chunk(0x00, $0) }
        let whole = original.flatMap(\.1)
        let (preview, pBytes) = chunk(0x55, 0), (thumb, tBytes) = chunk(0xAA, 0)
        var imp = AssetImport(id: Blake2b.hash256(whole), fileName: "IMG_\(n).JPG",
                              original: ObjectRef(id: Blake2b.hash256(whole), size: UInt64(whole.count), chunks: original.map(\.0)))
        imp.fields[.preview] = .object(ObjectRef(id: preview, size: UInt64(pBytes.count), chunks: [preview]))
        imp.fields[.thumbnail] = .object(ObjectRef(id: thumb, size: UInt64(tBytes.count), chunks: [thumb]))
        try! catalog.commit([.importAsset(imp)], now: testNow)
        return original.map(\.0) + [preview, thumb]
    }
}

/// Makes every node after the first a member of the first one's library (with `roles`, default
/// member) and gives each the founder's batches, as pairing does.
public func introduce(_ nodes: [TestNode], roles: [String: Role] = [:]) {
    let founder = nodes[0]
    for n in nodes.dropFirst() {
        try! founder.catalog.commit([.addMember(publicKey: n.identity.publicKey, name: n.name, role: roles[n.name] ?? .member)],
                                    now: testNow)
    }
    for n in nodes.dropFirst() {
        let report = try! n.catalog.applyRemote(founder.catalog.batches(missingFrom: n.catalog.versionVector()), now: testNow)
        precondition(report.rejected.isEmpty, "introduction batches rejected")
    }
}

/// A founder and the nodes that joined it, introduced.
public func family(_ specs: [(String, StoragePolicy)], roles: [String: Role] = [:]) -> [TestNode] {
    let founder = TestNode(specs[0].0, seed: 1, policy: specs[0].1)
    let others = specs.dropFirst().enumerated().map { i, s in
        TestNode(s.0, seed: UInt8(i + 2), joining: founder, policy: s.1)
    }
    let all = [founder] + others
    introduce(all, roles: roles)
    return all
}
