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

struct Repair: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Set aside damaged chunks, fetch good copies from the library's peers, and verify.",
        discussion: """
            Re-hashes every stored chunk; those that fail are forgotten (they count as missing), then \
            one sync with every known peer (or --peer) fetches them again, and verify runs. Exits 0 \
            when the library is intact afterwards, 3 otherwise (the problems are listed).
            """)
    @Option(help: "HOST:PORT of the peer to fetch from (default: every known peer).") var peer: String?
    @OptionGroup var output: OutputOptions

    func run() async throws {
        var catalogRebuilt: String?
        if let (path, library) = try Self.damagedCatalog() {
            do {
                catalogRebuilt = try Catalog.rebuild(path: path, nowSeconds: HearthNode.wallClockMillis() / 1000)
            } catch {
                throw NodeError(.corrupt, "the catalog of library \(library) (\(path)) is damaged beyond its indexes (\(error)); "
                                + "rebuild it from a peer: move this home aside and `hearth join` again with a ticket "
                                + "from another device (`hearth invite` there)")
            }
            if !output.json { warn("the catalog was rebuilt from its tables; the damaged file is kept as \(catalogRebuilt!)") }
        }
        let node = try openNode()
        let bar = ProgressLine(label: "checking", enabled: !output.json)
        let bad = try node.setAsideDamagedChunks { done, total in
            bar.update(done: Int(done / 1_000_000), total: Int(max(total, 1) / 1_000_000), bytes: done)
        }
        bar.finish()
        if !output.json { for p in bad { warn("set aside: \(p.description)") } }
        let log = HearthLogging.logger("hearth.repair", verbose: false)
        var results: [PeerSyncResult] = []
        let missing = try node.missingWantedChunks()
        if missing > 0 {
            let syncBar = ProgressLine(label: "fetching", enabled: !output.json)
            let start = DispatchTime.now().uptimeNanoseconds
            results = try await node.syncOnce(peer: try peer.map(PeerEndpoint.init(parsing:)), logger: log,
                                              progress: { syncBar.update(sync: $1, peer: $0, startedAt: start) })
            syncBar.finish()
        }
        let after = try node.verify()
        let fetched = results.reduce(0) { $0 + ($1.summary?.chunksReceived ?? 0) }
        emit(output.json, .object([
            ("catalogRebuiltFrom", .optional(catalogRebuilt)),
            ("setAside", .array(bad.map { .string($0.description) })),
            ("chunksMissingBefore", .int(Int64(missing))), ("chunksFetched", .int(Int64(fetched))),
            ("peers", .array(results.map(\.json))), ("verify", after.json),
        ])) {
            var lines = ["set aside \(bad.count) damaged chunks; \(missing) wanted chunks were missing; fetched \(fetched) from \(results.count) peers"]
            lines += results.compactMap { r in r.error.map { "peer \(r.address): FAILED: \($0)" } }
            lines += after.problems.map { "PROBLEM: \($0)" }
            lines.append(after.isClean ? "ok: the library is intact" : "\(after.problems.count) problems remain")
            return lines.joined(separator: "\n")
        }
        if !after.isClean { throw ExitCode(3) }
    }
}

extension Repair {
    /// The catalog's path and library when SQLite finds it damaged; the node opened to look is
    /// closed again when this returns, so the file can be replaced.
    static func damagedCatalog() throws -> (String, String)? {
        let node = try openNode()
        guard !node.catalog.integrityProblems().isEmpty else { return nil }
        return (node.catalog.path, "\(node.libraryID)")
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

struct Thumbhashes: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "thumbhashes",
        abstract: "Compute the ThumbHash placeholder of every asset that has a thumbnail but none yet.",
        discussion: """
        Reads each stored thumbnail, so it needs no originals. ThumbHashes are catalog format 2: a peer
        still on release 6847644 receives none of this node's changes made after them.
        """)
    @OptionGroup var output: OutputOptions

    func run() throws {
        let node = try openNode()
        let r = try node.backfillThumbhashes()
        emit(output.json, .object([
            ("made", .int(Int64(r.made))), ("missing", .int(Int64(r.missing))),
            ("failed", .array(r.failed.map { .object([("id", .string($0.id.hex)), ("error", .string($0.reason))]) })),
        ])) {
            "made \(r.made) thumbhashes; \(r.missing) thumbnails not on this node; \(r.failed.count) failed"
                + r.failed.map { "\n  \($0.id.hex.prefix(12)): \($0.reason)" }.joined()
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
