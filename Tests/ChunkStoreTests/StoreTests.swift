import Foundation
import HearthCrypto
import Testing
@testable import ChunkStore

@Suite struct StoreTests {
    @Test(arguments: Backend.allCases)
    func roundTripEmptyTinyAndMultiChunk(_ backend: Backend) throws {
        let f = try Fixture(backend)
        let inputs: [(String, [UInt8])] = [
            ("empty", []),
            ("tiny", [0x48, 0x69]),
            ("big", pseudoRandomBytes(6 * 1024 * 1024 + 123, seed: 11)),
        ]
        for (name, bytes) in inputs {
            var seen: UInt64 = 0
            let obj = try f.store.store(fileAt: f.scratch.write(name, bytes)) { seen = $0 }
            #expect(obj.id == Blake2b.hash256(bytes))
            #expect(obj.size == UInt64(bytes.count))
            #expect(seen == UInt64(bytes.count))
            try f.store.export(chunks: obj.chunks, expectedID: obj.id, to: f.scratch.path + "/out-" + name)
            #expect(f.scratch.contents("out-" + name) == bytes)
            #expect(try f.store.readObject(chunks: obj.chunks, expectedID: obj.id) == bytes)
        }
        let big = try f.store.store(bytes: inputs[2].1)
        #expect(big.chunks.count > 1)
        #expect(big.newChunks == 0)
    }

    @Test(arguments: Backend.allCases)
    func storeBytesMatchesStoreFile(_ backend: Backend) throws {
        let f = try Fixture(backend)
        let bytes = pseudoRandomBytes(3 * 1024 * 1024, seed: 12)
        let a = try f.store.store(bytes: bytes)
        let b = try f.store.store(fileAt: f.scratch.write("x", bytes))
        #expect(a.id == b.id && a.chunks == b.chunks)
        #expect(a.newBytes == UInt64(bytes.count) && b.newBytes == 0)
    }

    @Test(arguments: Backend.allCases)
    func dedupIdenticalAndAppendedFiles(_ backend: Backend) throws {
        let f = try Fixture(backend)
        let bytes = pseudoRandomBytes(10 * 1024 * 1024, seed: 13)
        let first = try f.store.store(fileAt: f.scratch.write("a", bytes))
        #expect(first.newChunks == first.chunks.count)
        let again = try f.store.store(fileAt: f.scratch.write("b", bytes))
        #expect(again.newChunks == 0 && again.newBytes == 0 && again.chunks == first.chunks)
        let longer = try f.store.store(fileAt: f.scratch.write("c", bytes + pseudoRandomBytes(300_000, seed: 14)))
        #expect(longer.newChunks <= 2, "appending 300 kB rewrote \(longer.newChunks) chunks")
        #expect(longer.newBytes < 10 * 1024 * 1024 / 2)
        let s = try f.store.stats()
        #expect(s.chunkCount == first.chunks.count + longer.newChunks)
    }

    @Test(arguments: Backend.allCases)
    func putChunkChecksHashAndSize(_ backend: Backend) throws {
        let f = try Fixture(backend)
        let bytes = pseudoRandomBytes(1000, seed: 15)
        let id = Blake2b.hash256(bytes)
        let wrong = Blake2b.hash256([1, 2, 3])
        #expect(throws: ChunkStoreError.self) { try f.store.putChunk(wrong, bytes) }
        do {
            try f.store.putChunk(wrong, bytes)
        } catch let e as ChunkStoreError {
            #expect(e.code == .hashMismatch && e.message.contains(wrong.hex))
        }
        #expect(try !f.store.hasChunk(wrong))
        #expect(try f.store.putChunk(id, bytes))
        #expect(try !f.store.putChunk(id, bytes))
        #expect(try f.store.readChunk(id) == bytes)

        let huge = [UInt8](repeating: 7, count: FastCDC.maxSize + 1)
        #expect {
            try f.store.putChunk(Blake2b.hash256(huge), huge)
        } throws: { ($0 as? ChunkStoreError)?.code == .tooLarge }

        // A bad chunk in a batch stores nothing.
        let c1 = pseudoRandomBytes(500, seed: 16), c2 = pseudoRandomBytes(600, seed: 17)
        #expect(throws: ChunkStoreError.self) {
            try f.store.putChunks([(Blake2b.hash256(c1), c1), (wrong, c2)])
        }
        #expect(try f.store.missing(of: [Blake2b.hash256(c1)]) == [Blake2b.hash256(c1)])
        #expect(try f.store.putChunks([(Blake2b.hash256(c1), c1), (Blake2b.hash256(c2), c2), (id, bytes)]) == 2)
    }

    @Test(arguments: Backend.allCases)
    func missingKeepsOrderAndDropsDuplicates(_ backend: Backend) throws {
        let f = try Fixture(backend)
        let have = try f.store.store(bytes: [9, 9, 9]).id
        let x = Blake2b.hash256([1]), y = Blake2b.hash256([2])
        #expect(try f.store.missing(of: [y, have, x, y]) == [y, x])
        #expect(try f.store.allChunkIDs() == [have])
        #expect {
            try f.store.readChunk(x)
        } throws: { ($0 as? ChunkStoreError)?.code == .missingChunk }
    }

    @Test(arguments: Backend.allCases)
    func exportNeverClobbersAndChecksTheObject(_ backend: Backend) throws {
        let f = try Fixture(backend)
        let bytes = pseudoRandomBytes(2 * 1024 * 1024, seed: 18)
        let obj = try f.store.store(bytes: bytes)
        let target = f.scratch.write("taken", [1, 2, 3])
        #expect {
            try f.store.export(chunks: obj.chunks, expectedID: obj.id, to: target)
        } throws: { ($0 as? ChunkStoreError)?.code == .targetExists }
        #expect(f.scratch.contents("taken") == [1, 2, 3])

        let wrongID = Blake2b.hash256([0])
        #expect {
            try f.store.export(chunks: obj.chunks, expectedID: wrongID, to: f.scratch.path + "/bad")
        } throws: { ($0 as? ChunkStoreError)?.code == .objectMismatch }
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: f.scratch.path).sorted()
        #expect(leftovers == ["taken"])
    }

    @Test(arguments: Backend.allCases)
    func unreadableInputNamesTheFileAndStoresNothing(_ backend: Backend) throws {
        let f = try Fixture(backend)
        let path = f.scratch.path + "/no-such.heic"
        #expect {
            try f.store.store(fileAt: path)
        } throws: { e in
            guard let e = e as? ChunkStoreError else { return false }
            return e.code == .unreadable && e.message.contains("no-such.heic")
        }
        #expect(throws: ChunkStoreError.self) { try f.store.store(fileAt: f.scratch.path) }
        #expect(try f.store.stats().chunkCount == 0)
    }

    @Test(arguments: Backend.allCases)
    func verifyFindsAFlippedByteAndNamesTheChunk(_ backend: Backend) throws {
        let f = try Fixture(backend)
        let original = pseudoRandomBytes(3 * 1024 * 1024, seed: 19)
        let obj = try f.store.store(bytes: original)
        let filler = try f.store.store(bytes: pseudoRandomBytes(8 * 1024 * 1024, seed: 23))
        #expect(try f.store.verify().isClean)
        let victim = obj.chunks[1]
        if backend == .file {
            let pack = f.packFiles[0]
            let data = try [UInt8](Data(contentsOf: URL(fileURLWithPath: pack)))
            let at = try #require(findSubsequence(victim.bytes, in: data)) + 32 + 100
            var damaged = data
            damaged[at] ^= 0x20
            try Data(damaged).write(to: URL(fileURLWithPath: pack))
        } else {
            (f.store.backendForTesting as! MemoryBackend).damage(victim)
        }
        let report = try f.store.verify()
        #expect(report.chunksChecked == obj.chunks.count + filler.chunks.count)
        #expect(report.problems.map(\.chunk) == [victim])
        #expect(report.problems.first?.kind == .badHash)
        do {
            _ = try f.store.readChunk(victim)
            Issue.record("a damaged chunk was returned")
        } catch let e as ChunkStoreError {
            #expect(e.code == .corrupt && e.message.contains(victim.hex))
            if backend == .file { #expect(e.message.contains("packs/")) }
        }
        #expect(try f.store.readChunk(obj.chunks[0]).count > 0)
        if backend == .file {
            // A read for a peer skips the re-hash (the receiver verifies): the damage reaches the
            // peer, whose putChunk refuses it.
            let sent = try f.store.readChunkForPeer(victim)
            #expect(Blake2b.hash256(sent) != victim)
            let peer = ChunkStore.inMemory()
            #expect(throws: ChunkStoreError.self) { try peer.putChunk(victim, sent) }
        }

        // The filler's removal leaves the pack sparse, but gc does not rewrite a pack with a
        // damaged chunk, so the damage stays visible and nothing else is lost.
        let gcReport = try f.store.gc(keep: Set(obj.chunks))
        #expect(gcReport.chunksRemoved == filler.chunks.count)
        if backend == .file { #expect(gcReport.packsRewritten == 0 && gcReport.chunksMoved == 0) }
        #expect(try f.store.verify().problems.map(\.chunk) == [victim])

        // Repair: forget the bad copy, fetch it again (here: from the original bytes).
        #expect(try f.store.forget(report.problems.map(\.chunk)) == 1)
        #expect(try f.store.missing(of: obj.chunks) == [victim])
        let lengths = FastCDC.chunkLengths(original)
        let good = Array(original[lengths[0]..<lengths[0] + lengths[1]])
        #expect(try f.store.putChunk(victim, good))
        #expect(try f.store.verify().isClean)
        #expect(try f.store.readObject(chunks: obj.chunks, expectedID: obj.id) == original)
    }

    @Test(arguments: Backend.allCases)
    func gcRemovesUnreferencedAndKeepsReferenced(_ backend: Backend) throws {
        let f = try Fixture(backend)
        let keep = try f.store.store(bytes: pseudoRandomBytes(3 * 1024 * 1024, seed: 20))
        let drop = try f.store.store(bytes: pseudoRandomBytes(8 * 1024 * 1024, seed: 21))
        let report = try f.store.gc(keep: Set(keep.chunks))
        #expect(report.chunksRemoved == drop.chunks.count)
        #expect(try f.store.missing(of: drop.chunks) == drop.chunks)
        #expect(try f.store.readObject(chunks: keep.chunks, expectedID: keep.id).count == 3 * 1024 * 1024)
        #expect(try f.store.verify().isClean)
        #expect(try f.store.stats().chunkCount == keep.chunks.count)
        if backend == .file {
            #expect(report.packsRewritten == 1 && report.chunksMoved == keep.chunks.count)
            #expect(report.bytesFreed > 7 * 1024 * 1024)
            #expect(f.packFiles.count == 1)
        }
        // Everything gone: packs with no live chunk are deleted.
        let all = try f.store.gc(keep: [])
        #expect(all.chunksRemoved == keep.chunks.count)
        #expect(try f.store.stats().chunkCount == 0)
        if backend == .file { #expect(f.packFiles.isEmpty) }
        let again = try f.store.store(bytes: pseudoRandomBytes(1000, seed: 22))
        #expect(try f.store.readChunk(again.id).count == 1000)
    }
}

func findSubsequence(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
    guard needle.count <= haystack.count else { return nil }
    for i in 0...(haystack.count - needle.count) where haystack[i] == needle[0] {
        if Array(haystack[i..<i + needle.count]) == needle { return i }
    }
    return nil
}

@Suite struct BatchTests {
    @Test(arguments: Backend.allCases)
    func manyFilesInOneBatchWithPerFileErrors(_ backend: Backend) throws {
        var f = try Fixture(backend)
        let a = pseudoRandomBytes(2 * 1024 * 1024, seed: 60)
        let b = a + pseudoRandomBytes(1000, seed: 61)
        let paths = [f.scratch.write("a", a), f.scratch.path + "/gone.jpg", f.scratch.write("b", b), f.scratch.path,
                     f.scratch.write("e", [])]
        var progressed = Set<Int>()
        let results = try f.store.store(filesAt: paths) { i, _ in progressed.insert(i) }
        #expect(results.count == paths.count)
        let objA = try results[0].get(), objB = try results[2].get()
        #expect(objA.id == Blake2b.hash256(a) && objB.id == Blake2b.hash256(b))
        #expect(objB.newChunks <= 1)
        for (i, name) in [(1, "gone.jpg"), (3, f.scratch.path)] {
            guard case .failure(let e) = results[i] else { Issue.record("file \(i) should fail"); continue }
            #expect(e.message.contains(name))
        }
        #expect(try results[4].get().chunks.isEmpty)
        #expect(progressed.isSuperset(of: [0, 2]))
        if backend == .file { try f.reopen() }
        #expect(try f.store.readObject(chunks: objB.chunks, expectedID: objB.id) == b)
        #expect(try f.store.verify().isClean)
    }

    @Test(arguments: Backend.allCases)
    func rollbackToAMarkKeepsEarlierChunks(_ backend: Backend) throws {
        var f = try Fixture(backend)
        let before = try f.store.store(bytes: pseudoRandomBytes(300_000, seed: 62))
        let x = pseudoRandomBytes(400_000, seed: 63), y = pseudoRandomBytes(400_000, seed: 64)
        do {
            let store = f.store.backendForTesting
            if let file = store as? FileBackend { file.rollSize = 1_000_000 }
            _ = try x.withUnsafeBytes { try store.append(Blake2b.hash256(x), $0) }
            let mark = store.mark()
            _ = try y.withUnsafeBytes { try store.append(Blake2b.hash256(y), $0) }
            store.rollback(to: mark)
            try store.commit()
        }
        if backend == .file {
            #expect(f.packFiles.count == 1)
            try f.reopen()
        }
        #expect(try f.store.readChunk(Blake2b.hash256(x)) == x)
        #expect(try !f.store.hasChunk(Blake2b.hash256(y)))
        #expect(try f.store.readChunk(before.id).count == 300_000)
        #expect(try f.store.verify().isClean)
        if backend == .file { #expect(try f.store.stats().packBytes == UInt64(f.packFiles.map(fileSize).reduce(0, +))) }
    }
}

/// Received chunks verified on several threads (as a node opens its store) are checked exactly
/// as one after another: a single bad chunk anywhere in a batch stores nothing.
@Suite struct ParallelVerifyTests {
    @Test func parallelVerificationRefusesABatchWithOneBadChunk() throws {
        let dir = TempDir()
        let calls = Counter()
        let store = try ChunkStore.open(directory: dir.path) { count, body in
            calls.add()
            DispatchQueue.concurrentPerform(iterations: count, execute: body)
        }
        let chunks = (0..<12).map { pseudoRandomBytes(200_000 + $0, seed: UInt64(40 + $0)) }
        var batch = chunks.map { (id: Blake2b.hash256($0), bytes: $0) }
        for bad in [0, 5, 11] {
            var forged = batch
            forged[bad].bytes[7] ^= 1
            #expect {
                try store.putChunks(forged)
            } throws: { ($0 as? ChunkStoreError)?.code == .hashMismatch && "\($0)".contains(forged[bad].id.hex) }
            #expect(try store.missing(of: batch.map(\.id)).count == batch.count, "nothing of a bad batch was stored")
        }
        batch.swapAt(0, 11)
        #expect(try store.putChunks(batch) == 12)
        #expect(calls.value == 4, "every batch was hashed through the given parallelFor")
        for c in batch { #expect(try store.readChunk(c.id) == c.bytes) }
        // Read-ahead hints change nothing and skip ids the store does not hold.
        store.willRead(batch.map(\.id) + [Blake2b.hash256([1, 2, 3])])
        #expect(try store.missing(of: batch.map(\.id)).isEmpty)
    }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var n = 0
    func add() { lock.lock(); n += 1; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return n }
}
