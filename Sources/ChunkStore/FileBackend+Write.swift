#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import GRDB
import HearthCrypto

extension FileBackend {
    func append(_ id: Hash256, _ bytes: UnsafeRawBufferPointer) throws -> Bool {
        precondition(bytes.count <= FastCDC.maxSize)
        if stagedIDs.contains(id) { return false }
        if try row(id) != nil { return false }
        try appendRecord(id, bytes)
        return true
    }

    /// Appends a record to the active pack without the dedup check (gc uses it to move chunks).
    func appendRecord(_ id: Hash256, _ bytes: UnsafeRawBufferPointer) throws {
        let recordSize = Int64(PackFormat.recordHeaderSize + bytes.count)
        let pack = try writablePack(room: recordSize)
        let offset = packSizes[pack]!
        if touched[pack] == nil { touched[pack] = offset }
        let fd = try descriptor(pack)
        let path = absolutePath(pack)
        let head = PackFormat.recordHeader(id: id, length: bytes.count)
        try head.withUnsafeBytes { try FileIO.pwriteAll(fd, $0, at: offset, path: path) }
        if bytes.count > 0 {
            try FileIO.pwriteAll(fd, bytes, at: offset + Int64(head.count), path: path)
        }
        packSizes[pack] = offset + recordSize
        staged.append(Staged(id: id, pack: pack, offset: offset + Int64(head.count), length: bytes.count))
        stagedIDs.insert(id)
    }

    /// The active pack if `room` more bytes fit, else a new pack (a record never spans packs).
    private func writablePack(room: Int64) throws -> Int64 {
        if let a = active, let size = packSizes[a],
           size + room <= rollSize || size == Int64(PackFormat.headerSize) {
            return a
        }
        let id = nextPackID
        nextPackID += 1
        try FileIO.makeDirectory(packDirectory(id))
        let path = absolutePath(id)
        let fd = try FileIO.openFile(path, O_RDWR | O_CREAT | O_EXCL, action: "creating")
        fds[id] = fd
        packSizes[id] = 0
        touched[id] = 0
        createdPacks.append(id)
        active = id
        try PackFormat.header.withUnsafeBytes { try FileIO.pwriteAll(fd, $0, at: 0, path: path) }
        packSizes[id] = Int64(PackFormat.headerSize)
        return id
    }

    /// Makes the batch durable: packs first, then the index in one transaction.
    func commit() throws {
        guard !staged.isEmpty || !createdPacks.isEmpty || !packsToDrop.isEmpty else { return }
        for pack in touched.keys.sorted() {
            try FileIO.sync(try descriptor(pack), path: absolutePath(pack))
        }
        if !createdPacks.isEmpty {
            for dir in Set(createdPacks.map(packDirectory)).sorted() { try FileIO.fsyncDirectory(dir) }
            try FileIO.fsyncDirectory(directory + "/packs")
        }
        var perPack: [Int64: (count: Int64, bytes: Int64)] = [:]
        for s in staged {
            let old = perPack[s.pack] ?? (0, 0)
            perPack[s.pack] = (old.count + 1, old.bytes + Int64(s.length))
        }
        try write { db in
            for p in createdPacks {
                try db.execute(sql: "INSERT INTO pack (id, liveCount, liveBytes) VALUES (?, 0, 0)", arguments: [p])
            }
            for s in staged {
                try db.execute(sql: "INSERT OR REPLACE INTO chunk (id, pack, offset, length) VALUES (?, ?, ?, ?)",
                               arguments: [Data(s.id.bytes), s.pack, s.offset, s.length])
            }
            for (p, t) in perPack.sorted(by: { $0.key < $1.key }) {
                try db.execute(sql: "UPDATE pack SET liveCount = liveCount + ?, liveBytes = liveBytes + ? WHERE id = ?",
                               arguments: [t.count, t.bytes, p])
            }
            for p in packsToDrop {
                try db.execute(sql: "DELETE FROM pack WHERE id = ?", arguments: [p])
            }
        }
        clearBatch()
    }

    /// Forgets the batch: new packs are deleted, touched packs cut back to their old size.
    func rollback() {
        let created = Set(createdPacks)
        for (pack, size) in touched where !created.contains(pack) {
            if let fd = fds[pack] {
                try? FileIO.truncate(fd, to: size, path: absolutePath(pack))
            }
            packSizes[pack] = size
        }
        for p in createdPacks { closeAndRemove(p) }
        clearBatch()
        if active == nil { chooseActive() }
    }

    func mark() -> BatchMark {
        var sizes: [Int64: Int64] = [:]
        for p in touched.keys { sizes[p] = packSizes[p] }
        return BatchMark(stagedCount: staged.count, createdCount: createdPacks.count, packSizes: sizes)
    }

    /// Packs touched before the mark go back to their size at the mark; packs first touched
    /// after it go back to their size before the batch; packs created after it are deleted.
    func rollback(to mark: BatchMark) {
        for s in staged[mark.stagedCount...] { stagedIDs.remove(s.id) }
        staged.removeSubrange(mark.stagedCount...)
        let lateCreated = createdPacks[mark.createdCount...]
        createdPacks.removeSubrange(mark.createdCount...)
        for p in lateCreated {
            touched[p] = nil
            closeAndRemove(p)
        }
        for (pack, before) in touched.sorted(by: { $0.key < $1.key }) {
            let size = mark.packSizes[pack] ?? before
            if mark.packSizes[pack] == nil { touched[pack] = nil }
            if let fd = fds[pack] { try? FileIO.truncate(fd, to: size, path: absolutePath(pack)) }
            packSizes[pack] = size
        }
        if active == nil { chooseActive() }
    }

    private func clearBatch() {
        staged.removeAll()
        stagedIDs.removeAll()
        touched.removeAll()
        createdPacks.removeAll()
        packsToDrop.removeAll()
    }
}
