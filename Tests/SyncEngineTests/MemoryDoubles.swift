import Catalog
import HearthCrypto
import Wire
@testable import SyncEngine

/// A small in-memory catalog for the engine tests: batches per origin, membership with roles,
/// real Ed25519 signatures. A batch's payload is a list of objects (kind byte, chunk count,
/// chunk ids), so what a node wants follows from the batches it holds, as in the real catalog.
/// `@unchecked Sendable`: the transport tests use it from one connection at a time.
final class MemoryCatalog: SyncCatalog, @unchecked Sendable {
    enum Role { case admin, member, partner }
    enum Kind: UInt8 { case original = 0, preview = 1, thumbnail = 2 }

    let syncLibrary: LibraryID
    var members: [DeviceID: (key: [UInt8], role: Role)] = [:]
    var log: [Origin: [SignedBatch]] = [:]
    var applyCalls = 0

    init(library: LibraryID) { syncLibrary = library }

    func add(_ identity: Identity, role: Role) { members[identity.deviceID] = (identity.publicKey, role) }

    /// Makes and keeps a batch of one change by `identity` listing `objects`.
    @discardableResult
    func commit(by identity: Identity, epoch: UInt32 = 1, objects: [(Kind, [Hash256])]) -> SignedBatch {
        let origin = Origin(device: identity.deviceID, epoch: epoch)
        let seq = (log[origin]?.last?.lastSeq ?? 0) + 1
        let batch = Self.sign(identity, library: syncLibrary, origin: origin, seq: seq, objects: objects)
        log[origin, default: []].append(batch)
        return batch
    }

    static func sign(_ identity: Identity, library: LibraryID, origin: Origin, seq: UInt64,
                     objects: [(Kind, [Hash256])]) -> SignedBatch {
        var payload: [UInt8] = []
        for (kind, ids) in objects {
            payload += [kind.rawValue, UInt8(ids.count)]
            for id in ids { payload += id.bytes }
        }
        let sig = identity.sign(SignedBatch.signedBytes(library: library, origin: origin, firstSeq: seq,
                                                        lastSeq: seq, payload: payload))
        return SignedBatch(origin: origin, firstSeq: seq, lastSeq: seq, payload: payload, signature: sig)
    }

    func syncVersionVector() -> VersionVector {
        var v = VersionVector()
        for (o, batches) in log { v[o] = batches.last?.lastSeq ?? 0 }
        return v
    }

    func syncBatches(missingFrom vector: VersionVector, maxBytes: Int) -> [SignedBatch] {
        var out: [SignedBatch] = []
        var bytes = 0
        for origin in log.keys.sorted() {
            for b in log[origin]! where b.lastSeq > vector[origin] {
                if !out.isEmpty && bytes + b.payload.count > maxBytes { return out }
                out.append(b)
                bytes += b.payload.count
            }
        }
        return out
    }

    func syncApply(_ batches: [SignedBatch], now: Int64) -> [BatchRejection] {
        applyCalls += 1
        // Verify all first: a message with a bad batch changes nothing.
        var rejected: [BatchRejection] = []
        for b in batches {
            func reject(_ r: BatchRejection.Reason) {
                rejected.append(BatchRejection(origin: b.origin, firstSeq: b.firstSeq, lastSeq: b.lastSeq, reason: r))
            }
            guard let m = members[b.origin.device] else { reject(.notMember); continue }
            let signed = SignedBatch.signedBytes(library: syncLibrary, origin: b.origin, firstSeq: b.firstSeq,
                                                 lastSeq: b.lastSeq, payload: b.payload)
            guard Identity.verify(signature: b.signature, message: signed, publicKey: m.key) else {
                reject(.badSignature); continue
            }
            if m.role == .partner { reject(.notAllowedToWrite) }
        }
        guard rejected.isEmpty else { return rejected }
        for b in batches {
            let have = log[b.origin]?.last?.lastSeq ?? 0
            if b.lastSeq <= have { continue }
            guard b.firstSeq == have + 1 else {
                return [BatchRejection(origin: b.origin, firstSeq: b.firstSeq, lastSeq: b.lastSeq,
                                       reason: .invalid("gap after \(have)"))]
            }
            log[b.origin, default: []].append(b)
        }
        return []
    }

    var objects: [(Kind, [Hash256])] {
        var out: [(Kind, [Hash256])] = []
        for origin in log.keys.sorted() {
            for b in log[origin]! {
                var i = 0
                let p = b.payload
                while i < p.count {
                    let kind = Kind(rawValue: p[i])!
                    let n = Int(p[i + 1])
                    i += 2
                    out.append((kind, (0..<n).map { k in Hash256(bytes: Array(p[(i + 32 * k)..<(i + 32 * k + 32)]))! }))
                    i += 32 * n
                }
            }
        }
        return out
    }

    func syncWantedChunks(policy: StoragePolicy) -> [Hash256] {
        let kinds: Set<Kind> = switch policy {
        case .everything: [.original, .preview, .thumbnail]
        case .previews: [.preview, .thumbnail]
        case .thumbnails: [.thumbnail]
        }
        return Array(Set(objects.filter { kinds.contains($0.0) }.flatMap(\.1))).sorted()
    }

    func syncIsMember(_ device: DeviceID) -> Bool { members[device] != nil }

    /// Order-independent digest of every batch held.
    func digest() -> Hash256 {
        var h = Blake2b()
        for origin in log.keys.sorted() { for b in log[origin]! { h.update(b.signature) } }
        return h.finalize256()
    }
}

/// In-memory chunk store double; counts every put so tests can see re-sends.
final class MemoryChunks: SyncChunkSource, @unchecked Sendable {
    var chunks: [Hash256: [UInt8]] = [:]
    var puts: [Hash256: Int] = [:]

    func syncMissing(_ ids: [Hash256]) -> [Hash256] { ids.filter { chunks[$0] == nil } }
    func syncRead(_ id: Hash256) -> [UInt8]? { chunks[id] }
    func syncPut(_ id: Hash256, _ bytes: [UInt8]) throws {
        precondition(Blake2b.hash256(bytes) == id)
        chunks[id] = bytes
        puts[id, default: 0] += 1
    }

    /// Stores bytes and returns their id.
    @discardableResult
    func add(_ bytes: [UInt8]) -> Hash256 {
        let id = Blake2b.hash256(bytes)
        chunks[id] = bytes
        return id
    }
}
