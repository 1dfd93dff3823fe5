import Catalog
import ChunkStore
import Foundation
import HearthCrypto
import Media
import Presentation

/// What one `hearth import` did with every file under the given paths: each file is counted in
/// exactly one of imported, duplicates, failed and skipped.
public struct ImportReport: Sendable {
    public var imported: [(path: String, id: Hash256)] = []
    public var duplicates: [(path: String, id: Hash256)] = []
    public var failed: [(path: String, error: String)] = []
    public var skipped: [(path: String, reason: String)] = []
    /// Problems that did not stop an import (e.g. no thumbnail could be made).
    public var warnings: [(path: String, message: String)] = []
    public var bytesRead: UInt64 = 0
    public var bytesStored: UInt64 = 0
    public var seconds: Double = 0

    public var json: JSON {
        .object([
            ("imported", .int(Int64(imported.count))),
            ("duplicates", .int(Int64(duplicates.count))),
            ("failed", .array(failed.map { .object([("path", .string($0.path)), ("error", .string($0.error))]) })),
            ("skipped", .array(skipped.map { .object([("path", .string($0.path)), ("reason", .string($0.reason))]) })),
            ("warnings", .array(warnings.map { .object([("path", .string($0.path)), ("message", .string($0.message))]) })),
            ("assets", .array(imported.map { .object([("path", .string($0.path)), ("id", .string($0.id.hex))]) })),
            ("bytesRead", .int(Int64(bytesRead))),
            ("bytesStored", .int(Int64(bytesStored))),
            ("seconds", .double((seconds * 1000).rounded() / 1000)),
        ])
    }
}

public struct ImportOptions: Sendable {
    /// Make thumbnails and previews (off: originals and metadata only).
    public var derived = true
    /// Store each thumbnail's ThumbHash (asset field 30, catalog format 2).
    public var thumbhash = true
    /// The highest catalog format level the import writes: fields of a higher level (ThumbHash
    /// at 2, owner and SHA-1 at 3) are left out. A batch with anything above level 1 is payload
    /// version 3, and a release-6847644 peer is offered an origin's batches only up to its first
    /// version 3 batch, so `CatalogFormat.base` keeps imports readable by such a peer; `hearth
    /// thumbhashes` and `hearth verify --repair` add what was left out once it has upgraded.
    public var formatLevel = CatalogFormat.current
    public var workers = max(1, ProcessInfo.processInfo.activeProcessorCount)
    /// Assets per catalog commit: each commit is one signed batch.
    public var commitEvery = 64
    /// The person the assets are recorded as added by; nil: the person this device belongs to
    /// (an upload through the HTTP API names the person who sent it).
    public var owner: PersonID?
    public init() {}
}

/// Progress of an import, as files finish.
public struct ImportProgress: Sendable {
    public var done: Int
    public var total: Int
    public var bytes: UInt64
    public var current: String
}

extension HearthNode {
    /// Imports every photo and video under `paths`.
    ///
    /// Order of writes, for crash safety: an asset's chunks (original, derived images, motion
    /// video) are stored and fsynced by the chunk store before the catalog commit that names
    /// them, so a crash leaves at worst unreferenced chunks for `gc`, never a catalog entry
    /// without its bytes.
    public func importPaths(_ paths: [String], options: ImportOptions = ImportOptions(),
                            progress: @escaping @Sendable (ImportProgress) -> Void = { _ in }) throws -> ImportReport {
        let started = DispatchTime.now().uptimeNanoseconds
        var report = ImportReport()
        let walked = FileWalker.walk(paths)
        report.failed += walked.errors.map { ($0.0, $0.1) }

        // Phase 1: classify and read metadata (cheap), so that Live Photo halves can be paired.
        var candidates: [(path: String, sidecar: String?)] = []
        for (path, role) in walked.files {
            switch role {
            case .media(let sidecar): candidates.append((path, sidecar))
            case .skipped(let reason):
                if reason == "not a photo or video", FileWalker.sniffsAsMedia(path) {
                    candidates.append((path, nil))
                } else {
                    report.skipped.append((path, reason))
                }
            }
        }
        let candidateList = candidates
        let infos = ParallelMap.run(candidates.count, workers: options.workers) { i -> Result<MediaInfo, MediaError> in
            let c = candidateList[i]
            let mtime = (try? FileManager.default.attributesOfItem(atPath: c.path)[.modificationDate] as? Date)
                .map { Int64($0.timeIntervalSince1970) }
            do { return .success(try MediaReader.read(path: c.path, sidecar: c.sidecar, fileModified: mtime)) }
            catch { return .failure((error as Any as? MediaError) ?? MediaError(.malformed, "\(c.path): \(error)")) }
        }
        var readable: [(path: String, info: MediaInfo)] = []
        for (i, r) in infos.enumerated() {
            switch r {
            case .success(let info): readable.append((candidates[i].path, info))
            case .failure(let e): report.failed.append((candidates[i].path, e.message))
            }
        }
        let pairs = LivePhotoPairing.pair(readable)
        let motionOf = Dictionary(pairs.map { ($0.still, $0.video) }, uniquingKeysWith: { a, _ in a })
        let pairedVideos = Set(pairs.map(\.video))
        var work: [(path: String, info: MediaInfo, motion: String?)] = []
        for r in readable {
            if pairedVideos.contains(r.path) {
                let still = pairs.first { $0.video == r.path }!.still
                report.skipped.append((r.path, "motion part of Live Photo \((still as NSString).lastPathComponent)"))
            } else {
                work.append((r.path, r.info, motionOf[r.path]))
            }
        }

        // Phase 2: store bytes and make derived images in parallel; commit in batches.
        let sink = ImportSink(node: self, commitEvery: options.commitEvery, total: work.count, progress: progress)
        let workList = work
        // Every asset records the person who added it and its SHA-1 (catalog format 3) once the
        // library has people; before that imports stay format 1 but for the ThumbHash (format 2),
        // and `--for-older-peers` (`formatLevel`) leaves that out too, so release 6847644
        // (protocol 1) keeps receiving them. `backfillChecksums` fills in the SHA-1s later.
        let recordsPeople = try usesPeople() && options.formatLevel >= AssetField.sha1.format
        let owner = recordsPeople ? try options.owner ?? currentPerson() : nil
        ParallelMap.forEach(work.count, workers: options.workers) { i in
            let item = workList[i]
            sink.finish(item.path, self.ingest(item.path, info: item.info, motion: item.motion, derived: options.derived,
                                               owner: owner,
                                               thumbhash: options.thumbhash && options.formatLevel >= AssetField.thumbhash.format,
                                               sha1: recordsPeople))
        }
        try sink.flush()
        let outcome = sink.outcome
        report.imported += outcome.imported
        report.duplicates += outcome.duplicates
        report.failed += outcome.failed
        report.warnings += outcome.warnings
        report.bytesRead = outcome.bytesRead
        report.bytesStored = outcome.bytesStored
        report.failed.sort { $0.path < $1.path }
        report.skipped.sort { $0.path < $1.path }
        report.seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        return report
    }

    /// The result of ingesting one file, before the catalog commit.
    enum Ingested {
        case asset(AssetImport, thumbnail: ObjectRef?, preview: ObjectRef?, thumbhash: String?, tags: [String], bytes: UInt64,
                   newBytes: UInt64, warning: String?)
        case duplicate(Hash256, bytes: UInt64)
        case failed(String)
    }

    func ingest(_ path: String, info: MediaInfo, motion: String?, derived: Bool, owner: PersonID? = nil,
                thumbhash: Bool = true, sha1 withSHA1: Bool = true) -> Ingested {
        let name = (path as NSString).lastPathComponent
        do {
            // The SHA-1 Immich clients deduplicate by, over the same bytes as they are read.
            var sha1 = SHA1()
            let original = try chunks.store(fileAt: path, observe: withSHA1 ? { sha1.update($0) } : nil)
            if let existing = try catalog.asset(original.id), !existing.purged {
                return .duplicate(original.id, bytes: original.size)
            }
            var newBytes = original.newBytes
            var thumb: ObjectRef?, preview: ObjectRef?, hash: String?
            var warning: String?
            if derived {
                let kind: SourceKind = info.type == .video ? .video : (info.format.isRaw ? .raw : .image)
                do {
                    let d = try DerivedImages.make(path: path, kind: kind)
                    let t = try chunks.store(bytes: d.thumbnail), p = try chunks.store(bytes: d.preview)
                    newBytes += t.newBytes + p.newBytes
                    thumb = ObjectRef(id: t.id, size: t.size, chunks: t.chunks)
                    preview = ObjectRef(id: p.id, size: p.size, chunks: p.chunks)
                    if thumbhash { hash = d.thumbhash }
                } catch let e as DerivedImageError {
                    switch e.code {
                    case .unsupported, .toolMissing:
                        warning = "no thumbnail: \(e.message)"
                    case _ where info.type == .video && info.durationSeconds != nil:
                        // The container was understood (it has a duration): keep the video,
                        // even when no frame of it can be decoded here.
                        warning = e.message
                    default:
                        return .failed("\(name): \(e.message)")
                    }
                }
            }
            var fields = Self.fields(from: info, bytes: original.size)
            for (field, value) in fields.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
                if let problem = field.problem(with: value) {
                    fields[field] = nil
                    warning = [warning, "ignored \(field): \(problem)"].compactMap { $0 }.joined(separator: "; ")
                }
            }
            if withSHA1 { fields[.sha1] = .text(sha1.finalizeBase64()) }
            if let owner { fields[.owner] = .text(owner.uuid) }
            if let m = motion {
                let video = try chunks.store(fileAt: m)
                newBytes += video.newBytes
                fields[.motion] = .bool(true)
                fields[.motionVideo] = .object(ObjectRef(id: video.id, size: video.size, chunks: video.chunks))
            }
            let imp = AssetImport(id: original.id, fileName: name,
                                  original: ObjectRef(id: original.id, size: original.size, chunks: original.chunks),
                                  fields: fields)
            return .asset(imp, thumbnail: thumb, preview: preview, thumbhash: hash, tags: info.tags, bytes: original.size,
                          newBytes: newBytes, warning: warning)
        } catch let e as ChunkStoreError {
            return .failed(e.message)
        } catch {
            return .failed("\(name): \(error)")
        }
    }

    /// Maps what the media reader found to catalog fields.
    static func fields(from info: MediaInfo, bytes: UInt64) -> [AssetField: FieldValue] {
        var f: [AssetField: FieldValue] = [:]
        f[.bytes] = .int(Int64(bytes))
        f[.mimeType] = .text(info.mimeType)
        f[.type] = .text(info.type.rawValue)
        if let t = info.takenAt {
            f[.takenAt] = .takenAt(TakenAt(localSeconds: t.localSeconds, utcOffsetMinutes: t.offsetMinutes.map(Int32.init)))
        }
        func int(_ k: AssetField, _ v: Int?) { if let v { f[k] = .int(Int64(v)) } }
        func dbl(_ k: AssetField, _ v: Double?) { if let v, v.isFinite { f[k] = .double(v) } }
        func txt(_ k: AssetField, _ v: String?) {
            if let v = v?.trimmingCharacters(in: .whitespacesAndNewlines), !v.isEmpty { f[k] = .text(String(v.prefix(1000))) }
        }
        int(.width, info.width); int(.height, info.height); int(.orientation, info.orientation)
        dbl(.latitude, info.latitude); dbl(.longitude, info.longitude); dbl(.altitude, info.altitude)
        txt(.make, info.make); txt(.model, info.model); txt(.lens, info.lens)
        dbl(.fNumber, info.fNumber); dbl(.exposureTime, info.exposureTime); int(.iso, info.iso)
        dbl(.focalLength, info.focalLength); dbl(.durationSeconds, info.durationSeconds)
        txt(.projection, info.projection); txt(.description, info.description)
        if let r = info.rating, (0...5).contains(r) { f[.rating] = .int(Int64(r)) }
        if let m = info.motion {
            f[.motion] = .bool(true)
            if m.videoLength > 0 {
                f[.motionRange] = .range(ByteRange(offset: UInt64(m.videoOffset), length: UInt64(m.videoLength)))
            }
        }
        return f
    }
}

/// Collects ingest results from worker threads and commits them to the catalog in batches.
final class ImportSink: @unchecked Sendable {
    struct Outcome {
        var imported: [(path: String, id: Hash256)] = []
        var duplicates: [(path: String, id: Hash256)] = []
        var failed: [(path: String, error: String)] = []
        var warnings: [(path: String, message: String)] = []
        var bytesRead: UInt64 = 0
        var bytesStored: UInt64 = 0
    }

    private let lock = NSLock()
    private let node: HearthNode
    private let commitEvery: Int
    private let total: Int
    private let progress: @Sendable (ImportProgress) -> Void
    private var pending: [(path: String, edits: [Edit], id: Hash256)] = []
    private var seen = Set<Hash256>()
    private var done = 0
    private(set) var outcome = Outcome()

    init(node: HearthNode, commitEvery: Int, total: Int, progress: @escaping @Sendable (ImportProgress) -> Void) {
        self.node = node
        self.commitEvery = commitEvery
        self.total = total
        self.progress = progress
    }

    func finish(_ path: String, _ result: HearthNode.Ingested) {
        lock.lock()
        defer { lock.unlock() }
        done += 1
        switch result {
        case .failed(let reason):
            outcome.failed.append((path, reason))
        case .duplicate(let id, let bytes):
            outcome.bytesRead += bytes
            outcome.duplicates.append((path, id))
        case .asset(let imp, let thumb, let preview, let hash, let tags, let bytes, let newBytes, let warning):
            outcome.bytesRead += bytes
            outcome.bytesStored += newBytes
            if seen.contains(imp.id) {
                outcome.duplicates.append((path, imp.id))
                break
            }
            seen.insert(imp.id)
            var edits: [Edit] = [.importAsset(imp)]
            if let thumb { edits.append(.setThumbnail(imp.id, thumb)) }
            if let preview { edits.append(.setPreview(imp.id, preview)) }
            if let hash { edits.append(.setField(imp.id, .thumbhash, .text(hash))) }
            for t in Set(tags).sorted() where !t.isEmpty { edits.append(.addTag(imp.id, t)) }
            if let warning { outcome.warnings.append((path, warning)) }
            pending.append((path, edits, imp.id))
            if pending.count >= commitEvery { commitPending() }
        }
        progress(ImportProgress(done: done, total: total, bytes: outcome.bytesRead, current: path))
    }

    func flush() throws {
        lock.lock()
        defer { lock.unlock() }
        commitPending()
    }

    /// Commits what is pending as one batch; if the batch is refused, retries asset by asset so
    /// one bad record fails alone.
    private func commitPending() {
        guard !pending.isEmpty else { return }
        let batch = pending
        pending.removeAll()
        do {
            try node.commit(batch.flatMap(\.edits))
            outcome.imported += batch.map { ($0.path, $0.id) }
        } catch {
            for item in batch {
                do {
                    try node.commit(item.edits)
                    outcome.imported.append((item.path, item.id))
                } catch {
                    // A tag the catalog refuses should not lose the photo: retry without extras.
                    do {
                        try node.commit(Array(item.edits.prefix(1)))
                        outcome.imported.append((item.path, item.id))
                    } catch {
                        outcome.failed.append((item.path, "\((item.path as NSString).lastPathComponent): \(error)"))
                    }
                }
            }
        }
    }
}

/// Runs work on a fixed number of threads (blocking C decoders do not belong on Swift's
/// cooperative pool).
enum ParallelMap {
    static func forEach(_ count: Int, workers: Int, _ body: @escaping @Sendable (Int) -> Void) {
        guard count > 0 else { return }
        let next = Counter()
        let group = DispatchGroup()
        for n in 0..<min(max(1, workers), count) {
            group.enter()
            let t = Thread {
                while let i = next.take(below: count) { body(i) }
                group.leave()
            }
            t.name = "hearth-import-\(n)"
            t.stackSize = 8 << 20
            t.start()
        }
        group.wait()
    }

    static func run<T: Sendable>(_ count: Int, workers: Int, _ body: @escaping @Sendable (Int) -> T) -> [T] {
        let results = ResultSlots<T>(count: count)
        forEach(count, workers: workers) { i in results.set(i, body(i)) }
        return results.values()
    }

    final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var value = 0
        func take(below limit: Int) -> Int? {
            lock.lock(); defer { lock.unlock() }
            guard value < limit else { return nil }
            value += 1
            return value - 1
        }
    }

    final class ResultSlots<T>: @unchecked Sendable {
        private let lock = NSLock()
        private var slots: [T?]
        init(count: Int) { slots = Array(repeating: nil, count: count) }
        func set(_ i: Int, _ v: T) { lock.lock(); slots[i] = v; lock.unlock() }
        func values() -> [T] { lock.lock(); defer { lock.unlock() }; return slots.map { $0! } }
    }
}
