#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import GRDB
import HearthCrypto

/// Pack files plus a SQLite index (`index.sqlite`: chunk id → pack, offset, length).
///
/// Durability order for every batch: append records to packs, fsync the packs (and the
/// directories of new packs), then commit the index rows in one transaction. So an index
/// row never points at bytes that a crash could lose; a crash leaves at worst unindexed
/// bytes at a pack's tail, or a pack file with no index row, and `init` removes both.
final class FileBackend: ChunkBackend {
    struct Staged {
        let id: Hash256
        let pack: Int64
        let offset: Int64
        let length: Int
    }

    let directory: String
    let db: DatabaseQueue
    /// Holds an exclusive `flock` on `directory/lock`: two writers appending to the same pack
    /// would interleave records.
    private let lockFD: Int32
    /// Size of every indexed pack whose file exists.
    var packSizes: [Int64: Int64] = [:]
    /// Open descriptors, at most `maxOpenPacks` (plus the ones the batch touches).
    var fds: [Int64: Int32] = [:]
    static let maxOpenPacks = 64
    /// The pack that receives appends.
    var active: Int64?
    var nextPackID: Int64 = 1
    /// A pack stops receiving appends at this size (smaller in tests, to exercise rolling).
    var rollSize = PackFormat.rollSize

    // The open batch.
    var staged: [Staged] = []
    var stagedIDs = Set<Hash256>()
    /// Pack → its size before the batch wrote to it.
    var touched: [Int64: Int64] = [:]
    var createdPacks: [Int64] = []
    /// Packs whose index rows the commit deletes (gc: their live chunks were copied).
    var packsToDrop: [Int64] = []

    init(directory: String) throws {
        self.directory = directory
        try FileIO.makeDirectories(directory + "/packs")
        let lockPath = directory + "/lock"
        lockFD = try FileIO.openFile(lockPath, O_RDWR | O_CREAT)
        guard flock(lockFD, LOCK_EX | LOCK_NB) == 0 else {
            close(lockFD)
            throw ChunkStoreError(.busy, "\(directory): the chunk store is already open in another process (or twice in this one)")
        }
        var config = Configuration()
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA journal_mode = WAL")
            // FULL: a commit is durable when it returns, which the catalog relies on.
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        let dbPath = directory + "/index.sqlite"
        do {
            db = try DatabaseQueue(path: dbPath, configuration: config)
            try IndexMigrations.migrate(db, path: dbPath)
        } catch {
            close(lockFD)
            throw Self.mapDatabaseError(error, dbPath)
        }
        do {
            try recover()
        } catch {
            for fd in fds.values { close(fd) }
            close(lockFD)
            throw error
        }
    }

    deinit {
        for fd in fds.values { close(fd) }
        close(lockFD)
    }

    // MARK: Paths and descriptors

    func absolutePath(_ pack: Int64) -> String {
        directory + "/" + PackFormat.relativePath(pack)
    }

    func packDirectory(_ pack: Int64) -> String {
        directory + "/packs/" + PackFormat.directoryName(pack)
    }

    func descriptor(_ pack: Int64) throws -> Int32 {
        if let fd = fds[pack] { return fd }
        if fds.count >= Self.maxOpenPacks {
            for (p, fd) in fds where p != active && touched[p] == nil {
                close(fd)
                fds[p] = nil
            }
        }
        let fd = try FileIO.openFile(absolutePath(pack), O_RDWR)
        fds[pack] = fd
        return fd
    }

    func closeAndRemove(_ pack: Int64) {
        if let fd = fds.removeValue(forKey: pack) { close(fd) }
        packSizes[pack] = nil
        if active == pack { active = nil }
        unlink(absolutePath(pack))
    }

    // MARK: Database helpers

    static func mapDatabaseError(_ error: Error, _ path: String) -> Error {
        if let e = error as? ChunkStoreError { return e }
        if let e = error as? DatabaseError {
            let detail = e.message ?? "\(e.extendedResultCode)"
            switch e.resultCode {
            case .SQLITE_FULL:
                return ChunkStoreError(.diskFull, "disk full while writing the chunk index (\(path)); free some space and retry")
            case .SQLITE_PERM, .SQLITE_READONLY, .SQLITE_CANTOPEN:
                return ChunkStoreError(.permissionDenied, "\(path): cannot open or write the chunk index (\(detail))")
            case .SQLITE_BUSY, .SQLITE_LOCKED:
                return ChunkStoreError(.busy, "chunk index is busy: another hearth process holds it (\(path), \(detail))")
            case .SQLITE_CORRUPT, .SQLITE_NOTADB:
                return ChunkStoreError(.corrupt, "chunk index is corrupt (\(path): \(detail)); "
                                       + "its chunks must be fetched again from a peer: move the home aside and `hearth join` again with a ticket from another device")
            case .SQLITE_IOERR:
                return ChunkStoreError(.io, "I/O error on the chunk index (\(path): \(detail)); check the disk")
            default:
                return ChunkStoreError(.database, "\(path): chunk index error (\(detail))")
            }
        }
        return ChunkStoreError(.database, "\(path): chunk index error (\(error))")
    }

    func read<T>(_ body: (Database) throws -> T) throws -> T {
        do { return try db.read(body) } catch { throw Self.mapDatabaseError(error, directory + "/index.sqlite") }
    }

    func write<T>(_ body: (Database) throws -> T) throws -> T {
        do { return try db.write(body) } catch { throw Self.mapDatabaseError(error, directory + "/index.sqlite") }
    }

    func row(_ id: Hash256) throws -> (pack: Int64, offset: Int64, length: Int)? {
        try read { db in
            guard let r = try Row.fetchOne(db, sql: "SELECT pack, offset, length FROM chunk WHERE id = ?",
                                           arguments: [Data(id.bytes)]) else { return nil }
            return (r["pack"], r["offset"], r["length"])
        }
    }

    // MARK: Recovery

    /// Cuts each pack back to the end of its last indexed record (a torn or unindexed tail
    /// is garbage by construction), deletes pack files the index does not know, and picks
    /// the pack to append to.
    func recover() throws {
        let (known, ends) = try read { db -> (Set<Int64>, [Int64: Int64]) in
            let known = Set(try Int64.fetchAll(db, sql: "SELECT id FROM pack"))
            var ends: [Int64: Int64] = [:]
            for r in try Row.fetchAll(db, sql: "SELECT pack, MAX(offset + length) AS e FROM chunk GROUP BY pack") {
                ends[r["pack"]] = r["e"]
            }
            return (known, ends)
        }
        var maxID = known.max() ?? 0
        let packsDir = directory + "/packs"
        for sub in try FileIO.list(packsDir) where sub.utf8.count == 2 {
            var removed = false
            for name in (try? FileIO.list(packsDir + "/" + sub)) ?? [] {
                guard let id = PackFormat.packID(fileName: name) else { continue }
                maxID = max(maxID, id)
                if !known.contains(id) {
                    unlink(packsDir + "/" + sub + "/" + name)
                    removed = true
                }
            }
            if removed { try FileIO.fsyncDirectory(packsDir + "/" + sub) }
        }
        nextPackID = maxID + 1
        for id in known.sorted() where FileIO.exists(absolutePath(id)) {
            try repairTail(id, indexedEnd: ends[id])
        }
        chooseActive()
    }

    private func repairTail(_ id: Int64, indexedEnd: Int64?) throws {
        let path = absolutePath(id)
        let fd = try descriptor(id)
        var size = try FileIO.size(fd, path: path)
        var header = [UInt8](repeating: 0, count: PackFormat.headerSize)
        let n = try header.withUnsafeMutableBytes {
            try FileIO.preadFull(fd, $0.baseAddress!, count: $0.count, at: 0, path: path)
        }
        if n < PackFormat.headerSize || PackFormat.problem(inHeader: header) != nil {
            guard indexedEnd == nil else {
                // Indexed chunks behind a bad header: leave the bytes alone for verify to report.
                packSizes[id] = size
                return
            }
            try PackFormat.header.withUnsafeBytes { try FileIO.pwriteAll(fd, $0, at: 0, path: path) }
            size = max(size, Int64(PackFormat.headerSize))
        }
        let end = max(indexedEnd ?? 0, Int64(PackFormat.headerSize))
        if size > end {
            try FileIO.truncate(fd, to: end, path: path)
            try FileIO.sync(fd, path: path)
            size = end
        }
        packSizes[id] = size
    }

    /// The newest pack with room, so appends continue where they stopped.
    func chooseActive() {
        active = packSizes.keys.sorted().last { packSizes[$0]! < rollSize }
    }

    // MARK: Reading

    enum Outcome {
        case ok([UInt8])
        case missing(String)
        case bad(String)
    }

    /// Reads a record and checks its header and hash.
    func readRecord(_ id: Hash256, pack: Int64, offset: Int64, length: Int, rehash: Bool = true) -> Outcome {
        let name = PackFormat.relativePath(pack)
        guard (0...FastCDC.maxSize).contains(length), offset >= Int64(PackFormat.headerSize + PackFormat.recordHeaderSize) else {
            return .bad("chunk \(id.hex): the index gives an impossible place in \(name) (offset \(offset), length \(length))")
        }
        guard packSizes[pack] != nil, let fd = try? descriptor(pack) else {
            return .missing("chunk \(id.hex): its pack \(name) is missing")
        }
        let path = absolutePath(pack)
        var head = [UInt8](repeating: 0, count: PackFormat.recordHeaderSize)
        let data: [UInt8]
        do {
            let h = try head.withUnsafeMutableBytes {
                try FileIO.preadFull(fd, $0.baseAddress!, count: $0.count, at: offset - Int64($0.count), path: path)
            }
            // Uninitialized: the read fills it, and a short read shrinks it.
            data = try [UInt8](unsafeUninitializedCapacity: length) { buf, count in
                guard let base = buf.baseAddress else { count = 0; return }
                count = try FileIO.preadFull(fd, base, count: length, at: offset, path: path)
            }
            if h < head.count || data.count < length {
                return .missing("chunk \(id.hex) in \(name) at offset \(offset): the pack ends before the chunk does")
            }
        } catch {
            return .missing("chunk \(id.hex) in \(name): \(error)")
        }
        let headerOK = head.withUnsafeBytes { PackFormat.recordMatches($0, id: id, length: length) }
        guard headerOK else {
            return .bad("chunk \(id.hex) in \(name) at offset \(offset): the record header does not match the index")
        }
        guard rehash else { return .ok(data) }
        let actual = Blake2b.hash256(data)
        guard actual == id else {
            return .bad("chunk \(id.hex) in \(name) at offset \(offset) is corrupt: its bytes hash to \(actual.hex)")
        }
        return .ok(data)
    }

    /// Asks the kernel to read the chunks' records ahead (`POSIX_FADV_WILLNEED`), one call per
    /// run of neighbouring records, so a sender's reads overlap its encryption.
    func willRead(_ ids: [Hash256]) {
        var spans: [(pack: Int64, start: Int64, end: Int64)] = []
        for id in ids {
            guard let r = try? row(id) else { continue }
            spans.append((r.pack, r.offset - Int64(PackFormat.recordHeaderSize), r.offset + Int64(r.length)))
        }
        spans.sort { ($0.pack, $0.start) < ($1.pack, $1.start) }
        var merged: [(pack: Int64, start: Int64, end: Int64)] = []
        for s in spans {
            if let last = merged.last, last.pack == s.pack, s.start <= last.end + 65_536 {
                merged[merged.count - 1].end = max(last.end, s.end)
            } else {
                merged.append(s)
            }
        }
        for m in merged {
            guard packSizes[m.pack] != nil, let fd = try? descriptor(m.pack) else { continue }
            #if canImport(Glibc)
            _ = posix_fadvise(fd, off_t(m.start), off_t(m.end - m.start), POSIX_FADV_WILLNEED)
            #endif
        }
    }

    func location(of id: Hash256) throws -> String? {
        try row(id).map { PackFormat.relativePath($0.pack) }
    }

    func contains(_ id: Hash256) throws -> Bool {
        try row(id) != nil
    }

    func read(_ id: Hash256) throws -> [UInt8] { try read(id, rehash: true) }

    func readForPeer(_ id: Hash256) throws -> [UInt8] { try read(id, rehash: false) }

    func read(_ id: Hash256, rehash: Bool) throws -> [UInt8] {
        guard let r = try row(id) else {
            throw ChunkStoreError(.missingChunk, "chunk \(id.hex) is not in the store at \(directory)")
        }
        switch readRecord(id, pack: r.pack, offset: r.offset, length: r.length, rehash: rehash) {
        case .ok(let bytes): return bytes
        case .missing(let why), .bad(let why):
            throw ChunkStoreError(.corrupt, why + "; fetch it again from a peer")
        }
    }

    func allIDs() throws -> [Hash256] {
        try read { db in
            try Data.fetchAll(db, sql: "SELECT id FROM chunk ORDER BY id").compactMap { Hash256(bytes: [UInt8]($0)) }
        }
    }

    func integrityProblems() -> [String] {
        do {
            let rows = try read { try String.fetchAll($0, sql: "PRAGMA integrity_check(20)") }
            return rows == ["ok"] ? [] : rows.map { "chunk index \(directory)/index.sqlite: \($0)" }
        } catch {
            return ["\(error)"]
        }
    }

    func stats() throws -> ChunkStoreStats {
        try read { db in
            let r = try Row.fetchOne(db, sql: "SELECT COALESCE(SUM(liveCount), 0) AS c, COALESCE(SUM(liveBytes), 0) AS b, COUNT(*) AS p FROM pack")!
            let onDisk = packSizes.values.reduce(Int64(0), +)
            return ChunkStoreStats(chunkCount: r["c"], storedBytes: UInt64(r["b"] as Int64),
                                   packCount: r["p"], packBytes: UInt64(onDisk))
        }
    }
}
