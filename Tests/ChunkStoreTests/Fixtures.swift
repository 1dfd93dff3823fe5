import Foundation
import HearthCrypto
@testable import ChunkStore

enum Backend: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case file, memory
    var testDescription: String { rawValue }
}

import Testing

/// A fresh temporary directory, removed when the value is released.
final class TempDir {
    let path: String

    init() {
        var template = Array((NSTemporaryDirectory() + "/hearth-chunks-XXXXXX").utf8CString)
        let p = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(p != nil)
        path = String(cString: p!)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func write(_ name: String, _ bytes: [UInt8]) -> String {
        let file = path + "/" + name
        precondition(FileManager.default.createFile(atPath: file, contents: Data(bytes)))
        return file
    }

    func contents(_ name: String) -> [UInt8]? {
        FileManager.default.contents(atPath: path + "/" + name).map { [UInt8]($0) }
    }
}

/// A store of either kind plus a scratch folder for input and export files.
struct Fixture {
    let backend: Backend
    let scratch = TempDir()
    let storeDir = TempDir()
    var store: ChunkStore

    init(_ backend: Backend) throws {
        self.backend = backend
        store = backend == .file ? try ChunkStore.open(directory: storeDir.path) : ChunkStore.inMemory()
    }

    /// Drops the store object and opens the directory again, as after a crash (file only).
    mutating func reopen() throws {
        precondition(backend == .file)
        store = ChunkStore.inMemory()  // releases the directory lock first
        store = try ChunkStore.open(directory: storeDir.path)
    }

    var packFiles: [String] {
        let root = storeDir.path + "/packs"
        let subs = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        return subs.sorted().flatMap { sub in
            ((try? FileManager.default.contentsOfDirectory(atPath: root + "/" + sub)) ?? [])
                .filter { $0.hasSuffix(".pack") }.sorted().map { root + "/" + sub + "/" + $0 }
        }
    }
}

func fileSize(_ path: String) -> Int {
    ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue ?? -1
}

func appendBytes(_ bytes: [UInt8], to path: String) {
    let h = FileHandle(forWritingAtPath: path)!
    h.seekToEndOfFile()
    h.write(Data(bytes))
    h.closeFile()
}
