import CMediaShim
import CVips
import Foundation

/// Makes the WebP thumbnail and JPEG preview of a photo or video.
///
/// The original is decoded once: `vips_thumbnail` shrinks on load straight to the preview
/// size (JPEG DCT scaling, HEIF/WebP/PDF loaders' own downscale), the preview is held in
/// memory, and the thumbnail is made from it. Orientation is applied, colour converted to
/// sRGB, metadata stripped.
///
/// ```swift
/// VipsRuntime.configure(workers: 2)   // or DerivedImages.configure(workers:)
/// let d = try DerivedImages.make(path: "/photos/IMG_0001.HEIC", kind: .image)
/// try Data(d.thumbnail).write(to: thumbURL)
/// ```
/// Safe to call from several threads at once; see `IngestPool` for bounded parallelism.
public enum DerivedImages {
    /// Shorter side of the thumbnail (Immich's default).
    public static let thumbnailShortSide = 250
    /// Shorter side of the preview (Immich's default).
    public static let previewShortSide = 1440
    public static let quality = 80
    /// Files bigger than this many pixels are refused unless the loader shrinks on load (JPEG).
    public static let maxFullDecodePixels = 200_000_000
    /// Even with shrink-on-load, refuse beyond this many pixels (a 1/8 JPEG decode of it is 16 MP).
    public static let maxShrinkOnLoadPixels = 1_000_000_000
    /// Per-file time limit used when the caller gives none.
    public static let defaultTimeLimit: Duration = .seconds(60)

    /// Tells libvips how many files will be processed side by side, so that its own threads
    /// per pipeline times `workers` is about the number of cores.
    public static func configure(workers: Int) {
        VipsRuntime.configure(workers: workers)
    }

    /// Makes both derived images of the file at `path`.
    /// - Throws: `DerivedImageError` naming the file; never crashes on bad input.
    public static func make(path: String, kind: SourceKind, timeLimit: Duration = defaultTimeLimit) throws -> Derived {
        VipsRuntime.ensure()
        let deadline = Deadline(after: timeLimit)
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw DerivedImageError(.unreadable, path: path, "cannot read the file (missing or no permission)")
        }
        switch kind {
        case .image:
            return try fromImageFile(path: path, name: path, deadline: deadline)
        case .raw:
            return try RawSource.make(path: path, deadline: deadline)
        case .video:
            return try VideoPoster.make(path: path, deadline: deadline)
        }
    }

    // MARK: - Image files

    /// - Parameter name: the file the user knows (errors name it); differs from `path` for video posters.
    static func fromImageFile(path: String, name: String, deadline: Deadline) throws -> Derived {
        guard let header = hearth_vips_open_sequential(path).map(VipsImageRef.init) else {
            let detail = VipsRuntime.takeError()
            throw DerivedImageError(.unsupported, path: name, "not an image libvips can read (\(detail))")
        }
        let loader = header.string("vips-loader") ?? "unknown loader"
        let pixels = header.width * header.height
        let shrinksOnLoad = loader.hasPrefix("jpegload")
        let limit = shrinksOnLoad ? maxShrinkOnLoadPixels : maxFullDecodePixels
        guard pixels <= limit else {
            throw DerivedImageError(.tooLarge, path: name,
                "\(header.width)×\(header.height) is over the \(limit / 1_000_000)-megapixel limit for \(loader)")
        }
        let upright = uprightSize(header)
        let box = targetBox(upright: upright, shortSide: previewShortSide)
        guard let decoded = vipsCall({ hearth_vips_thumbnail(path, $0, Int32(box.width), Int32(box.height),
                                                             Int32(VIPS_FAIL_ON_ERROR.rawValue)) }) else {
            throw DerivedImageError(.corrupt, path: name, "cannot decode (\(VipsRuntime.takeError()))")
        }
        return try finish(decoded, source: upright, path: name, deadline: deadline)
    }

    /// Size of the image once its EXIF orientation is applied.
    static func uprightSize(_ image: VipsImageRef) -> PixelSize {
        let swap = (5...8).contains(image.orientation)
        return swap ? PixelSize(width: image.height, height: image.width)
                    : PixelSize(width: image.width, height: image.height)
    }

    /// The width × height box handed to `vips_thumbnail` so that the *shorter* side becomes
    /// `shortSide` (vips fits inside the box; the longer side's bound is left unlimited).
    static func targetBox(upright: PixelSize, shortSide: Int) -> PixelSize {
        let unlimited = Int(VIPS_MAX_COORD)
        if upright.width <= upright.height {
            return PixelSize(width: shortSide, height: unlimited)
        }
        return PixelSize(width: unlimited, height: shortSide)
    }

    /// Normalises a decoded, preview-sized image, holds it in memory, and encodes both outputs.
    static func finish(_ decoded: VipsImageRef, source: PixelSize, path: String, deadline: Deadline) throws -> Derived {
        let ready = try normalise(decoded, path: path)
        hearth_vips_set_deadline(ready.pointer, deadline.monotonicMicroseconds)
        // The one decode happens here: later steps read the in-memory copy.
        guard let preview = vips_image_copy_memory(ready.pointer).map(VipsImageRef.init) else {
            throw failure(ready, path: path, "cannot decode")
        }
        guard let jpeg = vipsSave({ hearth_vips_jpegsave_buffer(preview.pointer, $0, $1, Int32(quality)) }) else {
            throw DerivedImageError(.encodeFailed, path: path, "JPEG preview encode failed (\(VipsRuntime.takeError()))")
        }
        try deadline.check(path: path)
        let box = targetBox(upright: PixelSize(width: preview.width, height: preview.height), shortSide: thumbnailShortSide)
        guard let small = vipsCall({ hearth_vips_thumbnail_image(preview.pointer, $0, Int32(box.width), Int32(box.height)) }),
              let webp = vipsSave({ hearth_vips_webpsave_buffer(small.pointer, $0, $1, Int32(quality)) }) else {
            throw DerivedImageError(.encodeFailed, path: path, "WebP thumbnail encode failed (\(VipsRuntime.takeError()))")
        }
        // The placeholder comes from the thumbnail's pixels (no second decode); a failure here
        // costs the placeholder only, never the thumbnail.
        let hash = thumbhash(of: small)
        try deadline.check(path: path)
        return Derived(thumbnail: WebPStrip.strip(webp), preview: jpeg,
                       thumbnailSize: PixelSize(width: small.width, height: small.height),
                       previewSize: PixelSize(width: preview.width, height: preview.height),
                       sourceWidth: source.width, sourceHeight: source.height, thumbhash: hash)
    }

    /// The ThumbHash (base64) of an 8-bit image of 1 to 4 bands, shrunk to fit 100 × 100 px
    /// first; nil when libvips cannot shrink or read it.
    static func thumbhash(of image: VipsImageRef) -> String? {
        let side = Int32(ThumbHash.maxSide)
        guard let tiny = vipsCall({ hearth_vips_thumbnail_image(image.pointer, $0, side, side) }) else {
            _ = VipsRuntime.takeError()
            return nil
        }
        let w = tiny.width, h = tiny.height, bands = tiny.bands
        guard tiny.format == VIPS_FORMAT_UCHAR, (1...4).contains(bands), w <= ThumbHash.maxSide, h <= ThumbHash.maxSide
        else { return nil }
        var size = 0
        guard let memory = vips_image_write_to_memory(tiny.pointer, &size) else {
            _ = VipsRuntime.takeError()
            return nil
        }
        defer { g_free(memory) }
        guard size == w * h * bands else { return nil }
        let pixels = UnsafeRawBufferPointer(start: memory, count: size)
        var rgba = [UInt8](repeating: 255, count: w * h * 4)
        for i in 0..<(w * h) {
            let px = i * bands
            switch bands {
            case 1, 2:  // grey, grey + alpha
                rgba[4 * i] = pixels[px]; rgba[4 * i + 1] = pixels[px]; rgba[4 * i + 2] = pixels[px]
                if bands == 2 { rgba[4 * i + 3] = pixels[px + 1] }
            default:  // sRGB, sRGB + alpha
                rgba[4 * i] = pixels[px]; rgba[4 * i + 1] = pixels[px + 1]; rgba[4 * i + 2] = pixels[px + 2]
                if bands == 4 { rgba[4 * i + 3] = pixels[px + 3] }
            }
        }
        return ThumbHash.base64(width: w, height: h, rgba: rgba)
    }

    /// The ThumbHash (base64) of an encoded image (a stored WebP thumbnail, say), for assets
    /// whose thumbnail was made before thumbhashes were. Nil when it cannot be decoded; the
    /// input is at most `maxEncodedThumbnail` bytes.
    public static func thumbhash(encoded bytes: [UInt8]) -> String? {
        guard !bytes.isEmpty, bytes.count <= maxEncodedThumbnail else { return nil }
        VipsRuntime.ensure()
        let side = Int32(ThumbHash.maxSide)
        // libvips reads the buffer lazily: everything happens while it is pinned.
        return bytes.withUnsafeBytes { b -> String? in
            guard let decoded = vipsCall({
                hearth_vips_thumbnail_buffer(b.baseAddress, b.count, $0, side, side, Int32(VIPS_FAIL_ON_ERROR.rawValue))
            }), let ready = try? normalise(decoded, path: "thumbnail") else {
                _ = VipsRuntime.takeError()
                return nil
            }
            return thumbhash(of: ready)
        }
    }

    /// The largest encoded thumbnail `thumbhash(encoded:)` decodes (a thumbnail is ~10–30 KB).
    public static let maxEncodedThumbnail = 16 << 20

    private static func failure(_ image: VipsImageRef, path: String, _ what: String) -> DerivedImageError {
        let detail = VipsRuntime.takeError()
        if hearth_vips_deadline_hit(image.pointer) != 0 {
            return DerivedImageError(.timedOut, path: path, "decoding stopped at the per-file time limit")
        }
        return DerivedImageError(.corrupt, path: path, "\(what) (\(detail))")
    }

    /// Embedded profile → sRGB, other colour spaces → sRGB, alpha flattened on white,
    /// 8 bits per band. Grey stays grey (it is valid sRGB-grey and smaller).
    static func normalise(_ input: VipsImageRef, path: String) throws -> VipsImageRef {
        var image = input
        func step(_ what: String, _ body: (UnsafeMutablePointer<UnsafeMutablePointer<VipsImage>?>) -> Int32) throws {
            guard let next = vipsCall(body) else {
                throw DerivedImageError(.corrupt, path: path, "cannot \(what) (\(VipsRuntime.takeError()))")
            }
            image = next
        }
        if image.hasField("icc-profile-data") {
            let source = image
            // A broken embedded profile is not worth losing the photo over: fall back below.
            if let converted = vipsCall({ hearth_vips_icc_to_srgb(source.pointer, $0) }) {
                image = converted
            } else {
                _ = VipsRuntime.takeError()
            }
        }
        let grey = image.interpretation == VIPS_INTERPRETATION_B_W || image.interpretation == VIPS_INTERPRETATION_GREY16
        if !grey && image.interpretation != VIPS_INTERPRETATION_sRGB {
            let source = image
            try step("convert to sRGB") { hearth_vips_colourspace_srgb(source.pointer, $0) }
        }
        if image.hasAlpha {
            let source = image
            try step("flatten transparency") { hearth_vips_flatten_white(source.pointer, $0) }
        }
        if image.format != VIPS_FORMAT_UCHAR {
            let source = image
            let sixteen = image.format == VIPS_FORMAT_USHORT
            if sixteen {
                try step("scale to 8 bits") { hearth_vips_linear1(source.pointer, $0, 1.0 / 257.0, 0) }
            }
            let scaled = image
            try step("convert to 8 bits") { hearth_vips_cast(scaled.pointer, $0, VIPS_FORMAT_UCHAR) }
        }
        return image
    }
}

/// A per-file time limit measured on the monotonic clock.
struct Deadline {
    let monotonicMicroseconds: Int64

    init(after limit: Duration) {
        let (seconds, attoseconds) = limit.components
        let micros = seconds * 1_000_000 + attoseconds / 1_000_000_000_000
        monotonicMicroseconds = Int64(g_get_monotonic_time()) + micros
    }

    var remainingSeconds: Double {
        Double(monotonicMicroseconds - Int64(g_get_monotonic_time())) / 1_000_000
    }

    func check(path: String) throws {
        if Int64(g_get_monotonic_time()) > monotonicMicroseconds {
            throw DerivedImageError(.timedOut, path: path, "gave up after the per-file time limit")
        }
    }
}
