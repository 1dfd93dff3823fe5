import Foundation
@testable import Media

/// Locates the shared media corpus: `HEARTH_CORPUS`, else `../shared/corpus` beside the package root.
enum MetadataCorpus {
    static var root: URL? {
        if let env = ProcessInfo.processInfo.environment["HEARTH_CORPUS"], !env.isEmpty {
            let url = URL(fileURLWithPath: env)
            return FileManager.default.fileExists(atPath: url.appendingPathComponent("EXPECTED-exiftool.json").path) ? url : nil
        }
        // #filePath is <root>/Tests/MediaTests/CorpusSupport.swift
        let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let url = packageRoot.deletingLastPathComponent().appendingPathComponent("shared/corpus")
        return FileManager.default.fileExists(atPath: url.appendingPathComponent("EXPECTED-exiftool.json").path) ? url : nil
    }

    static func expected(_ root: URL) -> [[String: Any]] {
        guard let data = try? Data(contentsOf: root.appendingPathComponent("EXPECTED-exiftool.json")),
              let list = (try? JSONSerialization.jsonObject(with: data)) as? [[String: Any]] else { return [] }
        return list
    }

    /// ExifTool FileType → the format Hearth should sniff, for the types Hearth reads.
    static let formats: [String: Set<MediaFormat>] = [
        "JPEG": [.jpeg], "MPO": [.jpeg], "PNG": [.png], "WEBP": [.webp], "Extended WEBP": [.webp], "GIF": [.gif],
        "TIFF": [.tiff, .nef, .arw, .dng, .cr2], "HEIC": [.heic], "HEIF": [.heif, .heic], "AVIF": [.avif],
        "JXL": [.jxl], "JXL Codestream": [.jxl], "CR2": [.cr2], "CR3": [.cr3], "NEF": [.nef], "ARW": [.arw],
        "RAF": [.raf], "ORF": [.orf], "RW2": [.rw2], "DNG": [.dng], "MP4": [.mp4, .threeGP], "MOV": [.mov, .mp4],
        "AVI": [.avi], "MKV": [.mkv], "3GP": [.threeGP, .mp4],
    ]
}

/// Counts agreement per field and per format, and keeps the disagreements for the report.
struct MetadataAgreement {
    var fields: [String: (agree: Int, total: Int)] = [:]
    var formats: [String: (agree: Int, total: Int)] = [:]
    var misses: [String] = []

    mutating func check(_ field: String, format: String, file: String, _ ok: Bool, _ detail: @autoclosure () -> String) {
        fields[field, default: (0, 0)].total += 1
        formats[format, default: (0, 0)].total += 1
        if ok {
            fields[field, default: (0, 0)].agree += 1
            formats[format, default: (0, 0)].agree += 1
        } else {
            misses.append("\(field) \(file): \(detail())")
        }
    }

    func rate(_ field: String) -> Double {
        guard let f = fields[field], f.total > 0 else { return 1 }
        return Double(f.agree) / Double(f.total)
    }

    func table() -> String {
        func line(_ name: String, _ v: (agree: Int, total: Int)) -> String {
            let pct = v.total == 0 ? 100 : 100 * Double(v.agree) / Double(v.total)
            return "  \(name.padding(toLength: 14, withPad: " ", startingAt: 0)) \(v.agree)/\(v.total) (\(String(format: "%.1f", pct))%)"
        }
        var out = ["agreement with ExifTool per field:"]
        out += fields.keys.sorted().map { line($0, fields[$0]!) }
        out.append("per format (all fields):")
        out += formats.keys.sorted().map { line($0, formats[$0]!) }
        return out.joined(separator: "\n")
    }
}
