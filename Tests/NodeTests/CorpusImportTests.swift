import Foundation
import Node
import Testing

/// Imports the whole real-world corpus (parser crashers included) through the binary: the
/// process never crashes or hangs, every file is accounted for exactly once, every failure
/// names its file, and the library verifies afterwards.
@Suite struct CorpusImportTests {
    static let corpus: URL? = {
        if let env = ProcessInfo.processInfo.environment["HEARTH_CORPUS"] { return URL(fileURLWithPath: env) }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let url = root.deletingLastPathComponent().appendingPathComponent("shared/corpus")
        return FileManager.default.fileExists(atPath: url.path) ? url : nil
    }()

    @Test(.enabled(if: corpus != nil, "no media corpus (set HEARTH_CORPUS or put it at ../shared/corpus)"))
    func wholeCorpusImportsOrFailsCleanly() throws {
        let corpus = try #require(Self.corpus)
        let h = try HearthBinary.temporary("corpus")
        defer { h.cleanup() }
        try h.ok(["init"])
        let r = try h.run(["import", corpus.path, "--json"], timeout: 900)
        #expect(r.status == 0 || r.status == 1, "import exited \(r.status): \(r.stderr.suffix(2000))")
        let report = try #require(r.json, "import --json printed: \(r.stdout.prefix(500))")
        let files = FileManager.default.enumerator(at: corpus, includingPropertiesForKeys: [.isRegularFileKey])!
            .compactMap { $0 as? URL }
            .filter { (try? $0.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true }
        let imported = Int(report["imported"]?.intValue ?? 0), duplicates = Int(report["duplicates"]?.intValue ?? 0)
        let failed = report["failed"]?.arrayValue ?? [], skipped = report["skipped"]?.arrayValue ?? []
        #expect(imported + duplicates + failed.count + skipped.count == files.count,
                "every file counted once: \(imported)+\(duplicates)+\(failed.count)+\(skipped.count) vs \(files.count)")
        for f in failed {
            let path = f["path"]?.stringValue ?? "", err = f["error"]?.stringValue ?? ""
            let name = (path as NSString).lastPathComponent
            #expect(err.contains(name) || err.contains((name as NSString).deletingPathExtension),
                    "failure reason names the file: \(path): \(err)")
        }
        print("corpus import: \(files.count) files: \(imported) imported, \(duplicates) duplicates, "
              + "\(failed.count) failed, \(skipped.count) skipped in \(report["seconds"]?.doubleValue ?? 0) s")
        #expect(imported > 300, "most of the corpus is importable media")
        #expect(try h.ok(["verify", "--json"]).json?["ok"]?.boolValue == true)
        let assets = try #require(try h.ok(["assets", "--json", "--all"]).json?.arrayValue)
        #expect(assets.count == imported)
        #expect(assets.contains { $0["type"]?.stringValue == "video" })
        #expect(assets.contains { $0["motion"]?.boolValue == true })
    }
}
