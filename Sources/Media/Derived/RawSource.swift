import CMediaShim
import CVips

/// Derived images of a camera RAW or DNG file, decoded with libraw.
///
/// Most cameras embed a full-size JPEG rendering; when its shorter side reaches the preview
/// size it is used as is (fast, and what the camera showed). Otherwise libraw demosaics at
/// half size and the 8-bit RGB pixels go to libvips from memory.
enum RawSource {
    static func make(path: String, deadline: Deadline) throws -> Derived {
        var result = hearth_raw_result()
        let status = hearth_raw_decode(path, Int32(DerivedImages.previewShortSide),
                                       Double(DerivedImages.maxFullDecodePixels),
                                       deadline.monotonicMicroseconds, &result)
        let upright = PixelSize(width: Int(result.width), height: Int(result.height))
        guard status == 0 else {
            let detail = withUnsafeBytes(of: result.error) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            switch result.error_code {
            case 1: throw DerivedImageError(.unsupported, path: path, detail)
            case 2: throw DerivedImageError(.tooLarge, path: path, "\(detail) (\(DerivedImages.maxFullDecodePixels / 1_000_000) MP)")
            case 4: throw DerivedImageError(.timedOut, path: path, "gave up after the per-file time limit (\(detail))")
            default: throw DerivedImageError(.corrupt, path: path, detail)
            }
        }
        if let image = result.image {
            let decoded = VipsImageRef(image)
            let box = DerivedImages.targetBox(upright: PixelSize(width: decoded.width, height: decoded.height),
                                              shortSide: DerivedImages.previewShortSide)
            guard let shrunk = vipsCall({ hearth_vips_thumbnail_image(decoded.pointer, $0, Int32(box.width), Int32(box.height)) }) else {
                throw DerivedImageError(.corrupt, path: path, "cannot resize RAW pixels (\(VipsRuntime.takeError()))")
            }
            return try DerivedImages.finish(shrunk, source: upright, path: path, deadline: deadline)
        }
        precondition(result.jpeg != nil, "hearth_raw_decode succeeded without an image")
        defer { g_free(result.jpeg) }
        let flip = Int(result.flip)
        // The embedded JPEG is stored in sensor orientation; the box is for that orientation.
        let stored = flip & 4 != 0 ? PixelSize(width: upright.height, height: upright.width) : upright
        let box = DerivedImages.targetBox(upright: stored, shortSide: DerivedImages.previewShortSide)
        guard let decoded = vipsCall({ hearth_vips_thumbnail_buffer(result.jpeg, result.jpeg_len, $0,
                                                                    Int32(box.width), Int32(box.height),
                                                                    Int32(VIPS_FAIL_ON_ERROR.rawValue)) }) else {
            throw DerivedImageError(.corrupt, path: path, "embedded preview JPEG is broken (\(VipsRuntime.takeError()))")
        }
        let angle: VipsAngle? = switch flip {
        case 3: VIPS_ANGLE_D180
        case 5: VIPS_ANGLE_D270
        case 6: VIPS_ANGLE_D90
        default: nil
        }
        guard let angle else {
            return try DerivedImages.finish(decoded, source: upright, path: path, deadline: deadline)
        }
        guard let rotated = vipsCall({ hearth_vips_rot(decoded.pointer, $0, angle) }) else {
            throw DerivedImageError(.corrupt, path: path, "cannot rotate the RAW preview (\(VipsRuntime.takeError()))")
        }
        return try DerivedImages.finish(rotated, source: upright, path: path, deadline: deadline)
    }
}
