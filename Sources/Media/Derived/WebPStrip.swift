/// Removes EXIF and XMP chunks from a WebP file we just encoded.
///
/// libvips 8.14's `webpsave` rebuilds and writes an EXIF block (orientation, resolution)
/// even with `strip`, so the thumbnail would carry metadata. The RIFF container makes the
/// fix exact: drop the `EXIF`/`XMP ` chunks, clear their flags in `VP8X`, fix the RIFF size.
enum WebPStrip {
    /// Returns `bytes` without EXIF/XMP chunks, or `bytes` unchanged if it is not a WebP
    /// file of the expected shape (the caller's own encoder output, so that never happens).
    static func strip(_ bytes: [UInt8]) -> [UInt8] {
        guard bytes.count >= 12, bytes[0..<4].elementsEqual("RIFF".utf8), bytes[8..<12].elementsEqual("WEBP".utf8) else {
            return bytes
        }
        var output: [UInt8] = Array(bytes[0..<12])
        var offset = 12
        while offset + 8 <= bytes.count {
            let fourCC = String(decoding: bytes[offset..<offset + 4], as: UTF8.self)
            let size = Int(bytes[offset + 4]) | Int(bytes[offset + 5]) << 8 | Int(bytes[offset + 6]) << 16
                | Int(bytes[offset + 7]) << 24
            let padded = size + (size & 1)
            guard offset + 8 + padded <= bytes.count || (offset + 8 + size == bytes.count) else { return bytes }
            let end = min(bytes.count, offset + 8 + padded)
            if fourCC != "EXIF" && fourCC != "XMP " {
                var chunk = Array(bytes[offset..<end])
                if fourCC == "VP8X" && chunk.count > 8 {
                    chunk[8] &= ~UInt8(0x08 | 0x04)   // EXIF and XMP presence flags
                }
                output += chunk
            }
            offset = end
        }
        let riffSize = UInt32(output.count - 8)
        for index in 0..<4 { output[4 + index] = UInt8(truncatingIfNeeded: riffSize >> (8 * UInt32(index))) }
        return output
    }
}
