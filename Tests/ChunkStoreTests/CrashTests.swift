import Foundation
import HearthCrypto
import Testing
@testable import ChunkStore

/// Crash safety of the file backend: each test leaves the directory as a crash would at
/// some point, drops the store object without any cleanup, and opens the directory again.
@Suite struct CrashTests {
    private func fileBackend(_ f: Fixture) -> FileBackend {
        f.store.backendForTesting as! FileBackend
    }

    @Test func tornRecordAtTheTailIsCutOff() throws {
        var f = try Fixture(.file)
        let a = try f.store.store(bytes: pseudoRandomBytes(2 * 1024 * 1024, seed: 30))
        let pack = f.packFiles[0]
        let goodSize = fileSize(pack)
        // Half a record: a header promising 1000 bytes, then only 100 of them.
        let ghost = Blake2b.hash256([42])
        appendBytes(PackFormat.recordHeader(id: ghost, length: 1000) + pseudoRandomBytes(100, seed: 31), to: pack)
        try f.reopen()
        #expect(fileSize(pack) == goodSize)
        #expect(try f.store.verify().isClean)
        #expect(try f.store.readObject(chunks: a.chunks, expectedID: a.id).count == 2 * 1024 * 1024)
        let b = try f.store.store(bytes: pseudoRandomBytes(700_000, seed: 32))
        try f.reopen()
        #expect(try f.store.readObject(chunks: b.chunks, expectedID: b.id).count == 700_000)
        #expect(try f.store.verify().chunksChecked == a.chunks.count + b.chunks.count)
    }

    @Test func randomGarbageAtTheTailIsCutOff() throws {
        var f = try Fixture(.file)
        let a = try f.store.store(bytes: pseudoRandomBytes(600_000, seed: 33))
        let pack = f.packFiles[0]
        let goodSize = fileSize(pack)
        appendBytes(pseudoRandomBytes(5000, seed: 34), to: pack)
        try f.reopen()
        #expect(fileSize(pack) == goodSize)
        #expect(try f.store.verify().isClean)
        #expect(try f.store.readChunk(a.id).count == 600_000)
    }

    @Test func writtenButUnindexedChunkIsForgotten() throws {
        var f = try Fixture(.file)
        let a = try f.store.store(bytes: [1, 2, 3])
        let bytes = pseudoRandomBytes(300_000, seed: 35)
        let id = Blake2b.hash256(bytes)
        // Crash after the record reached the pack, before the index commit.
        _ = try bytes.withUnsafeBytes { try fileBackend(f).append(id, $0) }
        try f.reopen()
        #expect(try !f.store.hasChunk(id))
        #expect(try f.store.hasChunk(a.id))
        #expect(try f.store.verify().isClean)
        #expect(try f.store.putChunk(id, bytes))
        #expect(try f.store.readChunk(id) == bytes)
    }

    @Test func packFileWithoutIndexRowIsDeleted() throws {
        var f = try Fixture(.file)
        _ = try f.store.store(bytes: [1])
        do {
            let backend = fileBackend(f)
            // Crash right after a new pack was created and written, before its first commit.
            backend.rollSize = 0
            _ = try [UInt8](repeating: 5, count: 1000).withUnsafeBytes { try backend.append(Blake2b.hash256([5]), $0) }
        }
        #expect(f.packFiles.count == 2)
        try f.reopen()
        #expect(f.packFiles.count == 1)
        #expect(try f.store.stats().packCount == 1)
        #expect(try f.store.verify().isClean)
    }

    @Test func rollbackLeavesPacksAsBefore() throws {
        let f = try Fixture(.file)
        _ = try f.store.store(bytes: pseudoRandomBytes(400_000, seed: 36))
        let before = f.packFiles.map(fileSize)
        let backend = fileBackend(f)
        backend.rollSize = 1_000_000
        for seed in 37...40 {
            let bytes = pseudoRandomBytes(500_000, seed: UInt64(seed))
            _ = try bytes.withUnsafeBytes { try backend.append(Blake2b.hash256(bytes), $0) }
        }
        #expect(f.packFiles.count > 1)
        backend.rollback()
        #expect(f.packFiles.map(fileSize) == before)
        #expect(try f.store.stats().chunkCount == 1)
        #expect(try f.store.verify().isClean)
    }

    @Test func packsRollAndSurviveReopen() throws {
        var f = try Fixture(.file)
        fileBackend(f).rollSize = 2 * 1024 * 1024
        let obj = try f.store.store(bytes: pseudoRandomBytes(9 * 1024 * 1024, seed: 41))
        #expect(f.packFiles.count >= 3)
        let s = try f.store.stats()
        #expect(s.packCount == f.packFiles.count && s.storedBytes == 9 * 1024 * 1024)
        #expect(s.packBytes == UInt64(f.packFiles.map(fileSize).reduce(0, +)))
        try f.reopen()
        #expect(try f.store.readObject(chunks: obj.chunks, expectedID: obj.id).count == 9 * 1024 * 1024)
        #expect(try f.store.verify().isClean)
    }

    @Test(arguments: [GCStop.afterIndexPruned, .afterCopiesWritten, .afterIndexSwitched])
    func gcSurvivesACrashBetweenSteps(_ stop: GCStop) throws {
        var f = try Fixture(.file)
        let keep = try f.store.store(bytes: pseudoRandomBytes(2 * 1024 * 1024, seed: 42))
        let drop = try f.store.store(bytes: pseudoRandomBytes(6 * 1024 * 1024, seed: 43))
        _ = try f.store.gc(keep: Set(keep.chunks), stop: stop)
        try f.reopen()
        #expect(try f.store.readObject(chunks: keep.chunks, expectedID: keep.id).count == 2 * 1024 * 1024)
        #expect(try f.store.verify().isClean)
        #expect(f.packFiles.count == (try f.store.stats().packCount))
        let rest = try f.store.gc(keep: Set(keep.chunks))
        #expect(try f.store.missing(of: drop.chunks) == drop.chunks)
        #expect(try f.store.readObject(chunks: keep.chunks, expectedID: keep.id).count == 2 * 1024 * 1024)
        #expect(try f.store.verify().isClean)
        #expect(f.packFiles.count == 1)
        // Pruning was committed before every crash point; reopening cut the dead tail.
        #expect(rest.chunksRemoved == 0)
        #expect(try f.store.stats().packBytes < 3 * 1024 * 1024)
        // The store keeps working after the repair.
        let more = try f.store.store(bytes: pseudoRandomBytes(400_000, seed: 44))
        try f.reopen()
        #expect(try f.store.readObject(chunks: more.chunks, expectedID: more.id).count == 400_000)
    }

    @Test func diskFullIsReportedAsSuch() throws {
        let fd = try FileIO.openFile("/dev/full", O_WRONLY)
        defer { close(fd) }
        #expect {
            try [UInt8](repeating: 1, count: 4096).withUnsafeBytes { try FileIO.writeAll(fd, $0, path: "/dev/full") }
        } throws: { e in
            guard let e = e as? ChunkStoreError else { return false }
            return e.code == .diskFull && e.message.contains("/dev/full")
        }
    }

    @Test func secondOpenOfTheSameDirectoryIsRefused() throws {
        let f = try Fixture(.file)
        #expect {
            try ChunkStore.open(directory: f.storeDir.path)
        } throws: { ($0 as? ChunkStoreError)?.code == .busy }
        #expect(try f.store.store(bytes: [1]).newChunks == 1)
    }

    @Test func damagedPackHeaderIsNotRewritten() throws {
        var f = try Fixture(.file)
        let a = try f.store.store(bytes: pseudoRandomBytes(300_000, seed: 45))
        let pack = f.packFiles[0]
        var data = try [UInt8](Data(contentsOf: URL(fileURLWithPath: pack)))
        data[0] = 0
        try Data(data).write(to: URL(fileURLWithPath: pack))
        try f.reopen()
        #expect(try f.store.readChunk(a.id).count == 300_000, "chunks are checked by record header and hash, not the pack header")
        #expect(fileSize(pack) == data.count)
    }
}

/// Whether `chattr +i` works here: an immutable directory refuses new entries even to root,
/// which is how these tests provoke EPERM on a machine where they run as root.
let immutableDirectoriesWork: Bool = {
    let dir = TempDir()
    guard chattr("+i", dir.path) else { return false }
    defer { _ = chattr("-i", dir.path) }
    return !FileManager.default.createFile(atPath: dir.path + "/probe", contents: nil)
}()

@discardableResult
func chattr(_ flag: String, _ path: String) -> Bool {
    guard FileManager.default.isExecutableFile(atPath: "/usr/bin/chattr") else { return false }
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/chattr")
    p.arguments = [flag, path]
    p.standardError = FileHandle.nullDevice
    guard (try? p.run()) != nil else { return false }
    p.waitUntilExit()
    return p.terminationStatus == 0
}

@Suite struct PermissionTests {
    @Test(.enabled(if: immutableDirectoriesWork, "chattr +i is not available on this filesystem"))
    func refusedPackCreationLeavesTheStoreConsistent() throws {
        var f = try Fixture(.file)
        let a = try f.store.store(bytes: pseudoRandomBytes(300_000, seed: 50))
        (f.store.backendForTesting as! FileBackend).rollSize = 0
        let packs = f.storeDir.path + "/packs"
        #expect(chattr("+i", packs))
        defer { chattr("-i", packs) }
        #expect {
            try f.store.store(bytes: pseudoRandomBytes(300_000, seed: 51))
        } throws: { e in
            guard let e = e as? ChunkStoreError else { return false }
            return e.code == .permissionDenied && e.message.contains("packs/")
        }
        #expect(try f.store.stats().chunkCount == 1)
        #expect(try f.store.verify().isClean)
        chattr("-i", packs)
        let b = try f.store.store(bytes: pseudoRandomBytes(300_000, seed: 52))
        try f.reopen()
        #expect(try f.store.readChunk(a.id).count == 300_000)
        #expect(try f.store.readChunk(b.id).count == 300_000)
    }

    @Test(.enabled(if: immutableDirectoriesWork, "chattr +i is not available on this filesystem"))
    func exportIntoAReadOnlyFolderNamesTheTarget() throws {
        let f = try Fixture(.memory)
        let obj = try f.store.store(bytes: [1, 2, 3])
        #expect(chattr("+i", f.scratch.path))
        defer { chattr("-i", f.scratch.path) }
        #expect {
            try f.store.export(chunks: obj.chunks, expectedID: obj.id, to: f.scratch.path + "/photo.jpg")
        } throws: { e in
            guard let e = e as? ChunkStoreError else { return false }
            return e.code == .permissionDenied && e.message.contains("photo.jpg")
        }
    }
}
