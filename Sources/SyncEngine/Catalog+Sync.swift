import Catalog
import ChunkStore
import HearthCrypto
import Wire

/// The real catalog as a sync source: batches, verified apply, chunks a policy wants.
extension Catalog: SyncCatalog {
    public var syncLibrary: LibraryID { libraryID }

    public func syncVersionVector() throws -> VersionVector { try versionVector() }

    public func syncBatches(missingFrom vector: VersionVector, maxBytes: Int) throws -> [SignedBatch] {
        try batches(missingFrom: vector, maxBytes: maxBytes)
    }

    public func syncApply(_ batches: [SignedBatch], now: Int64) throws -> [BatchRejection] {
        let report = try applyRemote(batches, now: now)
        return report.rejected.map { r in
            let reason: BatchRejection.Reason = switch r.reason.code {
            case .badSignature: .badSignature
            case .notMember, .unknownMember: .notMember
            case .notPermitted: .notAllowedToWrite
            default: .invalid(r.reason.message)
            }
            let last = batches.first { $0.origin == r.origin && $0.firstSeq == r.firstSeq }?.lastSeq ?? r.firstSeq
            return BatchRejection(origin: r.origin, firstSeq: r.firstSeq, lastSeq: last, reason: reason)
        }
    }

    public func syncWantedChunks(policy: StoragePolicy) throws -> [Hash256] {
        var ids = Set<Hash256>()
        for asset in try assets() where !asset.purged {
            if policy == .everything {
                ids.formUnion(asset.original.chunks)
                if case .object(let o) = asset.value(.motionVideo) { ids.formUnion(o.chunks) }
            }
            if policy != .thumbnails, case .object(let o) = asset.value(.preview) { ids.formUnion(o.chunks) }
            if case .object(let o) = asset.value(.thumbnail) { ids.formUnion(o.chunks) }
        }
        return ids.sorted()
    }

    public func syncIsMember(_ device: DeviceID) throws -> Bool {
        try members().contains { $0.device == device }
    }
}

/// The real chunk store as a sync source; `putChunk` re-verifies the hash.
extension ChunkStore: SyncChunkSource {
    public func syncMissing(_ ids: [Hash256]) throws -> [Hash256] { try missing(of: ids) }

    public func syncRead(_ id: Hash256) throws -> [UInt8]? {
        guard try hasChunk(id) else { return nil }
        return try readChunk(id)
    }

    public func syncPut(_ id: Hash256, _ bytes: [UInt8]) throws { _ = try putChunk(id, bytes) }

    /// `putChunks` hashes every chunk before storing any.
    public var syncChecksOnPut: Bool { true }

    /// One fsync for the whole batch instead of one per chunk.
    public func syncPut(batch: [(id: Hash256, bytes: [UInt8])]) throws { _ = try putChunks(batch) }
}
