import Catalog
import ArgumentParser
import Foundation
import Media
import Node
import Presentation

struct Import: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Import photos and videos from files and folders (recursively).",
        discussion: """
        Every file is counted once: imported, duplicate (already in the library), failed (a photo or
        video that could not be read, with the reason) or skipped (not a photo or video, or a sidecar
        read with its photo). Exits 1 when some files failed and the rest were imported.
        """)

    @Argument(help: "Files or folders to import.")
    var paths: [String]

    @Flag(name: .customLong("no-thumbnails"), help: "Store originals and metadata only; make no thumbnails or previews.")
    var noThumbnails = false

    @Flag(name: .customLong("no-thumbhash"), help: "Store no ThumbHash placeholders (`hearth thumbhashes` adds them later).")
    var noThumbhash = false

    @Flag(name: .customLong("for-older-peers"),
          help: ArgumentHelp("Write only what release 6847644 reads (no ThumbHash, owner or SHA-1), so such a peer still receives these imports; `hearth thumbhashes` and `hearth verify --repair` add them once every peer has upgraded."))
    var forOlderPeers = false

    @Option(help: "Parallel workers (default: one per core).")
    var workers: Int?

    @OptionGroup var output: OutputOptions

    func run() throws {
        let node = try openNode()
        var options = ImportOptions()
        options.derived = !noThumbnails
        options.thumbhash = !noThumbhash
        if forOlderPeers { options.formatLevel = CatalogFormat.base }
        if let w = workers {
            guard (1...64).contains(w) else { throw ValidationError("--workers must be 1...64") }
            options.workers = w
        }
        let bar = ProgressLine(label: "importing", enabled: !output.json)
        let report = try node.importPaths(paths, options: options) { p in
            bar.update(done: p.done, total: p.total, bytes: p.bytes, detail: (p.current as NSString).lastPathComponent)
        }
        bar.finish()
        emit(output.json, report.json) {
            var lines: [String] = []
            for f in report.failed { lines.append("failed   \(f.path): \(f.error)") }
            for w in report.warnings { lines.append("warning  \(w.path): \(w.message)") }
            let rate = report.seconds > 0 ? Double(report.bytesRead) / report.seconds : 0
            lines.append("imported \(report.imported.count), duplicates \(report.duplicates.count), "
                         + "failed \(report.failed.count), skipped \(report.skipped.count) "
                         + "(\(ByteFormat.string(report.bytesRead)) in \(String(format: "%.1f", report.seconds)) s, \(ByteFormat.string(UInt64(rate)))/s)")
            return lines.joined(separator: "\n")
        }
        if !report.failed.isEmpty {
            throw report.imported.isEmpty && report.duplicates.isEmpty ? ExitCode(3) : ExitCode(1)
        }
    }
}

struct MakeSamples: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "make-samples",
        abstract: "Generate photo-like JPEGs with EXIF (dates, GPS, orientation, camera) for demos and benchmarks.")

    @Argument(help: "Folder to write into (created if missing).")
    var directory: String

    @Option(help: "How many photos.") var count = 12
    @Option(help: "Width in pixels.") var width = 4000
    @Option(help: "Height in pixels.") var height = 3000
    @Option(help: "First seed; photo i uses seed+i, so runs are reproducible.") var seed = 1

    func run() throws {
        guard (1...100_000).contains(count), (16...20000).contains(width), (16...20000).contains(height) else {
            throw ValidationError("count 1...100000, width and height 16...20000")
        }
        let written = try SamplePhotos.write(to: directory, count: count, width: width, height: height, seed: seed)
        giveToUser(directory)
        written.forEach(giveToUser)
        print("wrote \(written.count) photos to \(directory)")
    }
}
