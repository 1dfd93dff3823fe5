import Foundation

/// Reads a photo or video's metadata the way the import pipeline stores it.
///
/// ```swift
/// let info = try MediaReader.read(path: "/photos/IMG_0001.HEIC", sidecar: "/photos/IMG_0001.HEIC.xmp",
///                                 fileModified: mtimeSeconds)
/// ```
/// Capture date precedence: EXIF → XMP → video container → file name → `fileModified`.
/// A sidecar's fields (date, GPS, description, rating, tags) override the embedded ones, as Immich does.
public enum MediaReader {
    /// Bytes of a file read for metadata (motion trailers and ISOBMFF boxes are read separately).
    static let headBytes = 16 << 20

    /// TIFF-structured files can keep IFDs anywhere, so they get the most; JPEG/PNG/WebP keep
    /// metadata before the image data; ISOBMFF files and videos are read box by box or by ffprobe.
    static func headBytes(for format: MediaFormat) -> Int {
        if format.isRaw || format == .tiff { return headBytes }
        switch format.type {
        case .video?: return 65_536
        default: return [.heic, .heif, .avif].contains(format) ? 65_536 : 4 << 20
        }
    }
    static let maxBoxBytes = 16 << 20

    /// - Parameters:
    ///   - sidecar: an XMP sidecar to apply over the embedded values (see `sidecarPath(for:)`).
    ///   - fileModified: the file's mtime in seconds since 1970 UTC, the last capture-date fallback.
    /// - Throws: `MediaError` naming the file: cannot open, not a supported format, damaged header,
    ///   ffprobe missing or too slow. Damaged metadata inside a readable file is skipped, not thrown.
    public static func read(path: String, sidecar: String? = nil, fileModified: Int64? = nil) throws(MediaError) -> MediaInfo {
        let file = try FileSource(path: path)
        let sniffed = file.read(at: 0, count: 65_536)
        guard !sniffed.isEmpty else { throw MediaError(.truncated, "\(file.name): the file is empty") }
        let format = MediaFormat.sniff(sniffed)
        guard format != .unknown else {
            throw MediaError(.unsupportedFormat, "\(file.name): not a photo or video Hearth can read (starts with \(describe(sniffed[...])))")
        }
        let wanted = headBytes(for: format)
        let head = wanted <= sniffed.count ? sniffed[...] : file.read(at: 0, count: wanted)[...]
        var info = MediaInfo(format: format)
        var (scan, boxes, exifFields) = try scanContainer(format, head: head, file: file)
        info.width = scan.width
        info.height = scan.height
        var fallbackDate: CaptureDate?
        if let exif = exifFields {
            fallbackDate = apply(exif, to: &info, useDimensions: format == .tiff || format == .dng || format == .cr3)
        }
        if format.isRaw { RawReader.read(path: path, into: &info) }
        if format.type == .video {
            do {
                let json = try VideoProbe.probe(path: path, name: file.name)
                VideoProbe.apply(json, to: &info)
            } catch where error.code == .malformed {
                // ffprobe refuses it: read what the container header says, as ExifTool does.
                if format == .mkv { Matroska.apply(file.read(at: 0, count: 1 << 20)[...], to: &info) }
            }
        }
        if format.type == .image, info.width == nil, exifFields == nil, scan.xmp.isEmpty {
            throw MediaError(.malformed, "\(file.name): looks like \(format.rawValue.uppercased()) but its header is damaged")
        }
        let embedded = embeddedXMP(&scan)
        // Immich reads XMP dc:description before EXIF ImageDescription.
        if let d = embedded.description { info.description = d }
        apply(embedded, to: &info, override: false)
        if let sidecar, let fields = readSidecar(sidecar) { apply(fields, to: &info, override: true) }
        if info.takenAt == nil { info.takenAt = fallbackDate }
        motion(&info, embedded: embedded, scan: scan, boxes: boxes, file: file)
        if info.takenAt == nil, let local = DateParsing.fromFileName(file.name) {
            info.takenAt = CaptureDate(localSeconds: local, offsetMinutes: nil, source: .fileName)
        }
        if info.takenAt == nil, let mtime = fileModified {
            info.takenAt = CaptureDate(localSeconds: mtime, offsetMinutes: 0, source: .fileModified)
        }
        return info
    }

    /// Finds the metadata blocks of one container: EXIF (decoded), XMP and IPTC (raw), size.
    private static func scanContainer(_ format: MediaFormat, head: ArraySlice<UInt8>, file: FileSource)
        throws(MediaError) -> (ContainerScan, [ISOBMFF.Box], ExifFields?) {
        var scan = ContainerScan()
        var boxes: [ISOBMFF.Box] = []
        var exifFields: ExifFields?
        switch format {
        case .jpeg: scan = JPEGScanner.scan(head)
        case .png: scan = PNGScanner.scan(head)
        case .gif: scan = GIFScanner.scan(head)
        case .webp: scan = WebPScanner.scan(head)
        case .jxl: scan = JXLScanner.scan(head)
        case .tiff, .dng, .nef, .arw, .cr2: scan.exifTIFF = head.prefix(ExifReader.maxBytes)
        case .heic, .heif, .avif:
            boxes = ISOBMFF.topLevel(file)
            scan = try heifScan(file, boxes: boxes, format: format)
        case .cr3:
            boxes = ISOBMFF.topLevel(file)
            exifFields = RawContainers.cr3(file, boxes: boxes)
        case .rw2:
            let rw2 = RawContainers.rw2(head)
            (scan.width, scan.height) = (rw2.width, rw2.height)
            if let jpeg = rw2.exifJPEG { scan.exifTIFF = JPEGScanner.scan(jpeg).exifTIFF }
        case .raf:
            if let jpeg = RawContainers.rafJPEG(head, file: file) {
                let inner = JPEGScanner.scan(jpeg)
                scan.exifTIFF = inner.exifTIFF
                scan.xmp = inner.xmp
            }
        default: break
        }
        if let tiff = scan.exifTIFF { exifFields = ExifReader.read(tiff: tiff) }
        if [.tiff, .dng, .nef, .arw, .cr2].contains(format), let view = TIFFView(bytes: head) {
            // libexif stops at 64 KiB; big TIFFs keep IFD0 after the strips.
            var fields = exifFields ?? ExifFields()
            fields.fill(from: view.basics())
            exifFields = fields
            let blocks = view.embeddedBlocks()
            scan.xmp += blocks.xmp.map { [$0] } ?? []
            scan.iptc = blocks.iptc
        }
        return (scan, boxes, exifFields)
    }

    /// Embedded XMP packets merged in file order, then IPTC filling their gaps.
    private static func embeddedXMP(_ scan: inout ContainerScan) -> XMPFields {
        var embedded = XMPFields()
        for packet in scan.xmp {
            if let p = XMPPacket.parse(packet) { merge(XMPFields(p), into: &embedded) }
        }
        if let iptc = scan.iptc {
            let parsed = IPTC.parse(iptc)
            if embedded.tags.isEmpty { embedded.tags = parsed.keywords }
            if embedded.description == nil { embedded.description = parsed.caption }
            if embedded.date == nil || !embedded.dateHasTime, let date = parsed.date { embedded.date = date }
        }
        return embedded
    }

    /// The sidecar next to a file, if one exists: `IMG_1234.jpg.xmp`, then `IMG_1234.xmp`.
    public static func sidecarPath(for path: String) -> String? {
        let fm = FileManager.default
        let candidates = [path + ".xmp", path + ".XMP",
                          (path as NSString).deletingPathExtension + ".xmp",
                          (path as NSString).deletingPathExtension + ".XMP"]
        return candidates.first { $0 != path && fm.fileExists(atPath: $0) }
    }

    static func readSidecar(_ path: String) -> XMPFields? {
        guard let file = try? FileSource(path: path), file.size <= Int64(XMPPacket.maxBytes) else { return nil }
        return XMPPacket.parse(file.read(at: 0, count: XMPPacket.maxBytes)[...]).map(XMPFields.init)
    }

    private static func describe(_ head: ArraySlice<UInt8>) -> String {
        let sample = head.prefix(8)
        if sample.allSatisfy({ (0x20..<0x7F).contains($0) }) { return "\"\(String(decoding: sample, as: UTF8.self))\"" }
        return sample.map { String(format: "%02X", $0) }.joined(separator: " ")
    }

    private static func heifScan(_ file: FileSource, boxes: [ISOBMFF.Box], format: MediaFormat) throws(MediaError) -> ContainerScan {
        guard let metaBox = boxes.first(where: { $0.type == "meta" }) else {
            throw MediaError(.malformed, "\(file.name): \(format.rawValue.uppercased()) file without a meta box")
        }
        guard metaBox.bodySize <= maxBoxBytes else {
            throw MediaError(.tooLarge, "\(file.name): meta box of \(metaBox.bodySize) bytes is over the limit")
        }
        let body = file.read(at: Int64(metaBox.bodyStart), count: metaBox.bodySize)[...]
        let meta = HEIFMeta.parse(metaBody: body)
        var scan = ContainerScan()
        scan.width = meta.width
        scan.height = meta.height
        if let extent = meta.exifExtents.first, extent.length <= ExifReader.maxBytes {
            let bytes = file.read(at: Int64(extent.offset), count: extent.length)[...]
            if let skip = bytes.be32(0), let tiff = bytes.sub(4 + skip, bytes.count - 4 - skip) {
                scan.exifTIFF = tiff.starts(with: JPEGScanner.exifSignature) ? tiff.dropFirst(6) : tiff
            }
        }
        for extent in meta.xmpExtents where extent.length <= XMPPacket.maxBytes {
            scan.xmp.append(file.read(at: Int64(extent.offset), count: extent.length)[...])
        }
        if let rotation = meta.rotation, meta.mirrorAxis == nil {
            scan.heifOrientation = [0: 1, 1: 8, 2: 3, 3: 6][rotation]
        }
        return scan
    }

    /// Copies EXIF into `info`; returns the DateTime (modify date) to use only when nothing better turns up.
    @discardableResult
    private static func apply(_ f: ExifFields, to info: inout MediaInfo, useDimensions: Bool) -> CaptureDate? {
        info.make = f.make
        info.model = f.model
        info.lens = f.lens
        info.orientation = f.orientation
        info.fNumber = f.fNumber
        info.exposureTime = f.exposureTime
        info.focalLength = f.focalLength
        info.iso = f.iso
        info.latitude = f.latitude
        info.longitude = f.longitude
        info.altitude = f.altitude
        info.contentIdentifier = f.contentIdentifier
        info.description = f.imageDescription
        if (useDimensions || info.width == nil), let w = f.imageWidth ?? f.pixelWidth, let h = f.imageHeight ?? f.pixelHeight,
           w > 0, h > 0 {
            info.width = w
            info.height = h
        }
        for (text, offsetText) in [(f.dateTimeOriginal, f.offsetOriginal), (f.createDate, f.offsetDigitized)] {
            guard let text, let d = DateParsing.iso8601(text) else { continue }
            let offset = d.offset ?? offsetText.flatMap { DateParsing.offset(Substring($0)) }
            info.takenAt = CaptureDate(localSeconds: d.local, offsetMinutes: offset, source: .exif)
            return nil
        }
        guard let text = f.modifyDate, let d = DateParsing.iso8601(text) else { return nil }
        let offset = d.offset ?? f.offset.flatMap { DateParsing.offset(Substring($0)) }
        return CaptureDate(localSeconds: d.local, offsetMinutes: offset, source: .exif)
    }

    private static func merge(_ f: XMPFields, into base: inout XMPFields) {
        if base.date == nil || (!base.dateHasTime && f.dateHasTime) {
            base.date = f.date ?? base.date
            base.dateHasTime = f.dateHasTime
        }
        base.latitude = base.latitude ?? f.latitude
        base.longitude = base.longitude ?? f.longitude
        base.altitude = base.altitude ?? f.altitude
        base.description = base.description ?? f.description
        base.rating = base.rating ?? f.rating
        if base.tags.isEmpty { base.tags = f.tags }
        base.projection = base.projection ?? f.projection
        base.make = base.make ?? f.make
        base.model = base.model ?? f.model
        base.orientation = base.orientation ?? f.orientation
        base.isMotionPhoto = base.isMotionPhoto || f.isMotionPhoto
        base.motionVideoLengthFromEnd = base.motionVideoLengthFromEnd ?? f.motionVideoLengthFromEnd
    }

    /// Embedded XMP fills gaps (`override == false`); a sidecar replaces what it has.
    private static func apply(_ f: XMPFields, to info: inout MediaInfo, override: Bool) {
        func set<T>(_ value: T?, _ field: inout T?) {
            if let value, override || field == nil { field = value }
        }
        set(f.date, &info.takenAt)
        if f.latitude != nil, f.longitude != nil, override || info.latitude == nil {
            info.latitude = f.latitude
            info.longitude = f.longitude
            info.altitude = f.altitude ?? (override ? nil : info.altitude)
        }
        set(f.description, &info.description)
        set(f.rating, &info.rating)
        if !f.tags.isEmpty, override || info.tags.isEmpty { info.tags = f.tags }
        set(f.projection, &info.projection)
        if !override {
            set(f.make, &info.make)
            set(f.model, &info.model)
            set(f.orientation, &info.orientation)
        }
    }

    private static func motion(_ info: inout MediaInfo, embedded: XMPFields, scan: ContainerScan,
                               boxes: [ISOBMFF.Box], file: FileSource) {
        if info.orientation == nil, let o = scan.heifOrientation { info.orientation = o }
        if let length = embedded.motionVideoLengthFromEnd, let m = MotionPhoto.google(lengthFromEnd: length, file: file) {
            info.motion = m
        } else if let m = MotionPhoto.samsungHEIF(boxes: boxes) {
            info.motion = m
        } else if info.format == .jpeg, let m = MotionPhoto.samsungTrailer(file: file) {
            info.motion = m
        }
    }
}
