import Foundation

/// Derived images of a video: a poster frame grabbed by Debian's `ffmpeg`, then the same
/// pipeline as a photo.
///
/// The frame is taken at 1 s, or at 10% of the duration for videos shorter than 10 s, so that
/// fade-ins and black first frames are skipped. `ffmpeg` applies the rotation stored in the
/// container, so the frame is upright. Both helper programs run under the per-file deadline
/// and are killed when it passes.
enum VideoPoster {
    static let maxProbeOutput = 4096
    static let maxFrameBytes = 256 * 1024 * 1024

    static func make(path: String, deadline: Deadline) throws -> Derived {
        guard let ffmpeg = Subprocess.find("ffmpeg"), let ffprobe = Subprocess.find("ffprobe") else {
            throw DerivedImageError(.toolMissing, path: path, "ffmpeg and ffprobe are needed for video posters (apt install ffmpeg)")
        }
        let duration = try probeDuration(ffprobe: ffprobe, path: path, deadline: deadline)
        let offset = min(1.0, duration * 0.1)
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("hearth-poster-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let frame = directory.appendingPathComponent("poster.png").path

        var message = try grab(ffmpeg: ffmpeg, path: path, offset: offset, to: frame, deadline: deadline)
        if !FileManager.default.fileExists(atPath: frame) && offset > 0 {
            // Some streams' timestamps start late or the duration lies: take the first frame.
            message = try grab(ffmpeg: ffmpeg, path: path, offset: 0, to: frame, deadline: deadline)
        }
        let size = (try? FileManager.default.attributesOfItem(atPath: frame)[.size] as? Int) ?? nil
        guard let size, size > 0 else {
            let detail = message.isEmpty ? "no video frame could be decoded" : message
            throw DerivedImageError(.corrupt, path: path, "no poster frame: \(detail)")
        }
        guard size <= maxFrameBytes else {
            throw DerivedImageError(.tooLarge, path: path, "poster frame is \(size) bytes, over the limit")
        }
        return try DerivedImages.fromImageFile(path: frame, name: path, deadline: deadline)
    }

    /// Container duration in seconds (0 when unknown, e.g. a still or a broken header).
    static func probeDuration(ffprobe: String, path: String, deadline: Deadline) throws -> Double {
        let result = try Subprocess.run(ffprobe, ["-v", "error", "-show_entries", "format=duration",
                                                  "-of", "default=noprint_wrappers=1:nokey=1", "--", path],
                                        timeout: deadline.remainingSeconds, maxOutput: maxProbeOutput)
        if result.timedOut {
            throw DerivedImageError(.timedOut, path: path, "ffprobe did not finish within the per-file time limit")
        }
        let text = String(decoding: result.output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let seconds = Double(text), seconds.isFinite, seconds > 0 else { return 0 }
        return seconds
    }

    /// Writes one frame at `offset` seconds to `frame`; returns ffmpeg's error text.
    private static func grab(ffmpeg: String, path: String, offset: Double, to frame: String,
                             deadline: Deadline) throws -> String {
        let arguments = ["-nostdin", "-v", "error", "-ss", String(format: "%.3f", offset), "-i", path,
                         "-frames:v", "1", "-an", "-sn", "-dn", "-f", "image2", "-c:v", "png", "-y", frame]
        let result = try Subprocess.run(ffmpeg, arguments, timeout: deadline.remainingSeconds,
                                        maxOutput: 64 * 1024, captureStderr: true)
        if result.timedOut {
            throw DerivedImageError(.timedOut, path: path, "ffmpeg did not finish within the per-file time limit")
        }
        let text = String(decoding: result.output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return String(text.split(separator: "\n").prefix(3).joined(separator: "; ").prefix(400))
    }
}
