import Catalog
import ChunkStore
import HearthCrypto
import Synchronization
import Wire
@testable import SyncEngine

/// The real catalog, serving forged batches a real catalog never produces: a bad signature, an
/// origin that is not a member, a partner's write. Everything else goes to the real catalog.
final class ForgingCatalog: SyncCatalog, Sendable {
    let base: Catalog
    let forged: [SignedBatch]

    init(_ base: Catalog, serving forged: [SignedBatch]) {
        self.base = base
        self.forged = forged
    }

    var syncLibrary: LibraryID { base.syncLibrary }
    func syncVersionVector() throws -> VersionVector {
        var v = try base.syncVersionVector()
        for b in forged where b.lastSeq > v[b.origin] { v[b.origin] = b.lastSeq }
        return v
    }
    func syncBatches(missingFrom vector: VersionVector, maxBytes: Int) throws -> [SignedBatch] {
        let swapped = try base.syncBatches(missingFrom: vector, maxBytes: maxBytes).map { b in
            forged.first { $0.origin == b.origin && $0.firstSeq == b.firstSeq } ?? b
        }
        let extra = forged.filter { f in f.lastSeq > vector[f.origin] && !swapped.contains { $0.origin == f.origin } }
        return extra + swapped
    }
    func syncApply(_ batches: [SignedBatch], now: Int64) throws -> [BatchRejection] { try base.syncApply(batches, now: now) }
    func syncWantedChunks(policy: StoragePolicy) throws -> [Hash256] { try base.syncWantedChunks(policy: policy) }
    func syncIsMember(_ device: DeviceID) throws -> Bool { try base.syncIsMember(device) }

    /// `batch` re-signed by `signer` as its own first batch in `library` (the payload is real).
    static func resign(_ batch: SignedBatch, by signer: Identity, library: LibraryID) -> SignedBatch {
        let origin = Origin(device: signer.deviceID, epoch: 1)
        let n = batch.lastSeq - batch.firstSeq + 1
        let sig = signer.sign(SignedBatch.signedBytes(library: library, origin: origin, firstSeq: 1, lastSeq: n, payload: batch.payload))
        return SignedBatch(origin: origin, firstSeq: 1, lastSeq: n, payload: batch.payload, signature: sig)
    }
}

/// The real chunk store, except that some chunks read back as other bytes (bit rot the real
/// store would catch on read, here reaching the wire so the receiver's check is exercised).
final class CorruptingChunks: SyncChunkSource, Sendable {
    let base: ChunkStore
    let corrupt: [Hash256: [UInt8]]

    init(_ base: ChunkStore, corrupt: [Hash256: [UInt8]]) {
        self.base = base
        self.corrupt = corrupt
    }

    func syncMissing(_ ids: [Hash256]) throws -> [Hash256] { try base.syncMissing(ids) }
    func syncRead(_ id: Hash256) throws -> [UInt8]? { try corrupt[id] ?? base.syncRead(id) }
    func syncPut(_ id: Hash256, _ bytes: [UInt8]) throws { try base.syncPut(id, bytes) }
}

/// The real chunk store seen as one that does not check hashes on put, so the session's own
/// check (the path every store without `syncChecksOnPut` takes) is exercised too.
final class TrustingChunks: SyncChunkSource, Sendable {
    let base: ChunkStore
    init(_ base: ChunkStore) { self.base = base }
    func syncMissing(_ ids: [Hash256]) throws -> [Hash256] { try base.syncMissing(ids) }
    func syncRead(_ id: Hash256) throws -> [UInt8]? { try base.syncRead(id) }
    func syncPut(_ id: Hash256, _ bytes: [UInt8]) throws { try base.syncPut(id, bytes) }
}
