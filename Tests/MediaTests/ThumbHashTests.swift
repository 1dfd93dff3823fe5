import CVips
import Foundation
import Testing
@testable import Media

/// A synthetic RGBA image, row by row.
func rgbaImage(_ w: Int, _ h: Int, _ pixel: (Int, Int) -> (Int, Int, Int, Int)) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(w * h * 4)
    for y in 0..<h {
        for x in 0..<w {
            let p = pixel(x, y)
            out += [UInt8(p.0 & 255), UInt8(p.1 & 255), UInt8(p.2 & 255), UInt8(p.3 & 255)]
        }
    }
    return out
}

/// The average colour a hash encodes (0…1 each), as the reference's `thumbHashToAverageRGBA` reads it.
func thumbHashAverage(_ hash: [UInt8]) -> (r: Double, g: Double, b: Double, a: Double) {
    let header = UInt32(hash[0]) | UInt32(hash[1]) << 8 | UInt32(hash[2]) << 16
    let l = Double(header & 63) / 63, p = Double((header >> 6) & 63) / 31.5 - 1, q = Double((header >> 12) & 63) / 31.5 - 1
    let a = header >> 23 != 0 ? Double(hash[5] & 15) / 15 : 1
    let b = l - 2.0 / 3 * p, r = (3 * l - b + q) / 2, g = r - q
    func c(_ v: Double) -> Double { min(1, max(0, v)) }
    return (c(r), c(g), c(b), a)
}

/// Whether the hash says landscape (its header's flag).
func thumbHashIsLandscape(_ hash: [UInt8]) -> Bool { hash[4] & 0x80 != 0 }

@Suite struct ThumbHashTests {
    /// Reference values: the official Rust `thumbhash` crate (through PyPI's `fast-thumbhash`
    /// 1.0.0 bindings, `rgba_to_thumb_hash`) on the same synthetic pixels.
    @Test(arguments: [
        ("gradient 32x24", 32, 24, "XRgODZqAh3eBiIeIeHiId4eACPiI"),
        ("alpha 20x30", 20, 30, "X2iKIwwYW4BpenhWj/WalwaHB6l3e3c="),
        ("checker 100x75", 100, 75, "3fgJVYCAh4d3eHh3eIiHeH94B4hw"),
        ("red 1x1", 1, 1, "1fsrB38H+AeHiIeAj4CI+AeHcHAIB4cA"),
        ("clear 3x3", 3, 3, "AAiCBQAAAAAAAAAAAAAAAAAAAAAAAAAAAA=="),
    ])
    func matchesTheReference(_ name: String, _ w: Int, _ h: Int, _ expected: String) {
        let rgba: [UInt8] = switch name {
        case "gradient 32x24": rgbaImage(w, h) { x, y in (x * 8, y * 10, (x + y) * 4, 255) }
        case "alpha 20x30": rgbaImage(w, h) { x, y in (255 - x * 10, x * y, y * 8, x * 12 + y * 5) }
        case "checker 100x75": rgbaImage(w, h) { x, y in ((x / 10 + y / 10) % 2 * 255, 128, x * 2, 255) }
        case "red 1x1": rgbaImage(w, h) { _, _ in (255, 0, 0, 255) }
        default: rgbaImage(w, h) { _, _ in (0, 0, 0, 0) }
        }
        #expect(ThumbHash.base64(width: w, height: h, rgba: rgba) == expected, "\(name)")
    }

    @Test func refusesWhatItCannotEncode() {
        #expect(ThumbHash.encode(width: 0, height: 1, rgba: []) == nil)
        #expect(ThumbHash.encode(width: 101, height: 1, rgba: [UInt8](repeating: 0, count: 404)) == nil)
        #expect(ThumbHash.encode(width: 2, height: 2, rgba: [UInt8](repeating: 0, count: 15)) == nil)
        #expect(DerivedImages.thumbhash(encoded: []) == nil)
        #expect(DerivedImages.thumbhash(encoded: Array("not an image at all".utf8)) == nil)
    }

    /// Derived images carry the thumbnail's hash, and a stored thumbnail gives a hash of the
    /// same picture (the backfill path: decoding the WebP instead of the in-memory image).
    @Test func derivedImagesCarryTheHashOfTheThumbnail() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("thumbhash-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("p.jpg").path
        try Data(SyntheticImage.jpeg(width: 640, height: 360, seed: 7)).write(to: URL(fileURLWithPath: path))
        let d = try DerivedImages.make(path: path, kind: .image)
        let hash = try #require(d.thumbhash)
        let bytes = try #require(Data(base64Encoded: hash))
        #expect((5...30).contains(bytes.count))
        #expect(thumbHashIsLandscape([UInt8](bytes)))
        let again = try #require(DerivedImages.thumbhash(encoded: d.thumbnail))
        let a = thumbHashAverage([UInt8](bytes)), b = thumbHashAverage([UInt8](Data(base64Encoded: again)!))
        #expect(abs(a.r - b.r) < 0.05 && abs(a.g - b.g) < 0.05 && abs(a.b - b.b) < 0.05, "\(hash) vs \(again)")
        #expect(try DerivedImages.make(path: path, kind: .image).thumbhash == hash, "deterministic")
    }

    /// A real photo: its hash's average colour is the thumbnail's average colour, and its shape
    /// is the photo's (upright).
    @Test(.enabled(if: derivedCorpusRoot != nil, "corpus not found: set HEARTH_CORPUS"),
          arguments: ["photoprism/gopro_hd2.jpg", "photoprism/iphone_15_pro.heic"])
    func realPhoto(_ file: String) throws {
        let d = try DerivedImages.make(path: derivedCorpusPath(file), kind: .image)
        let hash = try #require(d.thumbhash.flatMap { Data(base64Encoded: $0) }.map { [UInt8]($0) }, "\(file): no thumbhash")
        #expect((5...30).contains(hash.count))
        #expect(thumbHashIsLandscape(hash) == (d.thumbnailSize.width > d.thumbnailSize.height), "\(file)")
        // The thumbnail's own average colour, from its pixels.
        let image = try #require(SyntheticImage.decode(d.thumbnail))
        var size = 0
        let memory = try #require(vips_image_write_to_memory(image.pointer, &size))
        defer { g_free(memory) }
        let px = UnsafeRawBufferPointer(start: memory, count: size)
        let bands: Int = image.bands, n: Int = image.width * image.height
        var sum: [Double] = [0, 0, 0]
        for i in 0..<n {
            for band in 0..<3 {
                let at: Int = i * bands + Swift.min(band, bands - 1)
                sum[band] += Double(px[at])
            }
        }
        let mean = sum.map { $0 / Double(n) / 255 }
        let avg = thumbHashAverage(hash)
        #expect(abs(avg.r - mean[0]) < 0.06 && abs(avg.g - mean[1]) < 0.06 && abs(avg.b - mean[2]) < 0.06,
                "\(file): hash average \(avg) vs pixels \(mean)")
    }
}
