import Foundation
import Testing
@testable import Media

/// Runs the reader over the shared corpus and compares with ExifTool 12.57's reading.
@Suite("Corpus", .serialized)
struct CorpusTests {
    @Test(.enabled(if: MetadataCorpus.root != nil, "no media corpus (set HEARTH_CORPUS or put it at ../shared/corpus)"))
    func agreesWithExifTool() throws {
        let root = try #require(MetadataCorpus.root)
        var a = MetadataAgreement()
        var unreadable: [String] = []
        var count = 0
        var videos = 0
        let clock = ContinuousClock()
        let started = clock.now
        for entry in MetadataCorpus.expected(root) {
            guard let path = entry["SourceFile"] as? String, !path.hasPrefix("bad-input/"),
                  let type = entry["FileType"] as? String, let formats = MetadataCorpus.formats[type] else { continue }
            let url = root.appendingPathComponent(path)
            do {
                // ExifTool read each file alone, so no sidecar here (exiftool-t/XMP.xmp would shadow XMP.jpg).
                let info = try MediaReader.read(path: url.path)
                compare(info, entry, format: type, file: path, into: &a)
                count += 1
                if info.type == .video { videos += 1 }
                a.check("format", format: type, file: path, formats.contains(info.format), "\(info.format)")
            } catch {
                unreadable.append("\(path): \(error)")
                a.check("format", format: type, file: path, false, "error \(error)")
            }
        }
        let elapsed = clock.now - started
        print("read \(count) files (\(videos) videos through ffprobe) in \(elapsed)")
        print(a.table())
        print("disagreements (\(a.misses.count)):\n  " + a.misses.joined(separator: "\n  "))
        print("unreadable (\(unreadable.count)):\n  " + unreadable.joined(separator: "\n  "))
        for (field, floor) in MetadataCorpusFloors.fields {
            #expect(a.rate(field) >= floor, "\(field) agreement \(a.rate(field)) fell below \(floor)")
        }
    }
}

/// Floors set just under what was measured (corpus of 2026-11, ExifTool 12.57), so a regression fails.
/// Known, accepted disagreements:
/// - ExifTool reads proprietary blocks Hearth does not: Canon CIFF (sony-powershota5.jpg, ExifTool.jpg, where
///   ExifTool prefers CIFF over the EXIF DateTimeOriginal that Hearth reports), Olympus APP12 PictureInfo
///   (olympus-d320l.jpg), Casio QVCI (CasioQVCI.jpg), maker-note dates (Reconyx_HC500_Hyperfire.jpg) and
///   maker-note ISO/lens values (Canon, Casio, Pentax, Olympus).
/// - exif_gps.jpg: libexif drops the EXIF IFD of this deliberately broken file.
/// - exif_imagemagick*.png keep EXIF in a zlib-compressed "Raw profile" text chunk; Hearth has no inflate here.
/// - Matroska.mkv is ExifTool's header-only sample: ffprobe refuses it, Hearth's EBML fallback reads it.
/// - Pentax.avi: see the video date comparison.
/// - FujiFilm.raf is a stripped sample: ExifTool reports its 8×8 preview, libraw the sensor size.
enum MetadataCorpusFloors {
    static let fields: [String: Double] = [
        "format": 0.995, "date": 0.955, "offset": 1.0, "gps": 0.99, "altitude": 0.99, "orientation": 0.985,
        "make": 0.97, "model": 0.98, "lensmodel": 0.8, "dimensions": 0.995, "duration": 0.99, "projection": 1.0,
        "motion": 1.0, "contentid": 1.0, "rating": 1.0, "fnumber": 0.96, "exposuretime": 0.95,
        "focallength": 0.98, "iso": 0.85, "tags": 0.9, "description": 0.9,
    ]
}

private func compare(_ info: MediaInfo, _ e: [String: Any], format: String, file: String, into a: inout MetadataAgreement) {
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
            // ExifTool gives QuickTime dates in UTC, RIFF (AVI) dates as local time. Pentax.avi differs by 34 s:
            // ExifTool shows the RIFF IDIT (12:14:00), ffprobe the camera's own chunk (12:14:34).
            ok = got.map { $0.utcSeconds ?? $0.localSeconds } == want.local - Int64(want.offset ?? 0) * 60
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
        // ExifTool reports 0 m when a video's ISO 6709 string has no altitude (isom-avc1.mp4,
        // equirect360_v1_synthetic.mp4); Hearth keeps nil rather than invent sea level.
        let ok = close(info.altitude, alt, 0.01) || (isVideo && alt == 0 && info.altitude == nil)
        a.check("altitude", format: format, file: file, ok,
                "got \(String(describing: info.altitude)) want \(alt)")
    }
    // ExifTool passes through out-of-range orientations (0 in huawei-gps-error.jpg); Hearth drops them.
    if let o = e["Orientation"] as? Int, (1...8).contains(o) {
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
    func list(_ key: String) -> [String]? {
        if let l = e[key] as? [Any] { return l.map { "\($0)" } }
        if let v = e[key] { return ["\(v)"] }
        return nil
    }
    if !isVideo, let want = list("Subject") ?? list("Keywords") {
        // Immich's order puts digiKam:TagsList / lr:hierarchicalSubject ("People/Marie Curie") before
        // dc:subject, which is what ExifTool's Subject shows: the leaves must match then.
        let leaves = info.tags.map { $0.split(separator: "/").last.map(String.init) ?? $0 }
        a.check("tags", format: format, file: file, info.tags == want || leaves == want, "got \(info.tags) want \(want)")
    }
    if !isVideo, let want = e["Description"] as? String, !want.trimmingCharacters(in: .whitespaces).isEmpty {
        a.check("description", format: format, file: file,
                info.description?.trimmingCharacters(in: .whitespaces) == want.trimmingCharacters(in: .whitespaces),
                "got \(String(describing: info.description)) want \(want)")
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

@Suite("Corpus files", .serialized)
struct CorpusFileTests {
    /// Crashers of other parsers: each must give info or a MediaError, quickly.
    @Test(.enabled(if: MetadataCorpus.root != nil, "no media corpus (set HEARTH_CORPUS or put it at ../shared/corpus)"))
    func badInputNeverCrashesOrHangs() throws {
        let root = try #require(MetadataCorpus.root)
        let dir = root.appendingPathComponent("bad-input")
        let files = (FileManager.default.enumerator(atPath: dir.path)?.allObjects as? [String] ?? [])
            .filter { !$0.hasPrefix(".") }.sorted()
            .map { dir.appendingPathComponent($0) }
            .filter { (try? $0.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true }
        #expect(files.count > 10)
        var read = 0, refused = 0
        var codes: [String: Int] = [:]
        for url in files {
            let start = ContinuousClock.now
            do {
                _ = try MediaReader.read(path: url.path)
                read += 1
            } catch {
                refused += 1
                codes[error.code.rawValue, default: 0] += 1
                #expect(error.message.hasPrefix(url.lastPathComponent), "\(error.message)")
            }
            let elapsed = ContinuousClock.now - start
            #expect(elapsed < .seconds(15), "\(url.lastPathComponent) took \(elapsed)")
        }
        print("bad-input: \(files.count) files, \(read) read, \(refused) refused with MediaError \(codes.sorted { $0.key < $1.key })")
    }

    /// Everything in the corpus, listed by ExifTool or not (models, annotations, text): info or MediaError.
    @Test(.enabled(if: MetadataCorpus.root != nil, "no media corpus (set HEARTH_CORPUS or put it at ../shared/corpus)"))
    func everyCorpusFileReadsOrRefuses() throws {
        let root = try #require(MetadataCorpus.root)
        let paths = (FileManager.default.enumerator(atPath: root.path)?.allObjects as? [String] ?? []).sorted()
        var read = 0, refused = 0
        for relative in paths {
            let url = root.appendingPathComponent(relative)
            guard (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true else { continue }
            do {
                let info = try MediaReader.read(path: url.path)
                #expect(info.mimeType == info.format.mimeType)
                read += 1
            } catch {
                refused += 1
            }
        }
        print("corpus sweep: \(read) read, \(refused) refused with MediaError")
        #expect(read > 300)
    }

    @Test(.enabled(if: MetadataCorpus.root != nil, "no media corpus (set HEARTH_CORPUS or put it at ../shared/corpus)"))
    func motionPhotosMatchManifest() throws {
        let root = try #require(MetadataCorpus.root)
        let motion = root.appendingPathComponent("motion")
        let data = try Data(contentsOf: motion.appendingPathComponent("manifest.json"))
        let manifest = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        var checked = 0
        for entry in manifest["files"] as? [[String: Any]] ?? [] {
            guard let path = entry["path"] as? String, let expected = entry["expected"] as? [String: Any] else { continue }
            // The manifest names files/…; the corpus keeps them beside it.
            let url = motion.appendingPathComponent(URL(fileURLWithPath: path).lastPathComponent)
            guard FileManager.default.fileExists(atPath: url.path) else { continue }
            let info = try MediaReader.read(path: url.path)
            let isMotion = expected["is_motion_photo"] as? Bool ?? false
            #expect((info.motion != nil) == isMotion, "\(path)")
            if let start = expected["video_index_start"] as? Int, let end = expected["video_index_end"] as? Int {
                #expect(info.motion?.videoOffset == Int64(start), "\(path)")
                #expect(info.motion.map { $0.videoOffset + $0.videoLength } == Int64(end), "\(path)")
            }
            checked += 1
        }
        #expect(checked >= 3)
        let google = try MediaReader.read(path: root.appendingPathComponent("synthetic/MVIMG_synthetic_motionphoto.jpg").path)
        let m = try #require(google.motion)
        #expect(m.kind == .googleMotionPhoto)
        let size = try #require(try FileManager.default.attributesOfItem(atPath: root.appendingPathComponent(
            "synthetic/MVIMG_synthetic_motionphoto.jpg").path)[.size] as? Int)
        #expect(m.videoOffset + m.videoLength == Int64(size))
    }

    @Test(.enabled(if: MetadataCorpus.root != nil, "no media corpus (set HEARTH_CORPUS or put it at ../shared/corpus)"))
    func livePhotoPairIsPaired() throws {
        let root = try #require(MetadataCorpus.root)
        let dir = root.appendingPathComponent("synthetic/livephoto")
        let still = dir.appendingPathComponent("IMG_5195.HEIC").path
        let video = dir.appendingPathComponent("IMG_5195.MOV").path
        let items = [(path: video, info: try MediaReader.read(path: video)), (path: still, info: try MediaReader.read(path: still))]
        #expect(items[0].info.contentIdentifier == "570F1469-09C7-4E50-9875-05F21D5BD166")
        print("Live Photo still ContentIdentifier: \(items[1].info.contentIdentifier ?? "none")")
        #expect(LivePhotoPairing.pair(items) == [.init(still: still, video: video)])
    }
}
