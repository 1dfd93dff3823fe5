import Catalog
import ChunkStore
import Foundation
import HearthCrypto
import Wire

/// One library on this node, opened: the node's identity, the library's catalog and its chunk
/// store. This is the library service every command works through (import, edit, export,
/// verify, sync); `HearthNode.open(home:library:)` picks the library, `HearthNode.libraries(in:)`
/// lists them.
///
/// `Node` is the only layer that reads the wall clock; everything below takes `now` as an argument.
public final class HearthNode: @unchecked Sendable {
    public let home: Home
    /// The whole node's settings as last read (every library's entry, the device name, the listen address).
    public private(set) var config: NodeConfig
    public let identity: Identity
    public let catalog: Catalog
    /// The id (hex) of the library this handle opened.
    public let libraryID: String
    private let chunkLock = NSLock()
    private var openedChunks: ChunkStore?
    private var chunksHeld: HomeLock.Held?

    /// This library's entry in `config.json`.
    public var settings: LibrarySettings {
        config.libraries.first { $0.id == libraryID }
            ?? LibrarySettings(id: libraryID, name: libraryID, epoch: 0, storagePolicy: .everything)
    }

    /// The library's chunk store, opened on first use under its chunk lock (see `HomeLock`), so
    /// commands that only read or edit the catalog run beside a `hearth serve` on the same home.
    public var chunks: ChunkStore {
        get throws {
            try chunkLock.withLock {
                if let openedChunks { return openedChunks }
                let held = try HomeLock.acquire(home, .chunks(library: libraryID)) {
                    FileHandle.standardError.write(Data(
                        "hearth: waiting for another hearth process on \(home.root.path) to finish with the chunk store…\n".utf8))
                }
                let store = try Self.openChunkStore(home, libraryID)
                (openedChunks, chunksHeld) = (store, held)
                return store
            }
        }
    }

    /// Calls of `withChunkStore` in progress, and whether the chunk store was closed when the
    /// first of them began (then the last one closes it again).
    private var scopedChunkUsers = 0
    private var scopeCloses = false

    /// Runs `body` (which may use `chunks`) and, when no other `withChunkStore` call is still
    /// inside, closes the chunk store and lets go of its lock — unless it was open before, for a
    /// holder outside any scope. For a long-running process that shares the lock: inside
    /// `hearth serve` the daemon takes the same lock between transfers (`DaemonChunkStore`), so
    /// an HTTP upload holds it only while it imports.
    public func withChunkStore<T>(_ body: () throws -> T) throws -> T {
        chunkLock.withLock {
            if scopedChunkUsers == 0 { scopeCloses = openedChunks == nil }
            scopedChunkUsers += 1
        }
        defer {
            chunkLock.withLock {
                scopedChunkUsers -= 1
                if scopedChunkUsers == 0, scopeCloses {
                    openedChunks = nil
                    chunksHeld?.release()
                    chunksHeld = nil
                }
            }
        }
        return try body()
    }

    /// A library's chunk store, verifying received chunks on every core.
    static func openChunkStore(_ home: Home, _ library: String) throws -> ChunkStore {
        try ChunkStore.open(directory: home.chunksDir(library).path) { count, body in
            DispatchQueue.concurrentPerform(iterations: count, execute: body)
        }
    }

    init(home: Home, config: NodeConfig, identity: Identity, catalog: Catalog, libraryID: String) {
        self.home = home
        self.config = config
        self.identity = identity
        self.catalog = catalog
        self.libraryID = libraryID
    }

    /// `hearth init`: a new library founded by this device. In an empty home it also makes the
    /// device's identity; in an existing one it adds the library beside the others when it is
    /// given a name (without one it refuses, as a second `hearth init` always has). The first
    /// library of a home becomes its default.
    public static func create(home: Home, deviceName: String, policy: StoragePolicy = .everything,
                              libraryName: String? = nil) throws -> HearthNode {
        if let libraryName { try LibrarySettings.validate(name: libraryName) }
        let fresh = !home.exists
        let identity: Identity
        if fresh {
            identity = try home.createIdentity()
        } else {
            _ = try HomeLayout.loadUpgrading(home)
            guard libraryName != nil else { throw alreadyANode(home, "init") }
            identity = try home.loadIdentity()
        }
        let nonce = secureRandomBytes(16)
        let lib = Catalog.libraryID(founder: identity.publicKey, nonce: nonce)
        let fm = FileManager.default
        do {
            try fm.createDirectory(at: home.chunksDir(lib.hex), withIntermediateDirectories: true)
            let catalog = try Catalog.create(path: home.catalogFile(lib.hex).path, identity: identity, personName: deviceName,
                                             nonce: nonce, now: wallClockMillis())
            let epoch = try catalog.origin().epoch
            let config = try addLibrary(home, fresh: fresh, deviceName: deviceName) { existing in
                LibrarySettings(id: lib.hex, name: try uniqueName(libraryName, existing), epoch: epoch, storagePolicy: policy)
            }
            return HearthNode(home: home, config: config, identity: identity, catalog: catalog, libraryID: lib.hex)
        } catch {
            try? fm.removeItem(at: home.libraryDir(lib.hex))
            if fresh { try? fm.removeItem(at: home.identityFile) }
            throw error
        }
    }

    static func alreadyANode(_ home: Home, _ command: String) -> NodeError {
        NodeError(.alreadyInitialized, "\(home.root.path) already holds a Hearth node; to add another library to it, "
                  + "run `hearth \(command) … --library-name NAME`")
    }

    /// Adds a library's entry to `config.json` (writing the first config of a fresh home), under the config lock.
    static func addLibrary(_ home: Home, fresh: Bool, deviceName: String,
                           _ entry: ([LibrarySettings]) throws -> LibrarySettings) throws -> NodeConfig {
        try HomeLock.withLock(home, .config) {
            var config = fresh && !home.exists ? NodeConfig(deviceName: deviceName) : try NodeConfig.load(home)
            let e = try entry(config.libraries)
            guard !config.libraries.contains(where: { $0.id == e.id }) else {
                throw NodeError(.alreadyInitialized, "this node already holds library \(e.id)")
            }
            config.libraries.append(e)
            if config.libraries.count == 1 { config.defaultLibrary = e.id }
            try config.save(home)
            return config
        }
    }

    /// The name asked for when it is free (an error when it is taken), else `library`,
    /// `library-2`, `library-3`… whichever is free.
    static func uniqueName(_ asked: String?, _ existing: [LibrarySettings]) throws -> String {
        let taken = Set(existing.map(\.name))
        if let asked {
            guard !taken.contains(asked) else { throw NodeError(.invalidArgument, "this node already has a library named \"\(asked)\"") }
            return asked
        }
        if !taken.contains("library") { return "library" }
        var n = 2
        while taken.contains("library-\(n)") { n += 1 }
        return "library-\(n)"
    }

    /// Opens one library of the node that lives in `home`: the one `selector` names (a name or a
    /// unique id prefix), else the only one, else the default (see `NodeConfig.library(_:)`).
    /// A home made by an older release is upgraded in place first.
    public static func open(home: Home, library selector: String? = nil) throws -> HearthNode {
        let config = try HomeLayout.loadUpgrading(home)
        let identity = try home.loadIdentity()
        return try open(home: home, config: config, identity: identity, library: try config.library(selector))
    }

    static func open(home: Home, config: NodeConfig, identity: Identity, library: LibrarySettings) throws -> HearthNode {
        let path = home.catalogFile(library.id).path
        guard FileManager.default.fileExists(atPath: path) else {
            throw NodeError(.corrupt, "the catalog \(path) of library \(library.name) is missing")
        }
        let catalog = try Catalog.open(path: path, identity: identity)
        guard catalog.libraryID.hex == library.id else {
            throw NodeError(.corrupt, "\(path) holds library \(catalog.libraryID.hex), not \(library.id)")
        }
        return HearthNode(home: home, config: config, identity: identity, catalog: catalog, libraryID: library.id)
    }

    /// Every library of the node in `home`, in the order they were added (upgrading an old home first).
    public static func libraries(in home: Home) throws -> NodeConfig {
        try HomeLayout.loadUpgrading(home)
    }

    /// Makes `selector`'s library the default (nil: no default).
    public static func setDefaultLibrary(in home: Home, _ selector: String?) throws -> NodeConfig {
        _ = try HomeLayout.loadUpgrading(home)
        return try HomeLock.withLock(home, .config) {
            var config = try NodeConfig.load(home)
            config.defaultLibrary = try selector.map { try config.library($0).id }
            try config.save(home)
            return config
        }
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

    /// Changes this library's entry of `config.json` (see `updateConfig`).
    public func updateSettings(_ change: @escaping (inout LibrarySettings) -> Void) throws {
        let id = libraryID
        try updateConfig { c in
            if let i = c.libraries.firstIndex(where: { $0.id == id }) { change(&c.libraries[i]) }
        }
    }

    /// The library's storage policy: what this node keeps of it.
    public var storagePolicy: StoragePolicy { settings.storagePolicy }
}
