import Foundation

/// Video metadata through Debian's `ffprobe` run as a subprocess with a time limit.
enum VideoProbe {
    static let candidates = ["/usr/bin/ffprobe", "/usr/local/bin/ffprobe", "/opt/homebrew/bin/ffprobe"]
    static let maxOutputBytes = 4 << 20

    static func executable() -> String? {
        if let env = ProcessInfo.processInfo.environment["HEARTH_FFPROBE"], FileManager.default.isExecutableFile(atPath: env) {
            return env
        }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Runs `ffprobe -v error -print_format json -show_format -show_streams` on `path`.
    static func probe(path: String, name: String, timeoutSeconds: Double = 20) throws(MediaError) -> [String: Any] {
        guard let tool = executable() else {
            throw MediaError(.toolMissing, "\(name): cannot read video metadata: ffprobe is not installed (apt install ffmpeg)")
        }
        let outURL = FileManager.default.temporaryDirectory
            .appendingPathComponent("hearth-ffprobe-\(UUID().uuidString).json")
        guard FileManager.default.createFile(atPath: outURL.path, contents: nil),
              let out = try? FileHandle(forWritingTo: outURL) else {
            throw MediaError(.toolFailed, "\(name): cannot create a temporary file for ffprobe output")
        }
        defer { try? FileManager.default.removeItem(at: outURL) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = ["-v", "error", "-print_format", "json", "-show_format", "-show_streams", "--", path]
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        do { try process.run() } catch {
            try? out.close()
            throw MediaError(.toolFailed, "\(name): cannot run ffprobe (\(error.localizedDescription))")
        }
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        while process.isRunning {
            if Date() > deadline {
                process.terminate()
                process.waitUntilExit()
                try? out.close()
                throw MediaError(.timedOut, "\(name): ffprobe took longer than \(Int(timeoutSeconds)) s; file skipped")
            }
            usleep(5_000)
        }
        try? out.close()
        guard let handle = try? FileHandle(forReadingFrom: outURL),
              let data = try? handle.read(upToCount: maxOutputBytes) else {
            throw MediaError(.toolFailed, "\(name): ffprobe produced no output")
        }
        try? handle.close()
        guard process.terminationStatus == 0,
              let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw MediaError(.malformed, "\(name): ffprobe cannot read this video (exit \(process.terminationStatus))")
        }
        return json
    }

    /// Fills the video fields of `info` from ffprobe's JSON.
    static func apply(_ json: [String: Any], to info: inout MediaInfo) {
        let format = json["format"] as? [String: Any] ?? [:]
        let tags = lowercased(format["tags"])
        if let d = (format["duration"] as? String).flatMap(Double.init), d.isFinite, d > 0 { info.durationSeconds = d }
        let streams = json["streams"] as? [[String: Any]] ?? []
        if let video = streams.first(where: { ($0["codec_type"] as? String) == "video" && !isAttachedPicture($0) }) {
            info.videoCodec = video["codec_name"] as? String
            info.width = (video["width"] as? Int).flatMap { $0 > 0 ? $0 : nil }
            info.height = (video["height"] as? Int).flatMap { $0 > 0 ? $0 : nil }
            // Non-square pixels: report the width a player shows (what the track header says).
            if let w = info.width, let sar = (video["sample_aspect_ratio"] as? String).flatMap(fraction),
               sar > 0.1, sar < 10, sar != 1 {
                info.width = Int((Double(w) * sar).rounded())
            }
            if info.durationSeconds == nil, let d = (video["duration"] as? String).flatMap(Double.init), d.isFinite, d > 0 {
                info.durationSeconds = d
            }
            if info.durationSeconds == nil, let frames = (video["nb_frames"] as? String).flatMap(Double.init),
               let rate = (video["avg_frame_rate"] as? String).flatMap(fraction), rate > 0 {
                info.durationSeconds = frames / rate
            }
            var rotation: Double?
            for side in video["side_data_list"] as? [[String: Any]] ?? [] {
                if let r = side["rotation"] as? Double { rotation = r }
                if let r = side["rotation"] as? Int { rotation = Double(r) }
                if let p = side["projection"] as? String, p != "flat", p != "rectangular" {
                    info.projection = p == "equirectangular" ? "equirectangular" : p
                }
            }
            if rotation == nil, let r = lowercased(video["tags"])["rotate"].flatMap(Double.init) { rotation = -r }
            info.orientation = rotation.map(orientation(forDisplayRotation:))
        }
        if let stamp = tags["com.apple.quicktime.creationdate"].flatMap(DateParsing.iso8601), stamp.offset != nil {
            info.takenAt = CaptureDate(localSeconds: stamp.local, offsetMinutes: stamp.offset, source: .video)
        } else if let stamp = tags["creation_time"].flatMap(DateParsing.iso8601), stamp.local > 0 {
            // QuickTime/MP4 creation times are UTC and ffprobe marks them "Z"; AVI's IDIT is a
            // camera's local time with no zone, so the offset stays unknown.
            info.takenAt = CaptureDate(localSeconds: stamp.local, offsetMinutes: stamp.offset, source: .video)
        }
        if let location = tags["com.apple.quicktime.location.iso6709"] ?? tags["location"],
           let point = iso6709(location) {
            (info.latitude, info.longitude, info.altitude) = point
        }
        info.contentIdentifier = tags["com.apple.quicktime.content.identifier"]
        info.make = tags["com.apple.quicktime.make"] ?? tags["make"]
        info.model = tags["com.apple.quicktime.model"] ?? tags["model"]
    }

    /// "30000/1001" (rates) or "8:9" (aspect ratios).
    private static func fraction(_ text: String) -> Double? {
        let parts = text.split(whereSeparator: { $0 == "/" || $0 == ":" })
        guard parts.count == 2, let a = Double(parts[0]), let b = Double(parts[1]), b != 0 else { return Double(text) }
        return a / b
    }

    private static func isAttachedPicture(_ stream: [String: Any]) -> Bool {
        ((stream["disposition"] as? [String: Any])?["attached_pic"] as? Int) == 1
    }

    private static func lowercased(_ any: Any?) -> [String: String] {
        var out: [String: String] = [:]
        for (k, v) in any as? [String: Any] ?? [:] {
            if let s = v as? String { out[k.lowercased()] = String(s.prefix(1024)) }
        }
        return out
    }

    /// ffprobe's display-matrix rotation (degrees anticlockwise) as the EXIF orientation a
    /// viewer would apply: -90 (turn clockwise) is 6.
    static func orientation(forDisplayRotation degrees: Double) -> Int {
        var r = Int(degrees.rounded()) % 360
        if r < 0 { r += 360 }
        switch r {
        case 270: return 6
        case 90: return 8
        case 180: return 3
        default: return 1
        }
    }

    /// ISO 6709 "+52.4597+013.3220+051.178/" → latitude, longitude, altitude.
    static func iso6709(_ text: String) -> (Double, Double, Double?)? {
        var numbers: [Double] = []
        var current = ""
        for ch in text.prefix(128) {
            if ch == "+" || ch == "-" || ch == "/" {
                if !current.isEmpty, let v = Double(current) { numbers.append(v) }
                current = ch == "/" ? "" : String(ch)
            } else if ch.isNumber || ch == "." {
                current.append(ch)
            } else {
                break
            }
        }
        if !current.isEmpty, let v = Double(current) { numbers.append(v) }
        guard numbers.count >= 2, abs(numbers[0]) <= 90, abs(numbers[1]) <= 180 else { return nil }
        return (numbers[0], numbers[1], numbers.count > 2 ? numbers[2] : nil)
    }
}
