import CMediaShim
import CVips

/// Photo-like test images made with libvips, deterministic per seed.
///
/// Real photos compress like a mix of smooth regions and fine texture, so the content is
/// multi-scale Gaussian noise: a coarse layer for large shapes down to per-pixel grain,
/// each layer made small with `vips_gaussnoise`, upscaled and summed, plus slowly varying
/// colour per channel. A 12-megapixel JPEG at quality 92 comes out at a few megabytes,
/// like a phone photo, so decode and encode timings are realistic.
public enum SyntheticImage {
    /// A photo-like JPEG (no EXIF), e.g. `jpeg(width: 4000, height: 3000, seed: 7)`.
    public static func jpeg(width: Int, height: Int, seed: Int, quality: Int = 92) -> [UInt8] {
        let image = photoLike(width: width, height: height, seed: seed)
        return encode(image, .jpeg(quality: quality))
    }

    /// A photo-like PNG, for small test images.
    public static func png(width: Int, height: Int, seed: Int) -> [UInt8] {
        let image = photoLike(width: width, height: height, seed: seed)
        return encode(image, .png)
    }

    enum Format: Equatable {
        case jpeg(quality: Int)
        case png, webp, tiff, gif
    }

    /// Encodes with metadata kept (so an "orientation" set on the image reaches the file).
    static func encode(_ image: VipsImageRef, _ format: Format) -> [UInt8] {
        let bytes: [UInt8]? = switch format {
        case .jpeg(let quality): vipsSave { hearth_vips_jpegsave_buffer_keep(image.pointer, $0, $1, Int32(quality)) }
        case .png: vipsSave { hearth_vips_pngsave_buffer(image.pointer, $0, $1, 1) }
        case .webp: vipsSave { hearth_vips_webpsave_buffer(image.pointer, $0, $1, 90) }
        case .tiff: vipsSave { hearth_vips_tiffsave_buffer(image.pointer, $0, $1) }
        case .gif: vipsSave { hearth_vips_gifsave_buffer(image.pointer, $0, $1) }
        }
        guard let bytes else {
            preconditionFailure("encoding a synthetic image failed: \(VipsRuntime.takeError())")
        }
        return bytes
    }

    /// An 8-bit image from raw interleaved pixels (1 band = grey, 3 = sRGB).
    static func fromPixels(width: Int, height: Int, bands: Int, _ pixels: [UInt8]) -> VipsImageRef {
        VipsRuntime.ensure()
        precondition(pixels.count == width * height * bands, "pixel count does not match the size")
        let image = pixels.withUnsafeBytes { raw in
            vips_image_new_from_memory_copy(raw.baseAddress, raw.count, Int32(width), Int32(height),
                                            Int32(bands), VIPS_FORMAT_UCHAR)
        }
        guard let image else { preconditionFailure("vips_image_new_from_memory_copy failed: \(VipsRuntime.takeError())") }
        image.pointee.Type = bands >= 3 ? VIPS_INTERPRETATION_sRGB : VIPS_INTERPRETATION_B_W
        return VipsImageRef(image)
    }

    /// Decodes any image bytes libvips reads into memory (nil if they don't decode).
    static func decode(_ bytes: [UInt8]) -> VipsImageRef? {
        VipsRuntime.ensure()
        let image = bytes.withUnsafeBytes { hearth_vips_decode_buffer($0.baseAddress, $0.count) }
        guard let image else {
            _ = VipsRuntime.takeError()
            return nil
        }
        return VipsImageRef(image)
    }

    /// The lazily computed 3-band 8-bit sRGB image behind `jpeg`/`png`.
    static func photoLike(width: Int, height: Int, seed: Int) -> VipsImageRef {
        VipsRuntime.ensure()
        precondition(width > 0 && height > 0, "synthetic image size must be positive")
        // (scale, sigma): coarse layers carry most of the contrast, the finest is sensor grain.
        let lumaLayers: [(Int, Double)] = [(256, 38), (64, 26), (16, 16), (4, 9), (1, 5)]
        var luma: VipsImageRef?
        for (index, layer) in lumaLayers.enumerated() {
            let next = noiseLayer(width: width, height: height, scale: layer.0, sigma: layer.1,
                                  seed: layerSeed(seed, index))
            luma = luma.map { add($0, next) } ?? next
        }
        guard let luma else { preconditionFailure("no luma layers") }
        var channels: [VipsImageRef] = []
        for channel in 0..<3 {
            let tint = add(noiseLayer(width: width, height: height, scale: 512, sigma: 30,
                                      seed: layerSeed(seed, 10 + channel)),
                           noiseLayer(width: width, height: height, scale: 96, sigma: 12,
                                      seed: layerSeed(seed, 20 + channel)))
            channels.append(add(luma, tint))
        }
        let joined = call { hearth_vips_bandjoin3(channels[0].pointer, channels[1].pointer, channels[2].pointer, $0) }
        // Noise layers are zero-mean; centre on mid-grey, then clip to 8 bits.
        let shifted = call { hearth_vips_linear1(joined.pointer, $0, 1, 118) }
        let image = call { hearth_vips_cast(shifted.pointer, $0, VIPS_FORMAT_UCHAR) }
        image.pointer.pointee.Type = VIPS_INTERPRETATION_sRGB
        return image
    }

    private static func layerSeed(_ seed: Int, _ layer: Int) -> Int32 {
        Int32(truncatingIfNeeded: (seed &* 7919 &+ layer &* 104_729) & 0x3fff_ffff)
    }

    /// Zero-mean noise of the given sigma, generated at 1/scale size and upscaled to width × height.
    private static func noiseLayer(width: Int, height: Int, scale: Int, sigma: Double, seed: Int32) -> VipsImageRef {
        let smallWidth = width / scale + 2
        let smallHeight = height / scale + 2
        let small = call { hearth_vips_gaussnoise($0, Int32(smallWidth), Int32(smallHeight), 0, sigma, seed) }
        guard scale > 1 else {
            return call { hearth_vips_extract_area(small.pointer, $0, 0, 0, Int32(width), Int32(height)) }
        }
        let large = call { hearth_vips_resize_linear(small.pointer, $0, Double(scale)) }
        return call { hearth_vips_extract_area(large.pointer, $0, 0, 0, Int32(width), Int32(height)) }
    }

    private static func add(_ a: VipsImageRef, _ b: VipsImageRef) -> VipsImageRef {
        call { hearth_vips_add(a.pointer, b.pointer, $0) }
    }

    /// Synthetic images are built from our own parameters: a failure is a programming error.
    private static func call(_ body: (UnsafeMutablePointer<UnsafeMutablePointer<VipsImage>?>) -> Int32) -> VipsImageRef {
        guard let image = vipsCall(body) else {
            preconditionFailure("building a synthetic image failed: \(VipsRuntime.takeError())")
        }
        return image
    }
}
