import ArgumentParser
import Catalog
import Foundation
import Node
import Presentation

struct Assets: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List assets, newest first.")

    @Option(help: "Only assets in this album (name or id prefix).") var album: String?
    @Option(help: "Only assets with this tag; `Places` also matches `Places/Japan`.") var tag: String?
    @Flag(help: "Only favorites.") var favorites = false
    @Flag(help: "Archived assets instead of the library.") var archived = false
    @Flag(help: "Assets in the trash instead of the library.") var trashed = false
    @Flag(help: "Everything: library, archive and trash.") var all = false
    @Option(help: "Taken on or after this date (YYYY-MM-DD).") var from: String?
    @Option(help: "Taken on or before this date (YYYY-MM-DD).") var to: String?
    @Option(help: "At most this many.") var limit: Int?
    @Option(help: "Skip this many first.") var offset = 0
    @OptionGroup var output: OutputOptions

    func validate() throws {
        if [archived, trashed, all].filter({ $0 }).count > 1 {
            throw ValidationError("choose one of --archived, --trashed and --all")
        }
        if let f = from, HearthNode.parseDate(f, endOfDay: false) == nil { throw ValidationError("--from: expected YYYY-MM-DD, got \(f)") }
        if let t = to, HearthNode.parseDate(t, endOfDay: true) == nil { throw ValidationError("--to: expected YYYY-MM-DD, got \(t)") }
        if let l = limit, l < 0 { throw ValidationError("--limit must be positive") }
        if offset < 0 { throw ValidationError("--offset must be positive") }
    }

    func run() throws {
        let node = try openNode()
        var filter = AssetFilter(scope: all ? .all : archived ? .archived : trashed ? .trashed : .library)
        if let album { filter.album = try node.catalog.album(album).id }
        filter.tag = tag
        filter.favoritesOnly = favorites
        filter.from = from.flatMap { HearthNode.parseDate($0, endOfDay: false) }
        filter.to = to.flatMap { HearthNode.parseDate($0, endOfDay: true) }
        filter.limit = limit
        filter.offset = offset
        let list = try node.catalog.assets(filter)
        try emit(output.json, .array(try list.map { try node.json(for: $0) })) {
            list.isEmpty ? "no assets" : list.map { line(node, $0) }.joined(separator: "\n")
        }
    }
}

struct Show: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show everything known about one asset.")
    @Argument(help: "Asset id or a unique prefix of it.") var asset: String
    @OptionGroup var output: OutputOptions

    func run() throws {
        let node = try openNode()
        let id = try node.resolve(asset)
        guard let a = try node.catalog.asset(id) else { throw NodeError(.notFound, "no asset \(asset)") }
        let j = try node.json(for: a)
        emit(output.json, j) {
            guard case .object(let pairs) = j else { return "" }
            return pairs.map { k, v in
                let text: String
                if case .array(let items) = v { text = items.map(\.text).joined(separator: ", ") } else { text = v.text }
                return k.padding(toLength: 17, withPad: " ", startingAt: 0) + text
            }.joined(separator: "\n")
        }
    }
}

struct Export: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write byte-identical originals under their original names (never overwriting).")
    @Argument(help: "Asset ids or unique prefixes.") var assets: [String]
    @Option(help: "Folder to write into (created if missing).") var to: String
    @Flag(help: "Also write the video of a Live or Motion Photo.") var motion = false
    @Flag(help: "Also write an XMP sidecar (NAME.xmp) with the description, rating, tags, date and place.") var xmp = false
    @OptionGroup var output: OutputOptions

    func run() async throws {
        let node = try openNode()
        let ids = try resolveAll(node, assets)
        var written: [String] = []
        var failures: [(String, String)] = []
        let log = HearthLogging.logger("hearth.export", verbose: false)
        let bar = ProgressLine(label: "exporting", enabled: !output.json)
        var bytes: UInt64 = 0
        if !FileManager.default.fileExists(atPath: to) {
            try FileManager.default.createDirectory(atPath: to, withIntermediateDirectories: true)
            giveToUser(to)
        }
        for (i, (prefix, ref)) in zip(assets, ids).enumerated() {
            do {
                let files = try await node.exportFetching(ref.id, to: to, motion: motion, xmp: xmp, logger: log)
                files.forEach(giveToUser)
                written += files
                for f in files { bytes += (try? FileManager.default.attributesOfItem(atPath: f)[.size] as? UInt64) ?? 0 }
            } catch {
                failures.append((prefix, "\(error)"))
            }
            bar.update(done: i + 1, total: ids.count, bytes: bytes, detail: written.last.map { ($0 as NSString).lastPathComponent } ?? "")
        }
        bar.finish()
        emit(output.json, .object([
            ("written", .array(written.map(JSON.string))),
            ("failed", .array(failures.map { .object([("asset", .string($0.0)), ("error", .string($0.1))]) })),
        ])) {
            (written.map { "wrote \($0)" } + failures.map { "failed \($0.0): \($0.1)" }).joined(separator: "\n")
        }
        if !failures.isEmpty { throw written.isEmpty ? ExitCode(3) : ExitCode(1) }
    }
}

struct Thumbnail: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Write an asset's thumbnail (WebP) or preview (JPEG).")
    @Argument(help: "Asset id or unique prefix.") var asset: String
    @Option(help: "thumbnail (250 px WebP) or preview (1440 px JPEG).") var size = "thumbnail"
    @Option(help: "File to write.") var out: String

    func run() throws {
        guard ["thumbnail", "preview"].contains(size) else { throw ValidationError("--size is thumbnail or preview") }
        let node = try openNode()
        let id = try node.resolve(asset)
        guard let a = try node.catalog.asset(id) else { throw NodeError(.notFound, "no asset \(asset)") }
        guard let ref = size == "thumbnail" ? a.thumbnail : a.preview else {
            throw NodeError(.notFound, "\(a.fileName) has no \(size) (it could not be made at import)")
        }
        if FileManager.default.fileExists(atPath: out) { throw NodeError(.invalidArgument, "\(out) already exists") }
        try node.chunks.export(chunks: ref.chunks, expectedID: ref.id, to: out)
        giveToUser(out)
    }
}
