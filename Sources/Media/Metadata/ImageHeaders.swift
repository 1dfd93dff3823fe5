/// Cheap parsers for the headers of still-image containers: where the EXIF and XMP blocks
/// are, and the stored pixel size.
struct ContainerScan {
    var exifTIFF: ArraySlice<UInt8>?
    var xmp: [ArraySlice<UInt8>] = []
    var iptc: ArraySlice<UInt8>?
    var width: Int?
    var height: Int?
    /// Orientation implied by HEIF irot when EXIF says nothing.
    var heifOrientation: Int?
}

enum JPEGScanner {
    static let xmpSignature = Array("http://ns.adobe.com/xap/1.0/\0".utf8)
    static let exifSignature: [UInt8] = Array("Exif".utf8) + [0, 0]
    static let photoshopSignature = Array("Photoshop 3.0\0".utf8)

    /// Walks JPEG markers up to the first SOS: APP1 EXIF/XMP, APP13 IPTC and the SOF size.
    static func scan(_ b: ArraySlice<UInt8>) -> ContainerScan {
        var out = ContainerScan()
        var i = 2
        var segments = 0
        while i + 4 <= b.count, segments < 4096 {
            segments += 1
            guard let byte = b.u8(i), let marker = b.u8(i + 1) else { break }
            if byte != 0xFF {
                // Junk between segments: resynchronise on the next marker, as ExifTool does.
                guard let next = b.firstRange(of: [0xFF], from: i + 1) else { break }
                i = next
                continue
            }
            if marker == 0xFF { i += 1; continue }
            if marker == 0xD8 || marker == 0x01 || (0xD0...0xD7).contains(marker) { i += 2; continue }
            if marker == 0xD9 || marker == 0xDA { break }
            guard let length = b.be16(i + 2), length >= 2 else { break }
            let body = b.sub(i + 4, length - 2) ?? b.sub(i + 4, b.count - i - 4) ?? []
            switch marker {
            case 0xE1:
                if body.starts(with: exifSignature), out.exifTIFF == nil {
                    out.exifTIFF = body.dropFirst(6)
                } else if body.starts(with: xmpSignature) {
                    out.xmp.append(body.dropFirst(xmpSignature.count))
                }
            case 0xED where body.starts(with: photoshopSignature):
                // Some writers split resources over several APP13s: keep the one with IPTC.
                if let found = IPTC.fromPhotoshop(body.dropFirst(photoshopSignature.count)) { out.iptc = found }
            case 0xC0...0xC3, 0xC5...0xC7, 0xC9...0xCB, 0xCD...0xCF:
                if out.width == nil, let h = body.be16(1), let w = body.be16(3), w > 0, h > 0 {
                    out.width = w
                    out.height = h
                }
            default: break
            }
            i += 2 + length
        }
        return out
    }
}

enum PNGScanner {
    static func scan(_ b: ArraySlice<UInt8>) -> ContainerScan {
        var out = ContainerScan()
        if b.ascii(12, 4) == "IHDR", let w = b.be32(16), let h = b.be32(20) {
            out.width = w
            out.height = h
        }
        var i = 8
        var chunks = 0
        while i + 12 <= b.count, chunks < 100_000 {
            chunks += 1
            guard let length = b.be32(i), let type = b.ascii(i + 4, 4) else { break }
            guard let data = b.sub(i + 8, length) else { break }
            if type == "eXIf" { out.exifTIFF = data }
            if type == "iTXt", data.starts(with: Array("XML:com.adobe.xmp".utf8)) {
                // keyword\0 compression-flag compression-method language\0 translated\0 text
                var j = 20
                var nulls = 0
                while j < data.count, nulls < 2 {
                    if data.u8(j) == 0 { nulls += 1 }
                    j += 1
                }
                if data.u8(17) == 0, data.u8(18) == 0, let text = data.sub(j, data.count - j) { out.xmp.append(text) }
            }
            if type == "IEND" { break }
            i += 12 + length
        }
        return out
    }
}

enum GIFScanner {
    static func scan(_ b: ArraySlice<UInt8>) -> ContainerScan {
        var out = ContainerScan()
        out.width = b.le16(6)
        out.height = b.le16(8)
        return out
    }
}

enum WebPScanner {
    static func scan(_ b: ArraySlice<UInt8>) -> ContainerScan {
        var out = ContainerScan()
        var i = 12
        var chunks = 0
        while i + 8 <= b.count, chunks < 10_000 {
            chunks += 1
            guard let type = b.ascii(i, 4), let length = b.le32(i + 4) else { break }
            let data = b.sub(i + 8, length) ?? b.sub(i + 8, b.count - i - 8) ?? []
            switch type {
            case "VP8X":
                if let w = data.uint(4, 3, bigEndian: false), let h = data.uint(7, 3, bigEndian: false) {
                    out.width = Int(w) + 1
                    out.height = Int(h) + 1
                }
            case "VP8 " where out.width == nil:
                if data.u8(3) == 0x9D, data.u8(4) == 0x01, data.u8(5) == 0x2A,
                   let w = data.le16(6), let h = data.le16(8) {
                    out.width = w & 0x3FFF
                    out.height = h & 0x3FFF
                }
            case "VP8L" where out.width == nil:
                if data.u8(0) == 0x2F, let bits = data.le32(1) {
                    out.width = (bits & 0x3FFF) + 1
                    out.height = ((bits >> 14) & 0x3FFF) + 1
                }
            case "EXIF":
                // Some writers keep the JPEG "Exif\0\0" prefix inside the chunk.
                out.exifTIFF = data.starts(with: JPEGScanner.exifSignature) ? data.dropFirst(6) : data
            case "XMP ":
                out.xmp.append(data)
            default: break
            }
            i += 8 + length + (length & 1)
        }
        return out
    }
}

/// JPEG XL: the codestream SizeHeader, and the Exif/xml boxes of the container form.
enum JXLScanner {
    static func scan(_ b: ArraySlice<UInt8>) -> ContainerScan {
        var out = ContainerScan()
        if b.u8(0) == 0xFF, b.u8(1) == 0x0A {
            (out.width, out.height) = sizeHeader(b.dropFirst(2))
            return out
        }
        for box in ISOBMFF.children(of: b, limit: 1024) {
            guard let body = b.sub(box.start + box.headerSize, box.size - box.headerSize) else { continue }
            switch box.type {
            case "jxlc": (out.width, out.height) = sizeHeader(body.dropFirst(2))
            case "jxlp" where out.width == nil: (out.width, out.height) = sizeHeader(body.dropFirst(6))
            case "Exif":
                if let skip = body.be32(0), let tiff = body.sub(4 + skip, body.count - 4 - skip) { out.exifTIFF = tiff }
            case "xml ": out.xmp.append(body)
            default: break
            }
        }
        return out
    }

    /// The JPEG XL SizeHeader (ISO/IEC 18181-1 §A.2): bits are read least significant first.
    static func sizeHeader(_ b: ArraySlice<UInt8>) -> (Int?, Int?) {
        var bitPos = 0
        func bits(_ n: Int) -> Int? {
            var v = 0
            for k in 0..<n {
                guard let byte = b.u8((bitPos + k) / 8) else { return nil }
                v |= Int((byte >> UInt8((bitPos + k) % 8)) & 1) << k
            }
            bitPos += n
            return v
        }
        func u32Size() -> Int? {
            guard let sel = bits(2) else { return nil }
            return bits([9, 13, 18, 30][sel]).map { $0 + 1 }
        }
        guard let small = bits(1) else { return (nil, nil) }
        let height: Int
        if small == 1 {
            guard let h = bits(5) else { return (nil, nil) }
            height = (h + 1) * 8
        } else {
            guard let h = u32Size() else { return (nil, nil) }
            height = h
        }
        guard let ratio = bits(3) else { return (nil, nil) }
        let ratios: [(Int, Int)] = [(1, 1), (1, 1), (12, 10), (4, 3), (3, 2), (16, 9), (5, 4), (2, 1)]
        if ratio != 0 { return (height * ratios[ratio].0 / ratios[ratio].1, height) }
        if small == 1 {
            guard let w = bits(5) else { return (nil, height) }
            return ((w + 1) * 8, height)
        }
        return (u32Size(), height)
    }
}

/// IPTC-IIM records inside a Photoshop image resource block (resource 0x0404).
enum IPTC {
    static func fromPhotoshop(_ b: ArraySlice<UInt8>) -> ArraySlice<UInt8>? {
        var i = 0
        var blocks = 0
        while i + 12 <= b.count, blocks < 1000 {
            blocks += 1
            guard b.ascii(i, 4) == "8BIM", let id = b.be16(i + 4), let nameLen = b.u8(i + 6) else { return nil }
            var j = i + 6 + 1 + Int(nameLen)
            if (1 + Int(nameLen)) % 2 == 1 { j += 1 }
            guard let size = b.be32(j) else { return nil }
            if id == 0x0404 { return b.sub(j + 4, size) }
            i = j + 4 + size + (size & 1)
        }
        return nil
    }

    /// Keywords (2:25) and caption (2:120), decoded as UTF-8 (Latin-1 when it is not UTF-8).
    static func parse(_ b: ArraySlice<UInt8>) -> (keywords: [String], caption: String?, date: CaptureDate?) {
        var keywords: [String] = []
        var caption: String?
        var day: String?
        var time: String?
        var i = 0
        while i + 5 <= b.count, keywords.count < 1000 {
            guard b.u8(i) == 0x1C, let record = b.u8(i + 1), let dataset = b.u8(i + 2),
                  let length = b.be16(i + 3), length < 0x8000, let data = b.sub(i + 5, length) else { break }
            let text = String(validating: data, as: UTF8.self)
                ?? String(data.map { Character(Unicode.Scalar($0)) })
            if record == 2, dataset == 25, !text.isEmpty { keywords.append(text) }
            if record == 2, dataset == 120, !text.isEmpty { caption = text }
            if record == 2, dataset == 55 { day = text }
            if record == 2, dataset == 60 { time = text }
            i += 5 + length
        }
        return (keywords, caption, date(day: day, time: time))
    }

    /// 2:55 DateCreated "YYYYMMDD" with 2:60 TimeCreated "HHMMSS±HHMM".
    static func date(day: String?, time: String?) -> CaptureDate? {
        guard let day, day.count == 8, day.allSatisfy(\.isASCII) else { return nil }
        let d = Array(day)
        let t = Array(time ?? "000000")
        guard t.count >= 6, let y = Int(String(d[0..<4])), let mo = Int(String(d[4..<6])), let dd = Int(String(d[6..<8])),
              let h = Int(String(t[0..<2])), let mi = Int(String(t[2..<4])), let s = Int(String(t[4..<6])),
              let local = DateParsing.seconds(y, mo, dd, h, mi, s) else { return nil }
        let offset = t.count > 6 ? DateParsing.offset(Substring(String(t[6...]))) : nil
        return CaptureDate(localSeconds: local, offsetMinutes: offset, source: .iptc)
    }
}
