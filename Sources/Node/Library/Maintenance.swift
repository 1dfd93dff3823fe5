import Catalog
import ChunkStore
import Foundation
import HearthCrypto
import Media
import SyncEngine
import Presentation

/// What `hearth verify` found.
public struct VerifyOutcome: Sendable {
    public var chunksChecked = 0
    public var bytesChecked: UInt64 = 0
    public var objectsChecked = 0
    /// Corrupt or missing bytes the node should have: each a sentence naming what is wrong.
    public var problems: [String] = []
    /// Objects this node's storage policy does not keep locally (fetched from peers on demand).
    public var notKept = 0
    /// SQLite found the catalog file damaged (`hearth repair` rebuilds damaged indexes).
    public var catalogDamaged = false
    public var isClean: Bool { problems.isEmpty }

    public var json: JSON {
        .object([
            ("ok", .bool(isClean)),
            ("catalogDamaged", .bool(catalogDamaged)),
            ("chunksChecked", .int(Int64(chunksChecked))),
            ("bytesChecked", .int(Int64(bytesChecked))),
            ("objectsChecked", .int(Int64(objectsChecked))),
            ("objectsNotKeptByPolicy", .int(Int64(notKept))),
            ("problems", .array(problems.map(JSON.string))),
        ])
    }
}

extension HearthNode {
    /// Every object the catalog references, with its kind, for non-purged assets.
    public func referencedObjects() throws -> [(kind: ObjectKind, ref: ObjectRef, asset: Hash256)] {
        var out: [(ObjectKind, ObjectRef, Hash256)] = []
        for a in try catalog.assetObjects() {
            out += a.objects.map { ($0.kind, $0.ref, a.id) }
        }
        return out
    }

    /// Whether this node's storage policy keeps objects of `kind` locally (the same rule sync uses).
    public func keeps(_ kind: ObjectKind) -> Bool { storagePolicy.keeps(kind) }

    /// Re-hashes every stored chunk and checks that every object the catalog references and the
    /// policy keeps is complete.
    public func verify(progress: @escaping (UInt64, UInt64) -> Void = { _, _ in }) throws -> VerifyOutcome {
        var out = VerifyOutcome()
        let damage = catalog.integrityProblems()
        if !damage.isEmpty {
            out.catalogDamaged = true
            out.problems.append("the catalog of library \(libraryID) (\(catalog.path)) is damaged: SQLite reports "
                                + Catalog.summarize(damage)
                                + "; run `hearth repair`, which rebuilds damaged indexes and otherwise says how to rebuild the catalog from a peer")
        }
        let access = home.root.appendingPathComponent("access.sqlite").path
        if FileManager.default.fileExists(atPath: access) {
            let damage = (try? AccessStore.open(path: access))?.integrityProblems() ?? ["access store \(access) cannot be opened"]
            out.problems += damage.map { $0 + "; it holds only this node's logins and API keys: stop hearth serve, delete it, and log in again" }
        }
        out.problems += try chunks.integrityProblems().map { $0 + "; its chunks must be fetched again from a peer" }
        let report = try chunks.verify(progress: progress)
        out.chunksChecked = report.chunksChecked
        out.bytesChecked = report.bytesChecked
        out.problems += report.problems.map { $0.description }
        let bad = Set(report.problems.map(\.chunk))
        for (kind, ref, asset) in try referencedObjects() {
            out.objectsChecked += 1
            let missing = try chunks.missing(of: ref.chunks)
            if !keeps(kind) {
                if !missing.isEmpty { out.notKept += 1 }
                continue
            }
            if !missing.isEmpty {
                out.problems.append("\(kind.rawValue) of asset \(asset.hex.prefix(12)): \(missing.count) of \(ref.chunks.count) chunks missing")
            } else if ref.chunks.contains(where: bad.contains) {
                out.problems.append("\(kind.rawValue) of asset \(asset.hex.prefix(12)) has a corrupt chunk")
            }
        }
        return out
    }

    /// Re-hashes every stored chunk and sets aside (forgets) those that fail, so that they count
    /// as missing and the next sync fetches good copies from a peer. Returns what was set aside.
    public func setAsideDamagedChunks(progress: @escaping (UInt64, UInt64) -> Void = { _, _ in }) throws -> [ChunkProblem] {
        let report = try chunks.verify(progress: progress)
        try chunks.forget(report.problems.map(\.chunk))
        return report.problems
    }

    /// How many chunks of the objects this node's policy keeps are not stored.
    public func missingWantedChunks() throws -> Int {
        var wanted: [Hash256] = []
        for (kind, ref, _) in try referencedObjects() where keeps(kind) { wanted += ref.chunks }
        return try chunks.missing(of: wanted).count
    }

    /// Removes chunks that no live asset references (purged assets' bytes, crash leftovers).
    public func gc() throws -> GCReport {
        var keep = Set<Hash256>()
        for (_, ref, _) in try referencedObjects() { keep.formUnion(ref.chunks) }
        return try chunks.gc(keep: keep)
    }

    /// Writes an asset's original under its original name in `directory`; a name that is taken
    /// gets a ` (1)`, ` (2)`… suffix. Returns the path written.
    public func export(_ id: Hash256, to directory: String, motion: Bool = false, xmp: Bool = false) throws -> [String] {
        guard let a = try catalog.asset(id), !a.purged else {
            throw NodeError(.notFound, "no asset \(id.hex.prefix(12))")
        }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var written: [String] = []
        let missing = try chunks.missing(of: a.original.chunks)
        guard missing.isEmpty else {
            throw NodeError(.notFound, "\(a.fileName): the original is not stored on this node (\(missing.count) chunks missing); "
                            + "run `hearth sync` with a peer that keeps originals")
        }
        let target = Self.freeName(a.fileName, in: directory)
        try chunks.export(chunks: a.original.chunks, expectedID: a.id, to: target)
        written.append(target)
        if motion {
            written.append(try exportMotion(a, to: directory))
        }
        if xmp {
            written.append(try exportSidecar(a, beside: target))
        }
        return written
    }

    /// Writes `<exported file>.xmp` with the asset's description, rating, tags, date and place.
    func exportSidecar(_ a: Asset, beside original: String) throws -> String {
        let fields = XMPWriter.Fields(
            description: a.description, rating: a.rating, tags: try catalog.tags(of: a.id),
            takenAt: a.takenAt.map { CaptureDate(localSeconds: $0.localSeconds, offsetMinutes: $0.utcOffsetMinutes.map(Int.init), source: .xmp) },
            latitude: a.latitude, longitude: a.longitude, altitude: a.altitude)
        let path = original + ".xmp"
        guard !FileManager.default.fileExists(atPath: path) else {
            throw NodeError(.invalidArgument, "\(path) already exists; export never overwrites files")
        }
        guard FileManager.default.createFile(atPath: path, contents: Data(XMPWriter.sidecar(fields).utf8)) else {
            throw NodeError(.io, "cannot write \(path)")
        }
        return path
    }

    func exportMotion(_ a: Asset, to directory: String) throws -> String {
        let stem = (a.fileName as NSString).deletingPathExtension
        if let video = a.motionVideo {
            let target = Self.freeName(stem + ".mov", in: directory)
            try chunks.export(chunks: video.chunks, expectedID: video.id, to: target)
            return target
        }
        guard let range = a.motionRange else {
            throw NodeError(.notFound, "\(a.fileName) is not a Live or Motion Photo")
        }
        let bytes = try chunks.readObject(chunks: a.original.chunks, expectedID: a.id)
        guard range.offset + range.length <= UInt64(bytes.count) else {
            throw NodeError(.corrupt, "\(a.fileName): the recorded motion video range lies outside the file")
        }
        let target = Self.freeName(stem + ".mp4", in: directory)
        let slice = bytes[Int(range.offset)..<Int(range.offset + range.length)]
        guard FileManager.default.createFile(atPath: target, contents: Data(slice)) else {
            throw NodeError(.io, "cannot write \(target)")
        }
        return target
    }

    /// `name`, or `stem (1).ext`, `stem (2).ext`… whichever does not exist yet.
    static func freeName(_ name: String, in directory: String) -> String {
        let safe = name.replacingOccurrences(of: "/", with: "_").isEmpty ? "asset" : name.replacingOccurrences(of: "/", with: "_")
        let fm = FileManager.default
        var candidate = (directory as NSString).appendingPathComponent(safe)
        let stem = (safe as NSString).deletingPathExtension, ext = (safe as NSString).pathExtension
        var n = 1
        while fm.fileExists(atPath: candidate) {
            candidate = (directory as NSString).appendingPathComponent("\(stem) (\(n))" + (ext.isEmpty ? "" : ".\(ext)"))
            n += 1
        }
        return candidate
    }
}

/// What `backfillThumbhashes` did.
public struct ThumbhashBackfill: Sendable {
    /// Assets that got a ThumbHash.
    public var made = 0
    /// Thumbnails whose bytes are not on this node (a `thumbnails` policy keeps them, so this
    /// is a thumbnail not synced yet): left for a later run.
    public var missing = 0
    /// Thumbnails that could not be decoded, with the reason; left without a ThumbHash.
    public var failed: [(id: Hash256, reason: String)] = []
}

extension HearthNode {
    /// Computes and commits the ThumbHash of every asset that has a thumbnail but none yet
    /// (thumbnails made before ThumbHashes were, or by a node that did not make them), from the
    /// stored WebP thumbnail, in signed batches of `batch` assets. Writes catalog format 2 (see
    /// `ImportOptions.thumbhash`): a release-6847644 peer receives nothing of this node's after it.
    public func backfillThumbhashes(batch: Int = 200, progress: (Int) -> Void = { _ in }) throws -> ThumbhashBackfill {
        precondition(batch > 0)
        var out = ThumbhashBackfill()
        var after: Hash256? = nil
        while true {
            let page = try catalog.assetsWithoutThumbhash(after: after, limit: batch)
            guard let last = page.last else { break }
            after = last.id
            var edits: [Edit] = []
            for (id, ref) in page {
                guard ref.size <= UInt64(DerivedImages.maxEncodedThumbnail) else {
                    out.failed.append((id, "thumbnail of \(ref.size) bytes is larger than \(DerivedImages.maxEncodedThumbnail)"))
                    continue
                }
                guard try chunks.missing(of: ref.chunks).isEmpty else {
                    out.missing += 1
                    continue
                }
                let bytes: [UInt8]
                do {
                    bytes = try chunks.readObject(chunks: ref.chunks, expectedID: ref.id)
                } catch {
                    out.failed.append((id, "thumbnail unreadable: \(error)"))
                    continue
                }
                guard let hash = DerivedImages.thumbhash(encoded: bytes) else {
                    out.failed.append((id, "thumbnail cannot be decoded"))
                    continue
                }
                edits.append(.setField(id, .thumbhash, .text(hash)))
            }
            if !edits.isEmpty {
                _ = try commit(edits)
                out.made += edits.count
                progress(out.made)
            }
        }
        return out
    }
}
