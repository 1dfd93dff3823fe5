import Catalog
import HearthCrypto
import Wire

/// What a sync session needs from a library's catalog.
///
/// The real `Catalog` conforms in `Catalog+Sync.swift`; the protocol keeps the engine's
/// needs in one place and lets `simulations/` wrap the catalog with fault injection.
public protocol SyncCatalog: AnyObject {
    var syncLibrary: LibraryID { get }
    /// Current version vector.
    func syncVersionVector() throws -> VersionVector
    /// Signed batches the holder of `vector` lacks, in an order that applies (each origin ascending),
    /// about `maxBytes` of payload at most (at least one batch if any is missing).
    func syncBatches(missingFrom vector: VersionVector, maxBytes: Int) throws -> [SignedBatch]
    /// Verifies and applies remote batches; returns the rejected ones with why (empty: all applied).
    func syncApply(_ batches: [SignedBatch], now: Int64) throws -> [BatchRejection]
    /// Ids of every chunk a node with `policy` keeps, sorted ascending without duplicates.
    func syncWantedChunks(policy: StoragePolicy) throws -> [Hash256]
    /// True when the device is a member of the library in any role (partners included).
    func syncIsMember(_ device: DeviceID) throws -> Bool
    /// What a peer speaking `version` may be given and told of: each origin up to its first
    /// batch that peer would not accept (a payload version it does not read).
    func syncVersionVector(forPeerProtocol version: UInt16) throws -> VersionVector
    /// `syncBatches(missingFrom:maxBytes:)` without what a peer speaking `version` would not accept,
    /// nor anything of the same origin after it (so what it gets stays contiguous).
    func syncBatches(missingFrom vector: VersionVector, maxBytes: Int, forPeerProtocol version: UInt16) throws -> [SignedBatch]
}

extension SyncCatalog {
    /// A catalog that writes only what every version accepts serves everything to everyone.
    public func syncVersionVector(forPeerProtocol version: UInt16) throws -> VersionVector { try syncVersionVector() }
    public func syncBatches(missingFrom vector: VersionVector, maxBytes: Int,
                            forPeerProtocol version: UInt16) throws -> [SignedBatch] {
        try syncBatches(missingFrom: vector, maxBytes: maxBytes)
    }
}

/// What a sync session needs from a chunk store.
public protocol SyncChunkSource: AnyObject {
    /// The ids among `ids` the store does not hold, in the same order.
    func syncMissing(_ ids: [Hash256]) throws -> [Hash256]
    /// A chunk's verified bytes, or nil when the store does not hold it.
    func syncRead(_ id: Hash256) throws -> [UInt8]?
    /// Stores a chunk whose hash the caller has checked.
    func syncPut(_ id: Hash256, _ bytes: [UInt8]) throws
    /// Stores several checked chunks, durably, ideally with one flush to disk.
    func syncPut(batch: [(id: Hash256, bytes: [UInt8])]) throws
    /// True when `syncPut(batch:)` itself checks every chunk's hash and stores none of a batch
    /// with a bad one (throwing `ChunkStoreError.hashMismatch`): the session then skips its
    /// own check instead of hashing every byte twice.
    var syncChecksOnPut: Bool { get }
    /// Told which chunks a peer asked for, before they are read one by one (a disk store reads
    /// ahead). Must not change what the store holds.
    func syncWillRead(_ ids: [Hash256])
}

extension SyncChunkSource {
    public var syncChecksOnPut: Bool { false }
    public func syncWillRead(_ ids: [Hash256]) {}

    public func syncPut(batch: [(id: Hash256, bytes: [UInt8])]) throws {
        for (id, bytes) in batch { try syncPut(id, bytes) }
    }
}

/// A remote batch the catalog refused, and why.
public struct BatchRejection: Equatable, Sendable, CustomStringConvertible {
    public enum Reason: Equatable, Sendable {
        /// The signature does not verify against the origin's key.
        case badSignature
        /// The origin device is not a member of the library.
        case notMember
        /// The origin's role cannot write (a partner).
        case notAllowedToWrite
        /// Anything else the catalog found wrong (a gap, a payload it cannot decode).
        case invalid(String)
    }

    public let origin: Origin
    public let firstSeq: UInt64
    public let lastSeq: UInt64
    public let reason: Reason

    public init(origin: Origin, firstSeq: UInt64, lastSeq: UInt64, reason: Reason) {
        self.origin = origin
        self.firstSeq = firstSeq
        self.lastSeq = lastSeq
        self.reason = reason
    }

    public var description: String {
        let what: String
        switch reason {
        case .badSignature: what = "signature does not verify"
        case .notMember: what = "origin is not a member of the library"
        case .notAllowedToWrite: what = "origin's role cannot write"
        case .invalid(let s): what = s
        }
        return "batch \(origin) \(firstSeq)...\(lastSeq): \(what)"
    }
}
