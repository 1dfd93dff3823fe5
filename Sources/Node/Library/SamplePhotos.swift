import Foundation
import Media

/// Photo-like JPEGs with EXIF for the demo, tests and benchmarks: deterministic per seed, with
/// capture dates spread over ten years (with UTC offsets), orientations 1/3/6/8, GPS on about
/// half, and a few camera makes.
public enum SamplePhotos {
    static let cameras = [("Canon", "Canon EOS 5D Mark IV"), ("NIKON CORPORATION", "NIKON D750"),
                          ("Apple", "iPhone 13"), ("SONY", "ILCE-7M3"), ("FUJIFILM", "X-T4")]

    /// The EXIF fields sample `i` carries (exposed so tests can check what import reads back).
    public static func fields(seed: Int) -> ExifWriter.Fields {
        var rng = SplitMix(seed: UInt64(truncatingIfNeeded: seed))
        let base: Int64 = 1_420_070_400 // 2015-01-01
        let local = base + Int64(rng.next() % (10 * 365 * 86400))
        let offsets = [-480, -300, 0, 60, 120, 330, 540]
        let offset = offsets[Int(rng.next() % UInt64(offsets.count))]
        let cam = cameras[Int(rng.next() % UInt64(cameras.count))]
        let orientation = [1, 1, 3, 6, 8][Int(rng.next() % 5)]
        var f = ExifWriter.Fields(takenAt: CaptureDate(localSeconds: local, offsetMinutes: offset, source: .exif),
                                  orientation: orientation, make: cam.0, model: cam.1)
        if rng.next() % 2 == 0 {
            f.latitude = Double(Int(rng.next() % 140_000) - 70_000) / 1000
            f.longitude = Double(Int(rng.next() % 360_000) - 180_000) / 1000
            f.altitude = Double(rng.next() % 3000)
        }
        return f
    }

    /// Writes `count` photos named `IMG_<seed>.jpg` into `directory`.
    public static func write(to directory: String, count: Int, width: Int, height: Int, seed: Int) throws -> [String] {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let paths = (0..<count).map { (directory as NSString).appendingPathComponent(String(format: "IMG_%05d.jpg", seed + $0)) }
        let failures = ParallelMap.run(count, workers: max(1, ProcessInfo.processInfo.activeProcessorCount)) { i -> String? in
            let s = seed + i
            let pixels = SyntheticImage.jpeg(width: width, height: height, seed: s, quality: 90)
            do {
                let bytes = try ExifWriter.insert(fields(seed: s), into: pixels)
                return FileManager.default.createFile(atPath: paths[i], contents: Data(bytes)) ? nil : "cannot write \(paths[i])"
            } catch {
                return "\(paths[i]): \(error)"
            }
        }
        if let f = failures.compactMap({ $0 }).first { throw NodeError(.io, f) }
        return paths
    }
}

/// A tiny deterministic generator (SplitMix64) for sample data.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed &+ 0x9E37_79B9_7F4A_7C15 }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
