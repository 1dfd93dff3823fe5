import HearthCrypto

/// What `store` did with one object (a file or a buffer).
public struct StoredObject: Sendable, Equatable {
    /// BLAKE2b-256 of all the bytes: the asset id, equal to `b2sum -l 256`.
    public let id: Hash256
    public let size: UInt64
    /// Chunk ids in order; empty for an empty object.
    public let chunks: [Hash256]
    /// Bytes of chunk data written (chunks that were already present cost nothing).
    public let newBytes: UInt64
    /// Number of chunks written.
    public let newChunks: Int

    public init(id: Hash256, size: UInt64, chunks: [Hash256], newBytes: UInt64, newChunks: Int) {
        self.id = id
        self.size = size
        self.chunks = chunks
        self.newBytes = newBytes
        self.newChunks = newChunks
    }
}

/// One chunk that failed verification.
public struct ChunkProblem: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// The bytes no longer hash to the id.
        case badHash
        /// The pack or the record is gone or cut short.
        case missing
    }
    public let chunk: Hash256
    /// Pack file path relative to the store directory ("memory" for the in-memory store).
    public let pack: String
    public let kind: Kind

    public var description: String { "chunk \(chunk.hex) in \(pack): \(kind.rawValue)" }
}

/// Result of re-hashing every chunk.
public struct VerifyReport: Sendable, Equatable {
    public var chunksChecked: Int = 0
    public var bytesChecked: UInt64 = 0
    /// Sorted by chunk id.
    public var problems: [ChunkProblem] = []
    public var isClean: Bool { problems.isEmpty }
}

/// Result of a garbage collection.
public struct GCReport: Sendable, Equatable {
    public var chunksRemoved: Int = 0
    /// Chunk bytes no longer referenced by the index.
    public var bytesRemoved: UInt64 = 0
    /// Live chunks copied out of sparse packs.
    public var chunksMoved: Int = 0
    public var packsRewritten: Int = 0
    public var packsDeleted: Int = 0
    /// Disk space given back (pack files deleted or truncated, minus the rewritten copies).
    public var bytesFreed: Int64 = 0
}

/// Size of the store.
public struct ChunkStoreStats: Sendable, Equatable {
    public var chunkCount: Int
    /// Sum of the lengths of indexed chunks.
    public var storedBytes: UInt64
    public var packCount: Int
    /// Size of the pack files on disk (headers and garbage included); equals `storedBytes`
    /// for the in-memory store.
    public var packBytes: UInt64
}
