import CVips
import Foundation
import Testing
@testable import Media

/// Writes `bytes` to a fresh temporary file and returns its path.
func derivedTempFile(_ bytes: [UInt8], name: String) throws -> String {
    let directory = FileManager.default.temporaryDirectory
        .appendingPathComponent("hearth-derived-tests-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let url = directory.appendingPathComponent(name)
    try Data(bytes).write(to: url)
    return url.path
}

/// Mean of band 0 over a rectangle given as fractions of the image.
func derivedMean(_ image: VipsImageRef, x0: Double, x1: Double, y0: Double, y1: Double) -> Double {
    var size = 0
    guard let raw = vips_image_write_to_memory(image.pointer, &size) else { return -1 }
    defer { g_free(raw) }
    let pixels = raw.assumingMemoryBound(to: UInt8.self)
    let width = image.width, height = image.height, bands = image.bands
    var sum = 0.0, count = 0.0
    for y in Int(y0 * Double(height))..<Int(y1 * Double(height)) {
        for x in Int(x0 * Double(width))..<Int(x1 * Double(width)) {
            sum += Double(pixels[(y * width + x) * bands])
            count += 1
        }
    }
    return count > 0 ? sum / count : -1
}

@Suite("Derived images")
struct DerivedTests {
    @Test("3000×2000 JPEG gives a 375×250 WebP thumbnail and a 2160×1440 JPEG preview")
    func landscapeSizes() throws {
        let path = try derivedTempFile(SyntheticImage.jpeg(width: 3000, height: 2000, seed: 1), name: "land.jpg")
        let derived = try DerivedImages.make(path: path, kind: .image)
        #expect(derived.previewSize == PixelSize(width: 2160, height: 1440))
        #expect(derived.thumbnailSize == PixelSize(width: 375, height: 250))
        #expect(derived.sourceWidth == 3000 && derived.sourceHeight == 2000)
        #expect(Array(derived.preview.prefix(3)) == [0xFF, 0xD8, 0xFF])
        #expect(Array(derived.thumbnail.prefix(4)) == Array("RIFF".utf8))
        #expect(Array(derived.thumbnail[8..<12]) == Array("WEBP".utf8))
        let preview = try #require(SyntheticImage.decode(derived.preview))
        #expect(preview.width == 2160 && preview.height == 1440)
        let thumbnail = try #require(SyntheticImage.decode(derived.thumbnail))
        #expect(thumbnail.width == 375 && thumbnail.height == 250)
    }

    @Test("Portrait: the shorter side is the width")
    func portraitSizes() throws {
        let path = try derivedTempFile(SyntheticImage.jpeg(width: 1800, height: 2400, seed: 2), name: "portrait.jpg")
        let derived = try DerivedImages.make(path: path, kind: .image)
        #expect(derived.previewSize == PixelSize(width: 1440, height: 1920))
        #expect(derived.thumbnailSize == PixelSize(width: 250, height: 333))
    }

    @Test("A 600×400 source is never upscaled")
    func noUpscale() throws {
        let path = try derivedTempFile(SyntheticImage.png(width: 600, height: 400, seed: 3), name: "small.png")
        let derived = try DerivedImages.make(path: path, kind: .image)
        #expect(derived.previewSize == PixelSize(width: 600, height: 400))
        #expect(derived.thumbnailSize == PixelSize(width: 375, height: 250))
        let tiny = try derivedTempFile(SyntheticImage.png(width: 120, height: 90, seed: 4), name: "tiny.png")
        let small = try DerivedImages.make(path: tiny, kind: .image)
        #expect(small.previewSize == PixelSize(width: 120, height: 90))
        #expect(small.thumbnailSize == PixelSize(width: 120, height: 90))
    }

    @Test("EXIF orientation 6 is applied: left-black/right-white comes out top-black/bottom-white")
    func orientationApplied() throws {
        let width = 400, height = 300
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0..<height {
            for x in (width / 2)..<width {
                for band in 0..<3 { pixels[(y * width + x) * 3 + band] = 255 }
            }
        }
        let image = SyntheticImage.fromPixels(width: width, height: height, bands: 3, pixels)
        vips_image_set_int(image.pointer, "orientation", 6)
        let path = try derivedTempFile(SyntheticImage.encode(image, .jpeg(quality: 95)), name: "rot6.jpg")
        let derived = try DerivedImages.make(path: path, kind: .image)
        #expect(derived.previewSize == PixelSize(width: 300, height: 400))
        #expect(derived.sourceWidth == 300 && derived.sourceHeight == 400)
        let preview = try #require(SyntheticImage.decode(derived.preview))
        // Rotating 90° clockwise puts the old left (black) half on top.
        #expect(derivedMean(preview, x0: 0, x1: 1, y0: 0.05, y1: 0.45) < 20)
        #expect(derivedMean(preview, x0: 0, x1: 1, y0: 0.55, y1: 0.95) > 235)
        #expect(preview.orientation == 1)
        let thumbnail = try #require(SyntheticImage.decode(derived.thumbnail))
        #expect(thumbnail.width == 250 && thumbnail.height == 333)
        #expect(derivedMean(thumbnail, x0: 0, x1: 1, y0: 0.05, y1: 0.45) < 20)
    }

    @Test("Outputs carry no EXIF, XMP or ICC metadata")
    func metadataStripped() throws {
        let image = SyntheticImage.photoLike(width: 640, height: 480, seed: 5)
        vips_image_set_int(image.pointer, "orientation", 3)
        let bytes = SyntheticImage.encode(image, .jpeg(quality: 90))
        let source = try #require(SyntheticImage.decode(bytes))
        #expect(source.hasField("exif-data"))
        let path = try derivedTempFile(bytes, name: "meta.jpg")
        let derived = try DerivedImages.make(path: path, kind: .image)
        for output in [derived.preview, derived.thumbnail] {
            let decoded = try #require(SyntheticImage.decode(output))
            #expect(!decoded.hasField("exif-data"))
            #expect(!decoded.hasField("xmp-data"))
            #expect(!decoded.hasField("icc-profile-data"))
        }
    }

    @Test("PNG, WebP, TIFF and GIF sources work", arguments: [
        SyntheticImage.Format.png, .webp, .tiff, .gif,
    ])
    func otherFormats(format: SyntheticImage.Format) throws {
        let image = SyntheticImage.photoLike(width: 900, height: 600, seed: 6)
        let path = try derivedTempFile(SyntheticImage.encode(image, format), name: "source.img")
        let derived = try DerivedImages.make(path: path, kind: .image)
        #expect(derived.previewSize == PixelSize(width: 900, height: 600))
        #expect(derived.thumbnailSize == PixelSize(width: 375, height: 250))
    }

    @Test("Garbage bytes are an error naming the file, not a crash")
    func garbage() throws {
        var bytes = [UInt8](repeating: 0, count: 4096)
        for index in bytes.indices { bytes[index] = UInt8(truncatingIfNeeded: index &* 131 &+ 7) }
        let path = try derivedTempFile(bytes, name: "garbage.jpg")
        let error = try #require(throws: DerivedImageError.self) { try DerivedImages.make(path: path, kind: .image) }
        #expect(error.code == .unsupported)
        #expect(error.description.contains("garbage.jpg"))
    }

    @Test("A truncated JPEG is an error")
    func truncated() throws {
        let full = SyntheticImage.jpeg(width: 1600, height: 1200, seed: 7)
        let path = try derivedTempFile(Array(full.prefix(full.count / 2)), name: "truncated.jpg")
        let error = try #require(throws: DerivedImageError.self) { try DerivedImages.make(path: path, kind: .image) }
        #expect(error.code == .corrupt)
        #expect(error.path == path)
    }

    @Test("A JPEG with a damaged body gives a clear error or a full-size output, never a crash")
    func corruptBody() throws {
        // libjpeg treats bad entropy data as a warning and fills in grey; like Immich we keep
        // such photos (fail_on=error), while unreadable structure is an error.
        var bytes = SyntheticImage.jpeg(width: 800, height: 600, seed: 8)
        for index in stride(from: bytes.count / 3, to: bytes.count - 2, by: 7) { bytes[index] = 0xFF }
        let path = try derivedTempFile(bytes, name: "scrambled.jpg")
        do {
            let derived = try DerivedImages.make(path: path, kind: .image)
            #expect(derived.previewSize == PixelSize(width: 800, height: 600))
        } catch let error as DerivedImageError {
            #expect(error.code == .corrupt)
        }
        // Damage in the header (SOF dimensions zeroed) is always an error.
        var header = SyntheticImage.jpeg(width: 320, height: 240, seed: 8)
        let sof = try #require((0..<header.count - 9).first { header[$0] == 0xFF && header[$0 + 1] == 0xC0 })
        for offset in 5...8 { header[sof + offset] = 0 }
        let broken = try derivedTempFile(header, name: "zero-size.jpg")
        #expect(throws: DerivedImageError.self) { try DerivedImages.make(path: broken, kind: .image) }
    }

    @Test("A missing file is an unreadable error")
    func missing() throws {
        let error = try #require(throws: DerivedImageError.self) {
            try DerivedImages.make(path: "/nonexistent/hearth/IMG_0001.JPG", kind: .image)
        }
        #expect(error.code == .unreadable)
        #expect(error.message.contains("cannot read"))
    }

    @Test("Past the per-file time limit the decode stops with timedOut")
    func timeLimit() throws {
        let path = try derivedTempFile(SyntheticImage.png(width: 2400, height: 1800, seed: 9), name: "slow.png")
        let error = try #require(throws: DerivedImageError.self) {
            try DerivedImages.make(path: path, kind: .image, timeLimit: .microseconds(1))
        }
        #expect(error.code == .timedOut)
        // The kill came from libvips' eval callback during the decode, not from a check afterwards.
        #expect(error.message.contains("decoding stopped"), "\(error)")
    }

    @Test("Synthetic JPEGs are deterministic per seed and photo-sized")
    func syntheticDeterministic() throws {
        let a = SyntheticImage.jpeg(width: 1000, height: 750, seed: 42)
        let b = SyntheticImage.jpeg(width: 1000, height: 750, seed: 42)
        let c = SyntheticImage.jpeg(width: 1000, height: 750, seed: 43)
        #expect(a == b)
        #expect(a != c)
        // 0.75 MP; a 12 MP photo of this kind is 16× larger: expect roughly 100–400 kB here.
        #expect(a.count > 80_000 && a.count < 500_000, "size \(a.count)")
    }

    @Test("IngestPool delivers one result per item, failures included")
    func pool() throws {
        var items: [IngestPool.Item] = []
        for seed in 0..<4 {
            let path = try derivedTempFile(SyntheticImage.jpeg(width: 1200, height: 900, seed: seed), name: "p\(seed).jpg")
            items.append(.init(path: path, kind: .image))
        }
        items.append(.init(path: "/nonexistent/hearth/x.jpg", kind: .image))
        let collected = Collected()
        IngestPool.run(items, workers: 2) { index, result in collected.add(index, result) }
        let results = collected.sorted()
        #expect(results.map(\.0) == [0, 1, 2, 3, 4])
        for (_, result) in results.prefix(4) {
            #expect((try? result.get().previewSize) == PixelSize(width: 1200, height: 900))
        }
        if case .success = results[4].1 { Issue.record("missing file should fail") }
    }
}

final class Collected: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [(Int, Result<Derived, DerivedImageError>)] = []

    func add(_ index: Int, _ result: Result<Derived, DerivedImageError>) {
        lock.lock()
        items.append((index, result))
        lock.unlock()
    }

    func sorted() -> [(Int, Result<Derived, DerivedImageError>)] {
        lock.lock()
        defer { lock.unlock() }
        return items.sorted { $0.0 < $1.0 }
    }
}
