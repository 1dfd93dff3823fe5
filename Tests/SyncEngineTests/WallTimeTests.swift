import Catalog
import HearthCrypto
import Synchronization
import Testing
import Wire
@testable import SyncEngine

/// The real catalog, recording the `now` every `syncApply` is given.
final class ApplyTimeRecorder: SyncCatalog, Sendable {
    let base: Catalog
    let nows = Mutex<[Int64]>([])

    init(_ base: Catalog) { self.base = base }

    var syncLibrary: LibraryID { base.syncLibrary }
    func syncVersionVector() throws -> VersionVector { try base.syncVersionVector() }
    func syncBatches(missingFrom vector: VersionVector, maxBytes: Int) throws -> [SignedBatch] {
        try base.syncBatches(missingFrom: vector, maxBytes: maxBytes)
    }
    func syncApply(_ batches: [SignedBatch], now: Int64) throws -> [BatchRejection] {
        nows.withLock { $0.append(now) }
        return try base.syncApply(batches, now: now)
    }
    func syncWantedChunks(policy: StoragePolicy) throws -> [Hash256] { try base.syncWantedChunks(policy: policy) }
    func syncIsMember(_ device: DeviceID) throws -> Bool { try base.syncIsMember(device) }
}

extension SyncSessionTests {
    /// Batches apply at the wall time the driver gives (the hybrid logical clock needs it), not
    /// at the elapsed time it gives for timeouts and pings.
    @Test func batchesApplyAtWallTimeNotElapsedTime() throws {
        let n = family([("A", .everything), ("B", .everything)])
        let (a, b) = (n[0], n[1])
        b.importPhoto(1)
        let recorder = ApplyTimeRecorder(a.catalog)
        a.syncCatalog = recorder
        var sa = a.session(peer: b), sb = b.session(peer: a)
        let wall = testNow + 120_000
        var elapsed: Int64 = 0
        var toB = sa.handle(.start, now: elapsed, wallMillis: wall).messages
        var toA = sb.handle(.start, now: elapsed, wallMillis: wall).messages
        while !toA.isEmpty || !toB.isEmpty, sa.closed == nil, sb.closed == nil {
            elapsed += 1
            let inA = toA, inB = toB
            toA = []; toB = []
            for m in inA { toB += sa.handle(.message(m), now: elapsed, wallMillis: wall + elapsed).messages }
            for m in inB { toA += sb.handle(.message(m), now: elapsed, wallMillis: wall + elapsed).messages }
        }
        #expect(a.digest() == b.digest())
        let nows = recorder.nows.withLock { $0 }
        #expect(!nows.isEmpty)
        for t in nows { #expect(t > wall && t <= wall + elapsed) }
    }
}
