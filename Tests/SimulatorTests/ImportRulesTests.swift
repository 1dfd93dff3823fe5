import Foundation
import Testing

/// Pins the module import rules of DESIGN.md ("Module import rules") and README "Architecture":
/// every `import` line of every Swift file under Sources/ must name a module its module may
/// import. Arrows point one way, so Catalog, ChunkStore and Wire never import anything of the
/// project above them, and nothing imports `hearth`.
@Suite struct ImportRulesTests {
    /// Project modules each module may import (directly or by skipping levels downward).
    static let project: [String: Set<String>] = [
        "HearthCrypto": ["CSodium"],
        "Wire": ["HearthCrypto"],
        "Catalog": ["HearthCrypto"],
        "ChunkStore": ["HearthCrypto"],
        "SyncEngine": ["Catalog", "ChunkStore", "Wire", "HearthCrypto"],
        "Media": ["CMediaShim", "CExif", "CVips", "CRaw", "HearthCrypto"],
        "Transport": ["SyncEngine", "Catalog", "ChunkStore", "Wire", "HearthCrypto"],
        "Presentation": ["SyncEngine", "Catalog", "Wire", "HearthCrypto"],
        "Jobs": [],
        "Node": ["Transport", "Media", "Presentation", "Jobs", "SyncEngine", "Catalog", "ChunkStore", "Wire", "HearthCrypto"],
        "HTTPAPI": ["Node", "Presentation", "Media", "Catalog", "ChunkStore", "HearthCrypto"],
        "hearth": ["CMalloc", "HTTPAPI", "Node", "Presentation", "Transport", "Media", "SyncEngine", "Catalog", "ChunkStore", "Wire",
                   "HearthCrypto"],
    ]

    /// Outside modules each may import: the system, and the packages Package.swift gives it.
    static let outside: [String: Set<String>] = [
        "HearthCrypto": ["Crypto"],
        "Wire": [],
        "Catalog": ["GRDB", "GRDBSQLite"],
        "ChunkStore": ["GRDB"],
        "SyncEngine": [],
        "Media": ["FoundationXML"],
        "Transport": ["NIOCore", "NIOPosix", "Logging", "Synchronization"],
        "Presentation": [],
        "Jobs": ["Synchronization"],
        "Node": ["Logging", "Synchronization", "GRDB"],
        "HTTPAPI": ["Hummingbird", "HummingbirdCore", "HummingbirdTLS", "MultipartKit", "NIOCore", "NIOHTTPTypes", "NIOSSL", "ServiceLifecycle", "Prometheus", "Logging", "Synchronization"],
        "hearth": ["ArgumentParser"],
    ]

    /// What every module may import.
    static let system: Set<String> = ["Foundation", "Glibc", "Darwin", "Dispatch"]

    static func allowed(_ module: String) -> Set<String> {
        (project[module] ?? []).union(outside[module] ?? []).union(system)
    }

    /// The module an import line names, or nil for a line that is not an import
    /// (`import Foo`, `@testable import Foo`, `internal import Foo`, `import struct Foo.Bar`).
    static func importedModule(_ line: Substring) -> String? {
        var words = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        while let w = words.first, w.hasPrefix("@") || ["internal", "public", "package", "private", "fileprivate"].contains(w) {
            words.removeFirst()
        }
        guard words.first == "import", words.count >= 2 else { return nil }
        var name = words[1]
        if ["struct", "class", "enum", "protocol", "func", "var", "let", "typealias"].contains(name), words.count >= 3 { name = words[2] }
        return String(name.split(separator: ".").first ?? Substring(name))
    }

    /// Every Swift source of a module, subfolders included.
    static func sources(_ module: String) -> [URL] {
        let dir = packageRoot.appendingPathComponent("Sources/\(module)")
        guard let e = FileManager.default.enumerator(at: dir, includingPropertiesForKeys: nil) else { return [] }
        return e.compactMap { $0 as? URL }.filter { $0.pathExtension == "swift" }.sorted { $0.path < $1.path }
    }

    @Test func everyImportIsAllowedByTheTable() throws {
        let modules = try FileManager.default.contentsOfDirectory(atPath: packageRoot.appendingPathComponent("Sources").path)
        var violations: [String] = []
        var imports = 0
        for module in modules.sorted() {
            let files = Self.sources(module)
            if files.isEmpty { continue } // C modules: a module map and headers
            guard Self.project[module] != nil else {
                violations.append("Sources/\(module) has Swift sources but no row in the import table")
                continue
            }
            let ok = Self.allowed(module)
            for file in files {
                let text = try String(contentsOf: file, encoding: .utf8)
                for (no, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                    guard let imported = Self.importedModule(line.drop { $0 == " " || $0 == "\t" }) else { continue }
                    imports += 1
                    if !ok.contains(imported) {
                        let rel = file.path.replacingOccurrences(of: packageRoot.path + "/", with: "")
                        violations.append("\(rel):\(no + 1): \(module) may not import \(imported)")
                    }
                }
            }
        }
        #expect(imports > 100, "the scan found only \(imports) imports")
        #expect(violations.isEmpty, "\(violations.joined(separator: "\n"))")
    }

    /// The table itself keeps the arrows one way: no module may import one that may import it,
    /// and the lowest modules import nothing of the project above them.
    @Test func theTablePointsOneWay() {
        for (module, deps) in Self.project {
            for d in deps where Self.project[d]?.contains(module) == true {
                Issue.record("\(module) and \(d) may import each other")
            }
            #expect(!deps.contains("hearth"), "\(module) may import the executable")
        }
        let above: Set<String> = ["SyncEngine", "Transport", "Media", "Presentation", "Jobs", "Node", "HTTPAPI", "hearth"]
        for low in ["Catalog", "ChunkStore", "Wire", "HearthCrypto"] {
            #expect(Self.project[low]!.isDisjoint(with: above), "\(low) may import a module above it")
        }
    }

    /// The scan reads import lines as Swift spells them, and the table refuses an upward import.
    @Test func scanReadsImportLines() {
        #expect(Self.importedModule("import Foundation") == "Foundation")
        #expect(Self.importedModule("@testable import Node") == "Node")
        #expect(Self.importedModule("internal import CSodium") == "CSodium")
        #expect(Self.importedModule("@preconcurrency import struct NIOCore.ByteBuffer") == "NIOCore")
        #expect(Self.importedModule("/// import Foo") == nil)
        #expect(Self.importedModule("let important = 1") == nil)
        #expect(!Self.allowed("Catalog").contains("SyncEngine"))
        #expect(!Self.allowed("Wire").contains("Transport"))
        #expect(!Self.allowed("ChunkStore").contains("Node"))
        #expect(!Self.allowed("Presentation").contains("Node"), "the presentation layer does not reach into the library service")
        #expect(!Self.allowed("Node").contains("HTTPAPI"), "nothing below the HTTP API knows about HTTP")
    }
}
