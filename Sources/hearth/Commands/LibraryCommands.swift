import ArgumentParser
import Catalog
import Foundation
import Node
import Wire
import Presentation

struct Init: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Create a node with a new library in the home folder.")

    @Option(help: "A name for this device, shown to the family's other devices.")
    var name: String = ProcessInfo.processInfo.hostName

    @Option(help: "What this node keeps: everything, previews or thumbnails.")
    var policy: StoragePolicy = .everything

    @Option(name: .customLong("library-name"),
            help: "What to call the library on this node (default: library, library-2, …). Given in a home that already holds a node, init adds a library beside the others.")
    var libraryName: String?

    @OptionGroup var output: OutputOptions

    func run() throws {
        let node = try HearthNode.create(home: Home.resolve(nil), deviceName: name, policy: policy, libraryName: libraryName)
        try emit(output.json, try node.statusJSON()) {
            """
            Created a new library in \(node.home.root.path)
              device   \(node.identity.deviceID.string) (\(name))
              library  \(node.catalog.libraryID.hex)
            Next: hearth import ~/Pictures
            """
        }
    }
}

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show the node, its library and its storage.")
    @OptionGroup var output: OutputOptions

    func run() throws {
        let node = try openNode()
        let s = try node.statusJSON()
        try emit(output.json, s) {
            let peers = node.settings.peers
            return """
            device      \(s["deviceId"]!.text) (\(s["deviceName"]!.text))
            library     \(s["libraryId"]!.text)  epoch \(s["epoch"]!.text)
            assets      \(s["libraryCount"]!.text) in library, \(s["archivedCount"]!.text) archived, \(s["trashedCount"]!.text) in trash
            albums      \(s["albumCount"]!.text)   members \(s["memberCount"]!.text)   peers \(peers.count)
            storage     \(ByteFormat.string(UInt64(s["storedBytes"]!.text) ?? 0)) in \(s["chunkCount"]!.text) chunks (policy: \(node.storagePolicy))
            digest      \(s["catalogDigest"]!.text)
            """
        }
    }
}

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Re-hash every stored chunk and check every reference of the catalog.",
        discussion: "Exits 0 when everything is intact, 3 when something is corrupt or missing.")
    @Flag(help: "First record the SHA-1 of every asset that has none, from the local originals.")
    var repair = false
    @OptionGroup var output: OutputOptions

    func run() throws {
        let node = try openNode()
        if repair {
            let b = try node.backfillChecksums()
            if !output.json, b.updated + b.notLocal + b.failed > 0 {
                warn("SHA-1 recorded for \(b.updated) assets; \(b.notLocal) originals are not on this node"
                     + (b.failed > 0 ? "; \(b.failed) could not be read: \(b.errors.joined(separator: "; "))" : ""))
            }
        }
        let bar = ProgressLine(label: "verifying", enabled: !output.json)
        let result = try node.verify { done, total in
            bar.update(done: Int(done / 1_000_000), total: Int(max(total, 1) / 1_000_000), bytes: done)
        }
        bar.finish()
        emit(output.json, result.json) {
            var lines = ["checked \(result.chunksChecked) chunks (\(ByteFormat.string(result.bytesChecked))) and \(result.objectsChecked) objects"]
            if result.notKept > 0 { lines.append("\(result.notKept) objects are kept by peers, not here (storage policy)") }
            lines += result.problems.map { "PROBLEM: \($0)" }
            lines.append(result.isClean ? "ok: the library is intact" : "\(result.problems.count) problems found")
            return lines.joined(separator: "\n")
        }
        if !result.isClean { throw ExitCode(3) }
    }
}

struct GC: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gc", abstract: "Remove stored chunks that nothing references any more (after empty-trash).")
    @OptionGroup var output: OutputOptions

    func run() throws {
        let node = try openNode()
        let r = try node.gc()
        emit(output.json, .object([
            ("chunksRemoved", .int(Int64(r.chunksRemoved))), ("bytesRemoved", .int(Int64(r.bytesRemoved))),
            ("packsRewritten", .int(Int64(r.packsRewritten))), ("packsDeleted", .int(Int64(r.packsDeleted))),
            ("bytesFreed", .int(r.bytesFreed)),
        ])) {
            "removed \(r.chunksRemoved) chunks (\(ByteFormat.string(r.bytesRemoved))); rewrote \(r.packsRewritten) packs, deleted \(r.packsDeleted); freed \(ByteFormat.string(UInt64(max(0, r.bytesFreed))))"
        }
    }
}

extension JSON {
    /// The value as plain text for status lines.
    var text: String {
        switch self {
        case .string(let s): return s
        case .int(let i): return String(i)
        case .double(let d): return String(d)
        case .bool(let b): return b ? "yes" : "no"
        case .null: return "-"
        default: return serialized()
        }
    }
}

struct Libraries: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the libraries this node holds; --default NAME makes one the default.",
        discussion: """
        Commands work on the library `--library NAME-OR-ID` names (a global option, like --home),
        else the only library, else the default one.
        """)
    @Option(name: .customLong("default"), help: "Make this library (name or id prefix) the default; `none` clears it.")
    var makeDefault: String?
    @OptionGroup var output: OutputOptions

    func run() throws {
        let home = Home.resolve(nil)
        let config = try makeDefault.map { try HearthNode.setDefaultLibrary(in: home, $0 == "none" ? nil : $0) }
            ?? HearthNode.libraries(in: home)
        let rows = HearthNode.librariesJSON(config, in: home)
        emit(output.json, rows) {
            guard case .array(let items) = rows else { return "" }
            return items.map { row in
                let mark = row["default"] == .bool(true) ? "*" : " "
                let count = row["assetCount"].flatMap { $0 == .null ? nil : $0.text }
                return "\(mark) \((row["name"]?.text ?? "").padding(toLength: 16, withPad: " ", startingAt: 0)) \(row["id"]?.text ?? "")  "
                    + "\((row["storagePolicy"]?.text ?? "").padding(toLength: 10, withPad: " ", startingAt: 0)) "
                    + (count.map { "\($0) assets" } ?? "catalog unreadable")
            }.joined(separator: "\n")
        }
    }
}
