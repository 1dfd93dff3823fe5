import Catalog
import ChunkStore
import Foundation
import HearthCrypto

/// One Hearth node on this machine: its identity, its library's catalog and its chunk store.
///
/// `Node` is the only layer that reads the wall clock; everything below takes `now` as an argument.
public final class HearthNode: @unchecked Sendable {
    public let home: Home
    public private(set) var config: NodeConfig
    public let identity: Identity
    public let catalog: Catalog
    private let chunkLock = NSLock()
    private var openedChunks: ChunkStore?
    private var chunksHeld: HomeLock.Held?

    /// The chunk store, opened on first use under the home's chunk lock (see `HomeLock`), so
    /// commands that only read or edit the catalog run beside a `hearth serve` on the same home.
    public var chunks: ChunkStore {
        get throws {
            try chunkLock.withLock {
                if let openedChunks { return openedChunks }
                let held = try HomeLock.acquire(home, .chunks) {
                    FileHandle.standardError.write(Data(
                        "hearth: waiting for another hearth process on \(home.root.path) to finish with the chunk store…\n".utf8))
                }
                let store = try Self.openChunkStore(home)
                (openedChunks, chunksHeld) = (store, held)
                return store
            }
        }
    }

    /// The home's chunk store, verifying received chunks on every core.
    static func openChunkStore(_ home: Home) throws -> ChunkStore {
        try ChunkStore.open(directory: home.chunksDir.path) { count, body in
            DispatchQueue.concurrentPerform(iterations: count, execute: body)
        }
    }

    init(home: Home, config: NodeConfig, identity: Identity, catalog: Catalog, chunks: ChunkStore?) {
        self.home = home
        self.config = config
        self.identity = identity
        self.catalog = catalog
        self.openedChunks = chunks
    }

    public static let storagePolicies = ["everything", "previews", "thumbnails"]

    /// `hearth init`: a new identity and a new library founded by this device.
    public static func create(home: Home, deviceName: String, policy: String = "everything") throws -> HearthNode {
        guard storagePolicies.contains(policy) else {
            throw NodeError(.invalidArgument, "storage policy must be one of \(storagePolicies.joined(separator: ", "))")
        }
        let identity = try home.createIdentity()
        let catalogPath = { (lib: LibraryID) in home.catalogFile(lib.hex).path }
        let nonce = secureRandomBytes(16)
        let lib = Catalog.libraryID(founder: identity.publicKey, nonce: nonce)
        let catalog = try Catalog.create(path: catalogPath(lib), identity: identity, personName: deviceName,
                                         nonce: nonce, now: wallClockMillis())
        let config = NodeConfig(libraryID: lib.hex, deviceName: deviceName, epoch: try catalog.origin().epoch,
                                storagePolicy: policy, listen: nil, peers: [])
        try config.save(home)
        return HearthNode(home: home, config: config, identity: identity, catalog: catalog, chunks: nil)
    }

    /// Opens the node that lives in `home`.
    public static func open(home: Home) throws -> HearthNode {
        let config = try NodeConfig.load(home)
        let identity = try home.loadIdentity()
        let path = home.catalogFile(config.libraryID).path
        guard FileManager.default.fileExists(atPath: path) else {
            throw NodeError(.corrupt, "the catalog \(path) is missing")
        }
        let catalog = try Catalog.open(path: path, identity: identity)
        return HearthNode(home: home, config: config, identity: identity, catalog: catalog, chunks: nil)
    }

    /// Milliseconds since 1970 from the system clock: the one place the node reads it.
    public static func wallClockMillis() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    /// Commits local edits as one signed batch.
    @discardableResult
    public func commit(_ edits: [Edit]) throws -> SignedBatch {
        try catalog.commit(edits, now: Self.wallClockMillis())
    }

    /// Resolves a unique prefix of an asset id.
    public func resolve(_ prefix: String) throws -> Hash256 {
        try catalog.resolveAsset(prefix: prefix.lowercased())
    }

    /// Changes `config.json` under the home's config lock, re-reading it first so that a change
    /// another process (a running `hearth serve`) made meanwhile is kept.
    public func updateConfig(_ change: (inout NodeConfig) -> Void) throws {
        try HomeLock.withLock(home, .config) {
            var fresh = (try? NodeConfig.load(home)) ?? config
            change(&fresh)
            try fresh.save(home)
            config = fresh
        }
    }

    /// The node's storage policy as the sync layer names it.
    public var storagePolicy: String { config.storagePolicy }
}
