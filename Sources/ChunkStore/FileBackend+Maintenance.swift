#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import GRDB
import HearthCrypto

extension FileBackend {
    /// Re-reads every indexed chunk in pack order (sequential reads) and re-hashes it.
    func verify(progress: (UInt64, UInt64) -> Void) throws -> VerifyReport {
        var report = VerifyReport()
        try read { db in
            let total = UInt64(try Int64.fetchOne(db, sql: "SELECT COALESCE(SUM(length), 0) FROM chunk") ?? 0)
            let rows = try Row.fetchCursor(db, sql: "SELECT id, pack, offset, length FROM chunk ORDER BY pack, offset")
            while let r = try rows.next() {
                guard let id = Hash256(bytes: [UInt8](r["id"] as Data)) else { continue }
                let pack: Int64 = r["pack"]
                let length: Int = r["length"]
                switch readRecord(id, pack: pack, offset: r["offset"], length: length) {
                case .ok: break
                case .missing:
                    report.problems.append(ChunkProblem(chunk: id, pack: PackFormat.relativePath(pack), kind: .missing))
                case .bad:
                    report.problems.append(ChunkProblem(chunk: id, pack: PackFormat.relativePath(pack), kind: .badHash))
                }
                report.chunksChecked += 1
                report.bytesChecked += UInt64(length)
                progress(report.bytesChecked, total)
            }
        }
        report.problems.sort { $0.chunk < $1.chunk }
        return report
    }

    /// Removes unreferenced chunks, crash-safe at every step:
    /// 1. delete their index rows (their bytes become garbage);
    /// 2. copy the live chunks of packs that are mostly garbage into a new pack, fsync it;
    /// 3. in one transaction point the index at the copies and drop the old packs' rows;
    /// 4. delete the old pack files, and packs with no live chunk at all.
    /// A crash after 2 leaves an unindexed pack that `recover` deletes; after 3, old pack
    /// files without rows, which `recover` deletes too.
    func gc(keep: Set<Hash256>, stop: GCStop?) throws -> GCReport {
        precondition(staged.isEmpty, "gc inside an open batch")
        var report = GCReport()
        try pruneIndex(keep: keep, report: &report)
        if stop == .afterIndexPruned { return report }

        let packs = try read { db in
            try Row.fetchAll(db, sql: "SELECT id, liveCount, liveBytes FROM pack ORDER BY id")
                .map { (id: $0["id"] as Int64, count: $0["liveCount"] as Int64, bytes: $0["liveBytes"] as Int64) }
        }
        var empty: [Int64] = []
        var sparse: [Int64] = []
        for p in packs {
            if p.count == 0 { empty.append(p.id); continue }
            guard let size = packSizes[p.id] else { continue }
            let live = Int64(PackFormat.headerSize) + p.count * Int64(PackFormat.recordHeaderSize) + p.bytes
            if Double(live) < Double(size) * 0.5 { sparse.append(p.id) }
        }
        if !sparse.isEmpty {
            if let a = active, sparse.contains(a) { active = nil }
            let sizeBefore = packSizes.values.reduce(Int64(0), +)
            for p in sparse { try copyLive(of: p, report: &report) }
            if stop == .afterCopiesWritten { return report }
            let dropped = packsToDrop
            let written = packSizes.values.reduce(Int64(0), +) - sizeBefore
            try commit()
            if stop == .afterIndexSwitched { return report }
            report.bytesFreed -= written
            try removePackFiles(dropped, report: &report)
            report.packsRewritten = dropped.count
        }
        if !empty.isEmpty {
            try write { db in
                for p in empty { try db.execute(sql: "DELETE FROM pack WHERE id = ?", arguments: [p]) }
            }
            try removePackFiles(empty, report: &report)
            report.packsDeleted += empty.count
        }
        if active == nil { chooseActive() }
        return report
    }

    private func pruneIndex(keep: Set<Hash256>, report: inout GCReport) throws {
        var dead: [(id: Data, pack: Int64, length: Int64)] = []
        try read { db in
            let rows = try Row.fetchCursor(db, sql: "SELECT id, pack, length FROM chunk ORDER BY id")
            while let r = try rows.next() {
                let raw: Data = r["id"]
                if let id = Hash256(bytes: [UInt8](raw)), keep.contains(id) { continue }
                dead.append((raw, r["pack"], r["length"]))
            }
        }
        try deleteRows(dead)
        report.chunksRemoved = dead.count
        report.bytesRemoved = UInt64(dead.reduce(Int64(0)) { $0 + $1.length })
    }

    /// Drops index rows (the bytes stay in their packs as garbage until gc).
    func forget(_ ids: [Hash256]) throws -> Int {
        precondition(staged.isEmpty, "forget inside an open batch")
        var rows: [(id: Data, pack: Int64, length: Int64)] = []
        for id in Set(ids).sorted() {
            if let r = try row(id) { rows.append((Data(id.bytes), r.pack, Int64(r.length))) }
        }
        try deleteRows(rows)
        return rows.count
    }

    private func deleteRows(_ dead: [(id: Data, pack: Int64, length: Int64)]) throws {
        guard !dead.isEmpty else { return }
        var perPack: [Int64: (count: Int64, bytes: Int64)] = [:]
        for d in dead {
            let old = perPack[d.pack] ?? (0, 0)
            perPack[d.pack] = (old.count + 1, old.bytes + d.length)
        }
        try write { db in
            for d in dead { try db.execute(sql: "DELETE FROM chunk WHERE id = ?", arguments: [d.id]) }
            for (p, t) in perPack.sorted(by: { $0.key < $1.key }) {
                try db.execute(sql: "UPDATE pack SET liveCount = liveCount - ?, liveBytes = liveBytes - ? WHERE id = ?",
                               arguments: [t.count, t.bytes, p])
            }
        }
    }

    /// Stages copies of a pack's live chunks, to be dropped at commit. A pack with a damaged
    /// chunk is left as it is (its copies are undone) so that verify keeps reporting it.
    private func copyLive(of pack: Int64, report: inout GCReport) throws {
        let rows = try read { db in
            try Row.fetchAll(db, sql: "SELECT id, offset, length FROM chunk WHERE pack = ? ORDER BY offset", arguments: [pack])
        }
        let start = mark()
        for r in rows {
            guard let id = Hash256(bytes: [UInt8](r["id"] as Data)),
                  case .ok(let bytes) = readRecord(id, pack: pack, offset: r["offset"], length: r["length"]) else {
                rollback(to: start)
                return
            }
            try bytes.withUnsafeBytes { try appendRecord(id, $0) }
        }
        report.chunksMoved += rows.count
        packsToDrop.append(pack)
    }

    private func removePackFiles(_ ids: [Int64], report: inout GCReport) throws {
        var dirs = Set<String>()
        for p in ids {
            report.bytesFreed += packSizes[p] ?? 0
            dirs.insert(packDirectory(p))
            closeAndRemove(p)
        }
        for d in dirs.sorted() { try FileIO.fsyncDirectory(d) }
    }
}
