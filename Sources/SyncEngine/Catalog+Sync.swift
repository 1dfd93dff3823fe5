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

    public func syncVersionVector(forPeerProtocol version: UInt16) throws -> VersionVector {
        try versionVector(maxPayloadVersion: Self.maxPayloadVersion(forPeerProtocol: version))
    }

    public func syncBatches(missingFrom vector: VersionVector, maxBytes: Int,
                            forPeerProtocol version: UInt16) throws -> [SignedBatch] {
        try batches(missingFrom: vector, maxBytes: maxBytes,
                    maxPayloadVersion: Self.maxPayloadVersion(forPeerProtocol: version))
    }

    /// The highest payload version a peer speaking `version` accepts.
    static func maxPayloadVersion(forPeerProtocol version: UInt16) -> UInt8 {
        ProtocolVersion.accepts(version, payloadVersion: 3) ? 3 : 2
    }

    public func syncApply(_ batches: [SignedBatch], now: Int64) throws -> [BatchRejection] {
        let report = try applyRemote(batches, now: now)
        // In a session the sender sends the membership changes a batch was written against
        // before the batch (`batches(missingFrom:)` puts membership origins first). A batch that
        // is still waiting for its context after that, because the context names changes this
        // node has never seen, was not written in this library: the sender is refused. (The
        // catalog itself keeps such a batch pending, since out of a session any order is legal.)
        let after = try versionVector()
        var unknownContext: [BatchRejection] = []
        for b in batches where after[b.origin] < b.lastSeq
            && !report.rejected.contains(where: { $0.origin == b.origin && $0.firstSeq == b.firstSeq }) {
            guard let context = b.membershipContext else { continue }
            if context.sorted.contains(where: { after[$0.origin] < $0.seq }) {
                let isPartner = try members().contains { $0.device == b.origin.device && $0.role == .partner }
                unknownContext.append(BatchRejection(
                    origin: b.origin, firstSeq: b.firstSeq, lastSeq: b.lastSeq,
                    reason: isPartner ? .notAllowedToWrite : .notMember))
            }
        }
        return unknownContext + report.rejected.map { r in
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
        // Every asset that is not purged: archived and trashed ones too, so a restore on another
        // device finds the bytes; and all of them, never one page.
        var ids = Set<Hash256>()
        for asset in try assetObjects() {
            for (kind, ref) in asset.objects where policy.keeps(kind) { ids.formUnion(ref.chunks) }
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

    /// A stored chunk's bytes, re-hashed: a chunk that fails its hash is never handed out. It is
    /// set aside (`quarantine`) so that `missing(of:)` reports it and the next sync, `hearth repair`
    /// or an on-demand fetch brings a good copy, and the read throws `.corrupt` naming it.
    public func syncRead(_ id: Hash256) throws -> [UInt8]? {
        guard try hasChunk(id) else { return nil }
        return try readChunkOrQuarantine(id)
    }

    public func syncPut(_ id: Hash256, _ bytes: [UInt8]) throws { _ = try putChunk(id, bytes) }

    /// `putChunks` hashes every chunk before storing any.
    public var syncChecksOnPut: Bool { true }
    public func syncWillRead(_ ids: [Hash256]) { willRead(ids) }

    /// One fsync for the whole batch instead of one per chunk.
    public func syncPut(batch: [(id: Hash256, bytes: [UInt8])]) throws { _ = try putChunks(batch) }
}

/// The objects an asset is made of, as storage policies name them.
public enum ObjectKind: String, Sendable, CaseIterable {
    case original, motion, preview, thumbnail
}

extension StoragePolicy {
    /// The one rule of what a node keeps locally: sync fetches exactly this, `verify` expects it.
    public func keeps(_ kind: ObjectKind) -> Bool {
        switch kind {
        case .original, .motion: self == .everything
        case .preview: self != .thumbnails
        case .thumbnail: true
        }
    }
}

extension AssetObjects {
    /// The asset's stored objects with their kinds (original first).
    public var objects: [(kind: ObjectKind, ref: ObjectRef)] {
        var out: [(ObjectKind, ObjectRef)] = [(.original, original)]
        if let m = motionVideo { out.append((.motion, m)) }
        if let p = preview { out.append((.preview, p)) }
        if let t = thumbnail { out.append((.thumbnail, t)) }
        return out
    }
}

extension Asset {
    /// The asset's stored objects with their kinds (original first).
    public var objects: [(kind: ObjectKind, ref: ObjectRef)] { storedObjects.objects }
}
