import Foundation
import HearthCrypto
import Testing
@testable import ChunkStore

/// The media corpus beside the package (`../shared/corpus`) or at `HEARTH_CORPUS`.
let corpusRoot: String? = {
    let env = ProcessInfo.processInfo.environment["HEARTH_CORPUS"]
    let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    let candidate = env ?? packageRoot.deletingLastPathComponent().appendingPathComponent("shared/corpus").path
    return FileManager.default.fileExists(atPath: candidate) ? candidate : nil
}()

let b2sumPath = "/usr/bin/b2sum"

/// Runs `b2sum -l 256` and returns path → lowercase hex digest.
func b2sum(_ paths: [String]) throws -> [String: String] {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: b2sumPath)
    p.arguments = ["-l", "256", "--"] + paths
    let pipe = Pipe()
    p.standardOutput = pipe
    try p.run()
    let out = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    var result: [String: String] = [:]
    for line in String(decoding: out, as: UTF8.self).split(separator: "\n") {
        let parts = line.split(separator: " ", maxSplits: 1)
        guard parts.count == 2 else { continue }
        result[String(parts[1].dropFirst())] = String(parts[0])
    }
    return result
}

@Suite struct CorpusTests {
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: b2sumPath), "b2sum is not installed"))
    func objectIDEqualsB2sum() throws {
        let dir = TempDir()
        let sizes = [0, 1, 1000, FastCDC.minSize, FastCDC.minSize + 1, 9 * 1024 * 1024 + 5]
        let paths = sizes.enumerated().map { i, n in dir.write("f\(i)", pseudoRandomBytes(n, seed: UInt64(100 + i))) }
        let expected = try b2sum(paths)
        let scanner = ChunkScanner()
        for path in paths {
            #expect(try scanner.scan(fileAt: path).id.hex == expected[path], "\(path)")
        }
    }

    @Test(.enabled(if: corpusRoot != nil && FileManager.default.isExecutableFile(atPath: b2sumPath),
                   "no media corpus (set HEARTH_CORPUS) or no b2sum"))
    func corpusRoundTripsAndMatchesB2sum() throws {
        let root = corpusRoot!
        let walker = FileManager.default.enumerator(atPath: root)!
        var paths: [String] = []
        while let rel = walker.nextObject() as? String {
            var isDir: ObjCBool = false
            let p = root + "/" + rel
            if FileManager.default.fileExists(atPath: p, isDirectory: &isDir), !isDir.boolValue { paths.append(p) }
        }
        paths.sort()
        #expect(paths.count > 100)
        let expected = try b2sum(paths)
        let storeDir = TempDir(), out = TempDir()
        let store = try ChunkStore.open(directory: storeDir.path)
        var objects: [(String, StoredObject)] = []
        for p in paths {
            let obj = try store.store(fileAt: p)
            #expect(obj.id.hex == expected[p], "\(p)")
            objects.append((p, obj))
        }
        for (i, (p, obj)) in objects.enumerated() where i % 7 == 0 {
            let target = out.path + "/\(i)"
            try store.export(chunks: obj.chunks, expectedID: obj.id, to: target)
            #expect(FileManager.default.contentsEqual(atPath: p, andPath: target), "\(p)")
        }
        let report = try store.verify()
        #expect(report.isClean)
        #expect(report.chunksChecked == (try store.stats().chunkCount))
    }
}
