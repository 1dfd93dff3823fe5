import Foundation
import Testing
@testable import Media

/// Runs the reader over the shared corpus and compares with ExifTool 12.57's reading.
@Suite("Corpus", .serialized)
struct CorpusTests {
    @Test func agreesWithExifTool() throws {
        guard let root = Corpus.root else {
            print("CorpusTests: skipped, no corpus (set HEARTH_CORPUS or put it at ../shared/corpus)")
            return
        }
        var a = Agreement()
        var unreadable: [String] = []
        for entry in Corpus.expected(root) {
            guard let path = entry["SourceFile"] as? String, !path.hasPrefix("bad-input/"),
                  let type = entry["FileType"] as? String, let formats = Corpus.formats[type] else { continue }
            let url = root.appendingPathComponent(path)
            do {
                let info = try MediaReader.read(path: url.path, sidecar: MediaReader.sidecarPath(for: url.path))
                compare(info, entry, format: type, file: path, into: &a)
                a.check("format", format: type, file: path, formats.contains(info.format), "\(info.format)")
            } catch {
                unreadable.append("\(path): \(error)")
                a.check("format", format: type, file: path, false, "error \(error)")
            }
        }
        print(a.table())
        print("disagreements (\(a.misses.count)):\n  " + a.misses.joined(separator: "\n  "))
        print("unreadable (\(unreadable.count)):\n  " + unreadable.joined(separator: "\n  "))
        for (field, floor) in CorpusFloors.fields {
            #expect(a.rate(field) >= floor, "\(field) agreement \(a.rate(field)) fell below \(floor)")
        }
    }
}

enum CorpusFloors {
    static let fields: [String: Double] = [:]
}

private func compare(_ info: MediaInfo, _ e: [String: Any], format: String, file: String, into a: inout Agreement) {
    func num(_ key: String) -> Double? {
        if let d = e[key] as? Double { return d }
        if let i = e[key] as? Int { return Double(i) }
        return nil
    }
    func close(_ x: Double?, _ y: Double, _ tol: Double) -> Bool { x.map { abs($0 - y) <= tol } ?? false }
    let isVideo = info.type == .video
    if let text = (e["DateTimeOriginal"] as? String) ?? (e["CreateDate"] as? String),
       let want = DateParsing.iso8601(text) {
        let got = info.takenAt
        let ok: Bool
        if isVideo {
            ok = got.flatMap { $0.utcSeconds } == want.local - Int64(want.offset ?? 0) * 60
        } else {
            ok = got?.localSeconds == want.local && got?.source != .fileName && got?.source != .fileModified
        }
        a.check("date", format: format, file: file, ok, "got \(String(describing: got)) want \(text)")
    }
    if let text = e["OffsetTimeOriginal"] as? String, let want = DateParsing.offset(Substring(text)) {
        a.check("offset", format: format, file: file, info.takenAt?.offsetMinutes == want,
                "got \(String(describing: info.takenAt?.offsetMinutes)) want \(text)")
    }
    if let lat = num("GPSLatitude"), let lon = num("GPSLongitude") {
        a.check("gps", format: format, file: file, close(info.latitude, lat, 1e-4) && close(info.longitude, lon, 1e-4),
                "got \(String(describing: info.latitude)),\(String(describing: info.longitude)) want \(lat),\(lon)")
    }
    if let alt = num("GPSAltitude") {
        a.check("altitude", format: format, file: file, close(info.altitude, alt, 0.01),
                "got \(String(describing: info.altitude)) want \(alt)")
    }
    if let o = e["Orientation"] as? Int {
        a.check("orientation", format: format, file: file, info.orientation == o, "got \(String(describing: info.orientation)) want \(o)")
    }
    for (key, got) in [("Make", info.make), ("Model", info.model), ("LensModel", info.lens)] {
        if let want = e[key] as? String {
            a.check(key.lowercased(), format: format, file: file, got == want.trimmingCharacters(in: .whitespaces),
                    "got \(String(describing: got)) want \(want)")
        }
    }
    if let w = e["ImageWidth"] as? Int, let h = e["ImageHeight"] as? Int {
        a.check("dimensions", format: format, file: file, info.width == w && info.height == h,
                "got \(String(describing: info.width))x\(String(describing: info.height)) want \(w)x\(h)")
    }
    if isVideo, let d = num("Duration") {
        a.check("duration", format: format, file: file, close(info.durationSeconds, d, max(0.05, d * 0.01)),
                "got \(String(describing: info.durationSeconds)) want \(d)")
    }
    if let p = e["ProjectionType"] as? String {
        a.check("projection", format: format, file: file, info.projection == p, "got \(String(describing: info.projection)) want \(p)")
    }
    let motionFlag = (e["MotionPhoto"] as? Int) == 1 || (e["MicroVideo"] as? Int) == 1
    if motionFlag {
        a.check("motion", format: format, file: file, info.motion != nil, "no motion video found")
    }
    if let id = e["ContentIdentifier"] as? String {
        a.check("contentid", format: format, file: file, info.contentIdentifier == id, "got \(String(describing: info.contentIdentifier))")
    }
    if let r = e["Rating"] as? Int, !isVideo, format != "CR3" {
        a.check("rating", format: format, file: file, info.rating == r || (r == 0 && info.rating == nil),
                "got \(String(describing: info.rating)) want \(r)")
    }
    for (key, got) in [("FNumber", info.fNumber), ("ExposureTime", info.exposureTime), ("FocalLength", info.focalLength)] {
        if let want = num(key), want > 0, want < 1e6 {
            a.check(key.lowercased(), format: format, file: file, close(got, want, want * 0.01),
                    "got \(String(describing: got)) want \(want)")
        }
    }
    if let iso = e["ISO"] as? Int {
        a.check("iso", format: format, file: file, info.iso == iso, "got \(String(describing: info.iso)) want \(iso)")
    }
}
