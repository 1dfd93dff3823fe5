import Foundation
import HearthCrypto

/// The content-addressed byte store of a Hearth node.
///
/// Objects (originals, thumbnails, previews) are split into FastCDC chunks named by their
/// BLAKE2b-256; a chunk already present is never written again. `store` returns only once
/// the chunk bytes are fsynced and indexed, so a catalog that commits afterwards can never
/// reference bytes a crash could lose. Two backends share all of this logic: pack files with
/// a SQLite index (`open(directory:)`) and memory (`inMemory()`, for the simulator).
///
/// ```swift
/// let store = try ChunkStore.open(directory: home + "/chunks")
/// let obj = try store.store(fileAt: "IMG_0001.HEIC")        // obj.id is the asset id
/// // … catalog commits obj.id and obj.chunks …
/// try store.export(chunks: obj.chunks, expectedID: obj.id, to: "out/IMG_0001.HEIC")
/// // sync receiver:
/// let need = try store.missing(of: offered)
/// try store.putChunks(received)                               // hash-checked, one fsync
/// ```
///
/// Operations are serialized by an internal lock; the store may be shared between tasks.
public final class ChunkStore: @unchecked Sendable {
    /// Runs `body` for every index below a count, possibly on several threads at once.
    public typealias ParallelFor = @Sendable (_ count: Int, _ body: @escaping @Sendable (Int) -> Void) -> Void

    private let backend: any ChunkBackend
    private let lock = NSLock()
    private let scanner = ChunkScanner()
    private let parallelFor: ParallelFor?
    private var quarantine: [Hash256] = []

    init(backend: any ChunkBackend, parallelFor: ParallelFor? = nil) {
        self.backend = backend
        self.parallelFor = parallelFor
    }

    /// Opens (creating if needed) a file-backed store in `directory`, repairing what a crash
    /// may have left: a torn pack tail is cut off and unindexed pack files are removed.
    /// - Parameter parallelFor: how `putChunks` spreads the hashing of a batch of received chunks
    ///   (a node passes `DispatchQueue.concurrentPerform`); the store itself never starts threads,
    ///   and without it chunks are checked one after another.
    public static func open(directory: String, parallelFor: ParallelFor? = nil) throws -> ChunkStore {
        ChunkStore(backend: try FileBackend(directory: directory), parallelFor: parallelFor)
    }

    /// A store held in memory: deterministic, nothing touches the disk (except `store(fileAt:)`
    /// reading its input and `export` writing its output).
    public static func inMemory() -> ChunkStore {
        ChunkStore(backend: MemoryBackend())
    }

    private func locked<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    /// Runs one write batch: commit on success, rollback on any error.
    private func batch<T>(_ body: () throws -> T) throws -> T {
        try locked {
            do {
                let result = try body()
                try backend.commit()
                return result
            } catch {
                backend.rollback()
                throw error
            }
        }
    }

    // MARK: Storing

    /// Imports a file: hashes it, chunks it, writes new chunks, and returns once they are durable.
    /// - Parameter progress: called with the number of bytes processed so far.
    /// - Parameter observe: sees every byte of the file once, in order, as it is read (for a
    ///   second digest such as SHA-1 without reading the file again).
    public func store(fileAt path: String, progress: ((UInt64) -> Void)? = nil,
                      observe: ((UnsafeRawBufferPointer) -> Void)? = nil) throws -> StoredObject {
        if let bytes = try Self.readSmallFile(path) {
            if let observe { bytes.withUnsafeBytes { observe($0) } }
            // Hash and chunk outside the lock, so that parallel importers hash in parallel;
            // only the appends and the durable commit are serialized.
            var pieces: [(id: Hash256, range: Range<Int>)] = []
            let scanned = bytes.withUnsafeBytes { raw in
                ChunkScanner.scanBuffer(raw) { id, chunk in
                    let start = raw.baseAddress.map { chunk.baseAddress! - $0 } ?? 0
                    pieces.append((id, start..<(start + chunk.count)))
                    return false
                }
            }
            progress?(UInt64(bytes.count))
            return try batch {
                var newBytes: UInt64 = 0, newChunks = 0
                try bytes.withUnsafeBytes { raw in
                    for p in pieces where try backend.append(p.id, UnsafeRawBufferPointer(rebasing: raw[p.range])) {
                        newBytes += UInt64(p.range.count)
                        newChunks += 1
                    }
                }
                return StoredObject(id: scanned.id, size: scanned.size, chunks: scanned.chunks,
                                    newBytes: newBytes, newChunks: newChunks)
            }
        }
        return try batch {
            try scanner.scanFile(path, progress: progress, observe: observe) { id, bytes in try backend.append(id, bytes) }
        }
    }

    /// Files up to this size are read whole and hashed outside the lock; larger ones stream.
    static let inMemoryFileLimit = 64 << 20

    /// The whole file when it is at most `inMemoryFileLimit` bytes, else nil.
    static func readSmallFile(_ path: String) throws -> [UInt8]? {
        let fd = try FileIO.openFile(path, O_RDONLY)
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, st.st_size <= inMemoryFileLimit else { return nil }
        var bytes = [UInt8](repeating: 0, count: Int(st.st_size))
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, $0.count - done, off_t(done)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw ChunkStoreError(.unreadable, "\(path): read failed (\(String(cString: strerror(errno))))")
            }
            if n == 0 { return nil } // The file shrank while we read it: let the streaming path report it.
            done += n
        }
        return bytes
    }

    /// Imports many files with one fsync and one index commit for all of them, which is what
    /// makes importing thousands of small photos fast. A file that fails (unreadable, removed)
    /// gets its error in its slot and costs the others nothing; an error of the store itself
    /// (disk full, index failure) is thrown and nothing from this call is kept.
    /// - Parameter progress: called with (index of the file, bytes of it processed so far).
    public func store(filesAt paths: [String], progress: ((Int, UInt64) -> Void)? = nil) throws -> [Result<StoredObject, ChunkStoreError>] {
        try batch {
            var results: [Result<StoredObject, ChunkStoreError>] = []
            for (i, path) in paths.enumerated() {
                let mark = backend.mark()
                do {
                    let obj = try scanner.scanFile(path, progress: progress.map { p in { p(i, $0) } }) { id, bytes in
                        try backend.append(id, bytes)
                    }
                    results.append(.success(obj))
                } catch let e as ChunkStoreError where e.message.hasPrefix(path + ":") {
                    // The input file failed (its errors name it first); store errors name packs.
                    backend.rollback(to: mark)
                    results.append(.failure(e))
                }
            }
            return results
        }
    }

    /// Stores an object held in memory (a thumbnail or preview made on this node).
    public func store(bytes: [UInt8]) throws -> StoredObject {
        try batch {
            try bytes.withUnsafeBytes { raw in
                try ChunkScanner.scanBuffer(raw) { id, chunk in try backend.append(id, chunk) }
            }
        }
    }

    /// Stores one chunk received from a peer after checking that `bytes` hash to `id`.
    /// - Returns: whether the chunk was new.
    @discardableResult
    public func putChunk(_ id: Hash256, _ bytes: [UInt8]) throws -> Bool {
        try putChunks([(id: id, bytes: bytes)]) == 1
    }

    /// Stores chunks received from a peer with a single fsync. Every chunk is checked first;
    /// if one is too long or does not hash to its id, nothing is stored and the error names it.
    /// - Returns: how many chunks were new.
    @discardableResult
    public func putChunks(_ chunks: [(id: Hash256, bytes: [UInt8])]) throws -> Int {
        for (id, bytes) in chunks where bytes.count > FastCDC.maxSize {
            throw ChunkStoreError(.tooLarge, "chunk \(id.hex) is \(bytes.count) bytes; chunks are at most \(FastCDC.maxSize) bytes")
        }
        for ((id, _), actual) in zip(chunks, hashes(of: chunks)) {
            guard actual == id else {
                throw ChunkStoreError(.hashMismatch, "bytes offered for chunk \(id.hex) hash to \(actual.hex); the sender must resend it")
            }
        }
        return try batch {
            var new = 0
            for (id, bytes) in chunks {
                if try bytes.withUnsafeBytes({ try backend.append(id, $0) }) { new += 1 }
            }
            return new
        }
    }

    /// The BLAKE2b-256 of every chunk, spread over threads when the store was given `parallelFor`.
    private func hashes(of chunks: [(id: Hash256, bytes: [UInt8])]) -> [Hash256] {
        guard let parallelFor, chunks.count > 1 else { return chunks.map { Blake2b.hash256($0.bytes) } }
        var out = [Hash256?](repeating: nil, count: chunks.count)
        out.withUnsafeMutableBufferPointer { buffer in
            nonisolated(unsafe) let slots = buffer // each index is written by exactly one call
            parallelFor(chunks.count) { i in slots[i] = Blake2b.hash256(chunks[i].bytes) }
        }
        return out.map { $0! }
    }

    // MARK: Reading

    public func hasChunk(_ id: Hash256) throws -> Bool {
        try locked { try backend.contains(id) }
    }

    /// Hints that a peer asked for these chunks: the store may start reading them from disk.
    public func willRead(_ ids: [Hash256]) {
        locked { backend.willRead(ids) }
    }

    /// The ids in `ids` that are not stored, in their first-seen order, without duplicates.
    public func missing(of ids: [Hash256]) throws -> [Hash256] {
        try locked {
            var seen = Set<Hash256>()
            var out: [Hash256] = []
            for id in ids where seen.insert(id).inserted {
                if try !backend.contains(id) { out.append(id) }
            }
            return out
        }
    }

    /// A chunk's bytes, checked against its id. Throws `.missingChunk` or `.corrupt`
    /// (naming the chunk and its pack).
    public func readChunk(_ id: Hash256) throws -> [UInt8] {
        try locked { try backend.read(id) }
    }

    /// A chunk's bytes for a peer, without re-hashing them here: the receiver verifies every chunk
    /// by hash before storing it (`putChunk`), so hashing on both ends would only halve the rate.
    public func readChunkForPeer(_ id: Hash256) throws -> [UInt8] {
        try locked { try backend.readForPeer(id) }
    }

    /// A chunk's bytes, checked against its id. A chunk whose bytes fail the check is set aside
    /// first: forgotten by the index (so `missing(of:)` reports it and sync fetches a good copy)
    /// and named in `quarantined()`; the read then throws `.corrupt` saying so.
    public func readChunkOrQuarantine(_ id: Hash256) throws -> [UInt8] {
        try locked {
            do {
                return try backend.read(id)
            } catch let e as ChunkStoreError where e.code == .corrupt {
                _ = try backend.forget([id])
                quarantine.append(id)
                throw ChunkStoreError(.corrupt, e.message.replacingOccurrences(of: "; fetch it again from a peer", with: "")
                                      + "; set aside, to be fetched again from a peer")
            }
        }
    }

    /// The chunks `readChunkOrQuarantine` has set aside since this store was opened.
    public func quarantined() -> [Hash256] { locked { quarantine } }

    /// Every stored chunk id, sorted.
    public func allChunkIDs() throws -> [Hash256] {
        try locked { try backend.allIDs() }
    }

    // MARK: Maintenance

    /// Re-hashes every chunk.
    /// - Parameter progress: called with (bytes checked, total bytes).
    public func verify(progress: ((UInt64, UInt64) -> Void)? = nil) throws -> VerifyReport {
        try locked { try backend.verify(progress: progress ?? { _, _ in }) }
    }

    /// Drops chunks (typically those `verify` found damaged) so that `missing(of:)` reports
    /// them and sync fetches good copies; `putChunk` then stores them again.
    /// - Returns: how many of `ids` were stored.
    @discardableResult
    public func forget(_ ids: [Hash256]) throws -> Int {
        try locked { try backend.forget(ids) }
    }

    /// Removes every chunk not in `keep`; packs left mostly empty are rewritten, empty ones deleted.
    public func gc(keep: Set<Hash256>) throws -> GCReport {
        try gc(keep: keep, stop: nil)
    }

    func gc(keep: Set<Hash256>, stop: GCStop?) throws -> GCReport {
        try locked { try backend.gc(keep: keep, stop: stop) }
    }

    /// SQLite's own check of the chunk index (`PRAGMA integrity_check`): empty when intact.
    public func integrityProblems() -> [String] { locked { backend.integrityProblems() } }

    public func stats() throws -> ChunkStoreStats {
        try locked { try backend.stats() }
    }

    /// The backend, for tests that damage stored bytes on purpose.
    var backendForTesting: any ChunkBackend { backend }
}
