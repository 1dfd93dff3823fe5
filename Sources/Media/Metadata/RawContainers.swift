/// Metadata blocks inside RAW containers that libexif cannot open directly.
enum RawContainers {
    static let canonUUID: [UInt8] = [0x85, 0xC0, 0xB6, 0x87, 0x82, 0x0F, 0x11, 0xE0, 0x81, 0x11, 0xF4, 0xCE, 0x46, 0x2B, 0x6A, 0x48]

    /// Canon CR3: `moov/uuid(85c0b687…)/CMT1..CMT4` hold IFD0, the EXIF IFD, the maker note and GPS,
    /// each as its own little TIFF.
    static func cr3(_ file: FileSource, boxes: [ISOBMFF.Box]) -> ExifFields? {
        guard let moov = boxes.first(where: { $0.type == "moov" }), moov.bodySize <= MediaReader.maxBoxBytes else { return nil }
        let body = file.read(at: Int64(moov.bodyStart), count: moov.bodySize)[...]
        for box in ISOBMFF.children(of: body, limit: 1024) where box.type == "uuid" {
            guard body.sub(box.start + 8, 16).map(Array.init) == canonUUID,
                  let inner = body.sub(box.bodyStart, box.bodySize) else { continue }
            var fields = ExifFields()
            for cmt in ISOBMFF.children(of: inner, limit: 64) {
                guard let tiff = inner.sub(cmt.bodyStart, cmt.bodySize) else { continue }
                let layout: ExifReader.Layout?
                switch cmt.type {
                case "CMT1": layout = .standard
                case "CMT2": layout = .exifInIFD0
                case "CMT4": layout = .gpsInIFD0
                default: layout = nil
                }
                if let layout, let f = ExifReader.read(tiff: tiff, layout: layout) { fields.fill(from: f) }
            }
            return fields.isEmpty ? nil : fields
        }
        return nil
    }

    /// Panasonic RW2: a TIFF-like header ("IIU\0") whose IFD0 has the sensor borders (tags 4–7)
    /// that give the image size ExifTool reports, and an embedded EXIF TIFF in tag 0x002E (JPEG).
    static func rw2(_ head: ArraySlice<UInt8>) -> (width: Int?, height: Int?, exifJPEG: ArraySlice<UInt8>?) {
        let view = TIFFView(bytes: head, little: true)
        guard let ifd = view.u32(4) else { return (nil, nil, nil) }
        var border: [Int: Int] = [:]
        var jpeg: ArraySlice<UInt8>?
        for e in view.entries(at: ifd) {
            if (4...7).contains(e.tag), e.type == 3 { border[e.tag] = view.u16(e.valueOffset) }
            if e.tag == 0x002E, let offset = view.u32(e.valueOffset) { jpeg = head.sub(offset, e.count) }
        }
        guard let top = border[4], let left = border[5], let bottom = border[6], let right = border[7],
              bottom > top, right > left else { return (nil, nil, jpeg) }
        return (right - left, bottom - top, jpeg)
    }

    /// Fujifilm RAF: the header points at an embedded JPEG whose EXIF has the camera's own names.
    static func rafJPEG(_ head: ArraySlice<UInt8>, file: FileSource) -> ArraySlice<UInt8>? {
        guard let offset = head.be32(84), let length = head.be32(88), length > 0, length <= MediaReader.headBytes else { return nil }
        let bytes = file.read(at: Int64(offset), count: min(length, 1 << 20))[...]
        return bytes.count > 4 && bytes.u8(0) == 0xFF && bytes.u8(1) == 0xD8 ? bytes : nil
    }
}

extension TIFFView {
    /// XMP (tag 700) and IPTC-NAA (tag 33723) stored in IFD0.
    func embeddedBlocks() -> (xmp: ArraySlice<UInt8>?, iptc: ArraySlice<UInt8>?) {
        guard let ifd0 = ifd0Offset else { return (nil, nil) }
        var xmp: ArraySlice<UInt8>?, iptc: ArraySlice<UInt8>?
        for e in entries(at: ifd0) where e.tag == 0x02BC || e.tag == 0x83BB {
            // IPTC is often typed LONG: count is then in 4-byte units.
            let unit = e.type == 4 ? 4 : 1
            guard e.count > 0, e.count <= XMPPacket.maxBytes / unit else { continue }
            let length = e.count * unit
            let start = length <= 4 ? e.valueOffset : (u32(e.valueOffset) ?? -1)
            guard let block = bytes.sub(start, length) else { continue }
            if e.tag == 0x02BC { xmp = block } else { iptc = block }
        }
        return (xmp, iptc)
    }

    /// IFD0 basics for TIFFs whose tags libexif could not reach (it stops at 64 KiB).
    func basics() -> ExifFields {
        var f = ExifFields()
        guard let ifd0 = ifd0Offset else { return f }
        for e in entries(at: ifd0) {
            let value: Int? = e.type == 3 ? u16(e.valueOffset) : e.type == 4 ? u32(e.valueOffset) : nil
            switch e.tag {
            case 0x0100: f.imageWidth = value
            case 0x0101: f.imageHeight = value
            case 0x0112: f.orientation = value.flatMap { (1...8).contains($0) ? $0 : nil }
            case 0x010F: f.make = ascii(e)
            case 0x0110: f.model = ascii(e)
            case 0x0132: f.modifyDate = ascii(e)
            default: break
            }
        }
        return f
    }
}
