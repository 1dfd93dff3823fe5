import CVips
import Foundation
import Testing
@testable import Media

/// The shared real-world corpus, if present (`HEARTH_CORPUS` or `../shared/corpus`).
let derivedCorpusRoot: String? = {
    if let path = ProcessInfo.processInfo.environment["HEARTH_CORPUS"], FileManager.default.fileExists(atPath: path) {
        return path
    }
    let package = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    let path = package.appendingPathComponent("../shared/corpus").standardized.path
    return FileManager.default.fileExists(atPath: path) ? path : nil
}()

func derivedCorpusPath(_ relative: String) -> String {
    "\(derivedCorpusRoot ?? "")/\(relative)"
}

/// Every regular file under `folder` of the corpus, sorted.
func derivedCorpusFiles(under folder: String) -> [String] {
    guard let root = derivedCorpusRoot, let walker = FileManager.default.enumerator(atPath: "\(root)/\(folder)") else {
        return []
    }
    var found: [String] = []
    while let relative = walker.nextObject() as? String {
        let path = "\(root)/\(folder)/\(relative)"
        var directory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &directory), !directory.boolValue {
            found.append(path)
        }
    }
    return found.sorted()
}

/// Sizes follow the rule: shorter side min(1440, source) for the preview, min(250, preview) for the thumbnail.
func expectDerivedSizes(_ derived: Derived, _ file: String) {
    let sourceShort = min(derived.sourceWidth, derived.sourceHeight)
    let previewShort = min(derived.previewSize.width, derived.previewSize.height)
    let thumbShort = min(derived.thumbnailSize.width, derived.thumbnailSize.height)
    #expect(abs(previewShort - min(1440, sourceShort)) <= 1, "\(file): preview \(derived.previewSize)")
    #expect(abs(thumbShort - min(250, previewShort)) <= 1, "\(file): thumbnail \(derived.thumbnailSize)")
    #expect(Array(derived.preview.prefix(2)) == [0xFF, 0xD8], "\(file): preview is not JPEG")
    #expect(derived.thumbnail.count > 12 && derived.thumbnail[8..<12].elementsEqual("WEBP".utf8), "\(file): not WebP")
}

/// Mean of band 0 in each quadrant (top-left, top-right, bottom-left, bottom-right).
func derivedQuadrants(_ image: VipsImageRef) -> [Double] {
    [(0.0, 0.5, 0.0, 0.5), (0.5, 1.0, 0.0, 0.5), (0.0, 0.5, 0.5, 1.0), (0.5, 1.0, 0.5, 1.0)].map {
        derivedMean(image, x0: $0.0, x1: $0.1, y0: $0.2, y1: $0.3)
    }
}

@Suite("Derived images on the real corpus", .enabled(if: derivedCorpusRoot != nil, "corpus not found: set HEARTH_CORPUS"))
struct DerivedCorpusTests {
    @Test("Orientation 1–8 samples all come out upright, like the orientation-1 reference",
          arguments: ["landscape", "portrait"])
    func orientationSet(shape: String) throws {
        let referencePath = derivedCorpusPath("exif/exif-samples/jpg/orientation/\(shape)_1.jpg")
        try #require(FileManager.default.fileExists(atPath: referencePath), "orientation samples missing")
        let reference = try DerivedImages.make(path: referencePath, kind: .image)
        let referenceImage = try #require(SyntheticImage.decode(reference.thumbnail))
        let expected = derivedQuadrants(referenceImage)
        // The reference must have structure, or the comparison proves nothing.
        #expect((expected.max() ?? 0) - (expected.min() ?? 0) > 10, "reference quadrants \(expected)")
        for orientation in 2...8 {
            let path = derivedCorpusPath("exif/exif-samples/jpg/orientation/\(shape)_\(orientation).jpg")
            let derived = try DerivedImages.make(path: path, kind: .image)
            #expect(derived.thumbnailSize == reference.thumbnailSize, "\(shape)_\(orientation)")
            let image = try #require(SyntheticImage.decode(derived.thumbnail))
            let quadrants = derivedQuadrants(image)
            let worst = zip(quadrants, expected).map { abs($0 - $1) }.max() ?? 0
            #expect(worst < 12, "\(shape)_\(orientation): quadrant means \(quadrants) vs \(expected)")
        }
    }

    @Test("Phone and sample HEIC/HEIF/AVIF/JXL files produce thumbnails", arguments: [
        "heif/cheers_1440x960.heic", "heif/grid_960x640.heic", "heif/stereo_1200x800.heic",
        "heif/with-alpha-512x512.heic", "heif/rainbow-451x461.heic", "heif/candle_animation.heic",
        "heif/example.avif", "immich/IMG_2682.heic", "photoprism/iphone_15_pro.heic",
        "motion/motionphoto.heic", "synthetic/livephoto/IMG_5195.HEIC", "immich/8bit-sRGB.avif",
        "immich/8bit-sRGB.jxl", "exiv2/Stonehenge.heic",
    ])
    func heic(file: String) throws {
        let derived = try DerivedImages.make(path: derivedCorpusPath(file), kind: .image)
        expectDerivedSizes(derived, file)
    }

    @Test("An iPhone HEIC gives a 1440-short-side preview of a 12 MP photo")
    func iphoneHEIC() throws {
        let derived = try DerivedImages.make(path: derivedCorpusPath("photoprism/iphone_15_pro.heic"), kind: .image)
        #expect(derived.sourceWidth * derived.sourceHeight > 10_000_000)
        #expect(derived.previewSize == PixelSize(width: 1440, height: 1920))
        #expect(derived.thumbnailSize == PixelSize(width: 250, height: 333))
    }

    @Test("Videos produce upright poster frames", arguments: [
        "exiv2/sample_640x360.mov", "exiv2/small_video.mp4", "photoprism/isom-avc1.mp4",
        "photoprism/mp42-hvc1.mp4", "photoprism/quicktime-hvc1.mov", "synthetic/livephoto/IMG_5195.MOV",
        "synthetic/equirect360_v1_synthetic.mp4",
    ])
    func video(file: String) throws {
        let derived = try DerivedImages.make(path: derivedCorpusPath(file), kind: .video)
        expectDerivedSizes(derived, file)
    }

    @Test("A rotated phone video's poster is portrait")
    func portraitVideo() throws {
        let derived = try DerivedImages.make(path: derivedCorpusPath("synthetic/livephoto/IMG_5195.MOV"), kind: .video)
        #expect(derived.previewSize.height > derived.previewSize.width)
    }

    @Test("Broken videos are errors naming the file", arguments: [
        "immich/dates/future42603.mp4", "photoprism/quicktime-jpeg.mov",
    ])
    func brokenVideo(file: String) throws {
        let error = try #require(throws: DerivedImageError.self) {
            try DerivedImages.make(path: derivedCorpusPath(file), kind: .video)
        }
        #expect(error.description.contains(file))
    }

    @Test("RAW and DNG files produce previews", arguments: [
        "photoprism/canon_eos_6d.dng", "exif/exiftool-t/Nikon.nef", "exif/exiftool-t/CanonRaw.cr3",
    ])
    func raw(file: String) throws {
        let derived = try DerivedImages.make(path: derivedCorpusPath(file), kind: .raw)
        // The embedded preview (≥ 1440) or a half-size demosaic: between half the sensor and 1440.
        let sourceShort = min(derived.sourceWidth, derived.sourceHeight)
        let previewShort = min(derived.previewSize.width, derived.previewSize.height)
        #expect(previewShort <= 1440 && previewShort >= min(1440, sourceShort / 2), "\(file): \(derived.previewSize)")
        #expect(min(derived.thumbnailSize.width, derived.thumbnailSize.height) == min(250, previewShort))
    }

    @Test("A video past the time limit: ffprobe/ffmpeg are killed and the error says timedOut")
    func videoTimeout() throws {
        let clock = ContinuousClock()
        let start = clock.now
        let error = try #require(throws: DerivedImageError.self) {
            try DerivedImages.make(path: derivedCorpusPath("synthetic/livephoto/IMG_5195.MOV"), kind: .video,
                                   timeLimit: .milliseconds(30))
        }
        #expect(error.code == .timedOut)
        #expect(clock.now - start < .seconds(5))
    }

    @Test("A RAW demosaic past the time limit is cancelled through libraw's progress callback")
    func rawTimeout() throws {
        let error = try #require(throws: DerivedImageError.self) {
            try DerivedImages.make(path: derivedCorpusPath("photoprism/canon_eos_6d.dng"), kind: .raw,
                                   timeLimit: .microseconds(1))
        }
        #expect(error.code == .timedOut)
    }

    @Test("A non-RAW file given as RAW is an unsupported error")
    func notRaw() throws {
        let error = try #require(throws: DerivedImageError.self) {
            try DerivedImages.make(path: derivedCorpusPath("heif/example.avif"), kind: .raw)
        }
        #expect(error.code == .unsupported)
    }

    @Test("Every bad-input file gives an error or a valid image, quickly, never a crash")
    func badInput() throws {
        let files = derivedCorpusFiles(under: "bad-input")
        try #require(files.count > 50)
        var errors = 0
        for file in files {
            let clock = ContinuousClock()
            let start = clock.now
            for kind in [SourceKind.image, .raw] {
                do {
                    let derived = try DerivedImages.make(path: file, kind: kind, timeLimit: .seconds(20))
                    expectDerivedSizes(derived, file)
                } catch let error as DerivedImageError {
                    if kind == .image { errors += 1 }
                    #expect(error.description.hasPrefix(file), "\(error)")
                    #expect(!error.message.isEmpty)
                }
            }
            #expect(clock.now - start < .seconds(20), "\(file) took \(clock.now - start)")
        }
        // A handful of crashers are valid images (the bug was in a metadata parser).
        #expect(errors >= files.count * 9 / 10, "\(errors) errors out of \(files.count)")
    }

    @Test("The exiv2 video crashers are errors as videos too")
    func badVideos() throws {
        for file in derivedCorpusFiles(under: "bad-input").filter({ $0.hasSuffix(".mp4") }) {
            #expect(throws: DerivedImageError.self) { try DerivedImages.make(path: file, kind: .video, timeLimit: .seconds(20)) }
        }
    }
}
