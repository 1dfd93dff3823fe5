/// The container formats Hearth recognises, sniffed from magic bytes rather than the extension.
///
/// A renamed file (a JPEG called `.heic`) is read as what it is; the extension is never trusted.
public enum MediaFormat: String, Sendable, CaseIterable, Codable {
    case jpeg, png, webp, gif, tiff, heic, heif, avif, jxl
    case cr2, cr3, nef, arw, raf, orf, rw2, dng
    case mp4, mov, mkv, avi, threeGP = "3gp"
    case unknown

    public var type: MediaType? {
        switch self {
        case .mp4, .mov, .mkv, .avi, .threeGP: return .video
        case .unknown: return nil
        default: return .image
        }
    }

    public var isRaw: Bool {
        switch self {
        case .cr2, .cr3, .nef, .arw, .raf, .orf, .rw2, .dng: return true
        default: return false
        }
    }

    public var mimeType: String {
        switch self {
        case .jpeg: return "image/jpeg"
        case .png: return "image/png"
        case .webp: return "image/webp"
        case .gif: return "image/gif"
        case .tiff: return "image/tiff"
        case .heic: return "image/heic"
        case .heif: return "image/heif"
        case .avif: return "image/avif"
        case .jxl: return "image/jxl"
        case .cr2: return "image/x-canon-cr2"
        case .cr3: return "image/x-canon-cr3"
        case .nef: return "image/x-nikon-nef"
        case .arw: return "image/x-sony-arw"
        case .raf: return "image/x-fujifilm-raf"
        case .orf: return "image/x-olympus-orf"
        case .rw2: return "image/x-panasonic-rw2"
        case .dng: return "image/x-adobe-dng"
        case .mp4: return "video/mp4"
        case .mov: return "video/quicktime"
        case .mkv: return "video/x-matroska"
        case .avi: return "video/x-msvideo"
        case .threeGP: return "video/3gpp"
        case .unknown: return "application/octet-stream"
        }
    }

    /// Identifies a format from the first bytes of a file (64 KiB is plenty; fewer is fine).
    ///
    /// TIFF-based RAWs are told apart by IFD0 (DNGVersion, Make) so `head` should cover IFD0.
    public static func sniff(_ head: [UInt8]) -> MediaFormat {
        let b = head
        func at(_ offset: Int, _ ascii: String) -> Bool {
            let bytes = Array(ascii.utf8)
            guard offset >= 0, offset + bytes.count <= b.count else { return false }
            return Array(b[offset..<offset + bytes.count]) == bytes
        }
        if b.count >= 3, b[0] == 0xFF, b[1] == 0xD8, b[2] == 0xFF { return .jpeg }
        if b.count >= 8, b[0] == 0x89, at(1, "PNG\r\n") { return .png }
        if at(0, "GIF87a") || at(0, "GIF89a") { return .gif }
        if at(0, "RIFF") && at(8, "WEBP") { return .webp }
        if at(0, "RIFF") && at(8, "AVI ") { return .avi }
        if b.count >= 4, b[0] == 0x1A, b[1] == 0x45, b[2] == 0xDF, b[3] == 0xA3 { return .mkv }
        if b.count >= 2, b[0] == 0xFF, b[1] == 0x0A { return .jxl }
        if b.count >= 12, b[0...3] == [0, 0, 0, 0x0C], at(4, "JXL \r\n") { return .jxl }
        if at(0, "FUJIFILMCCD-RAW") { return .raf }
        if at(0, "IIRO") || at(0, "IIRS") || at(0, "MMOR") { return .orf }
        if b.count >= 4, at(0, "IIU"), b[3] == 0 { return .rw2 }
        if at(0, "II*\0") || at(0, "MM\0*") { return sniffTIFF(b) }
        if at(4, "ftyp") { return sniffFtyp(b) }
        for atom in ["moov", "mdat", "wide", "free", "skip", "pnot"] where at(4, atom) { return .mov }
        return .unknown
    }

    private static func sniffFtyp(_ b: [UInt8]) -> MediaFormat {
        let size = b.count >= 4 ? Int(b[0]) << 24 | Int(b[1]) << 16 | Int(b[2]) << 8 | Int(b[3]) : 0
        func brand(_ offset: Int) -> String? {
            guard offset + 4 <= b.count else { return nil }
            return String(decoding: b[offset..<offset + 4], as: UTF8.self)
        }
        guard let major = brand(8) else { return .unknown }
        var brands = [major]
        var offset = 16
        while offset + 4 <= min(max(size, 16), b.count, 16 + 4 * 64) {
            if let br = brand(offset) { brands.append(br) }
            offset += 4
        }
        if major == "crx " { return .cr3 }
        if ["avif", "avis"].contains(major) { return .avif }
        if ["heic", "heix", "heim", "heis", "hevc", "hevx"].contains(major) { return .heic }
        if ["mif1", "msf1", "miaf"].contains(major) {
            if brands.contains("avif") || brands.contains("avis") { return .avif }
            if brands.contains(where: { ["heic", "heix", "hevc"].contains($0) }) { return .heic }
            return .heif
        }
        if major == "qt  " { return .mov }
        if major.hasPrefix("3g") { return .threeGP }
        return .mp4
    }

    private static func sniffTIFF(_ b: [UInt8]) -> MediaFormat {
        if b.count > 10, b[8] == 0x43, b[9] == 0x52 { return .cr2 }  // "CR" after the header
        guard let tiff = TIFFView(bytes: b[...]), let ifd0 = tiff.ifd0Offset else { return .tiff }
        var make = ""
        for entry in tiff.entries(at: ifd0) {
            if entry.tag == 0xC612 { return .dng }
            if entry.tag == 0x010F { make = tiff.ascii(entry) ?? "" }
        }
        let upper = make.uppercased()
        if upper.hasPrefix("NIKON") { return .nef }
        if upper.hasPrefix("SONY") { return .arw }
        return .tiff
    }
}

/// Whether an asset is a still image or a video.
public enum MediaType: String, Sendable, Codable {
    case image, video
}
