import Foundation
internal import CExif

/// The EXIF fields Hearth keeps, decoded from one TIFF structure.
struct ExifFields: Equatable {
    var dateTimeOriginal: String?
    var createDate: String?
    var modifyDate: String?
    var offsetOriginal: String?
    var offsetDigitized: String?
    var offset: String?
    var latitude: Double?
    var longitude: Double?
    var altitude: Double?
    var orientation: Int?
    var make: String?
    var model: String?
    var lens: String?
    var fNumber: Double?
    var exposureTime: Double?
    var focalLength: Double?
    var iso: Int?
    var pixelWidth: Int?
    var pixelHeight: Int?
    var imageWidth: Int?
    var imageHeight: Int?
    var imageDescription: String?
    var contentIdentifier: String?

    var isEmpty: Bool { self == ExifFields() }

    /// Fills this value's gaps from `other` (CR3 splits EXIF over several TIFF blocks).
    mutating func fill(from other: ExifFields) {
        func f<T>(_ a: inout T?, _ b: T?) { if a == nil { a = b } }
        f(&dateTimeOriginal, other.dateTimeOriginal); f(&createDate, other.createDate); f(&modifyDate, other.modifyDate)
        f(&offsetOriginal, other.offsetOriginal); f(&offsetDigitized, other.offsetDigitized); f(&offset, other.offset)
        f(&latitude, other.latitude); f(&longitude, other.longitude); f(&altitude, other.altitude)
        f(&orientation, other.orientation); f(&make, other.make); f(&model, other.model); f(&lens, other.lens)
        f(&fNumber, other.fNumber); f(&exposureTime, other.exposureTime); f(&focalLength, other.focalLength)
        f(&iso, other.iso); f(&pixelWidth, other.pixelWidth); f(&pixelHeight, other.pixelHeight)
        f(&imageWidth, other.imageWidth); f(&imageHeight, other.imageHeight)
        f(&imageDescription, other.imageDescription); f(&contentIdentifier, other.contentIdentifier)
    }
}

/// Decodes EXIF through libexif (`exif_data_load_data`), owning the `ExifData` for one call.
enum ExifReader {
    /// The largest EXIF block handed to libexif; libexif itself stops at 64 KiB of APP1.
    static let maxBytes = 4 << 20

    /// `tiff` starts at the TIFF header ("II*\0" / "MM\0*"); an "Exif\0\0" prefix is added here.
    /// Where the EXIF and GPS tags live: a normal TIFF has them in sub-IFDs; Canon CR3 stores
    /// each as IFD0 of its own TIFF (CMT2, CMT4).
    enum Layout { case standard, exifInIFD0, gpsInIFD0 }

    static func read(tiff: ArraySlice<UInt8>, layout: Layout = .standard) -> ExifFields? {
        guard tiff.count >= 8, tiff.count <= maxBytes else { return nil }
        var bytes: [UInt8] = Array("Exif".utf8) + [0, 0]
        bytes.append(contentsOf: tiff)
        guard let data = exif_data_new() else { return nil }
        // Read what is there: FOLLOW_SPECIFICATION would invent mandatory tags (with today's date).
        exif_data_unset_option(data, EXIF_DATA_OPTION_FOLLOW_SPECIFICATION)
        exif_data_unset_option(data, EXIF_DATA_OPTION_IGNORE_UNKNOWN_TAGS)
        bytes.withUnsafeBufferPointer { exif_data_load_data(data, $0.baseAddress, UInt32($0.count)) }
        defer { exif_data_unref(data) }
        let order = exif_data_get_byte_order(data)
        let reader = EntryReader(data: data, order: order, gpsIFD: layout == .gpsInIFD0 ? 0 : 3)
        var f = ExifFields()
        let ifd0: Int32 = 0
        let exif: Int32 = layout == .exifInIFD0 ? 0 : 2
        let gps: Int32 = layout == .gpsInIFD0 ? 0 : 3
        f.make = reader.string(ifd0, 0x010F)
        f.model = reader.string(ifd0, 0x0110)
        f.orientation = reader.integer(ifd0, 0x0112).flatMap { (1...8).contains($0) ? $0 : nil }
        f.modifyDate = reader.string(ifd0, 0x0132)
        f.imageWidth = reader.integer(ifd0, 0x0100)
        f.imageHeight = reader.integer(ifd0, 0x0101)
        f.imageDescription = reader.string(ifd0, 0x010E)
        f.dateTimeOriginal = reader.string(exif, 0x9003)
        f.createDate = reader.string(exif, 0x9004)
        f.offset = reader.string(exif, 0x9010)
        f.offsetOriginal = reader.string(exif, 0x9011)
        f.offsetDigitized = reader.string(exif, 0x9012)
        f.fNumber = reader.rational(exif, 0x829D)
        f.exposureTime = reader.rational(exif, 0x829A)
        f.focalLength = reader.rational(exif, 0x920A)
        f.iso = reader.integer(exif, 0x8827)
        f.pixelWidth = reader.integer(exif, 0xA002)
        f.pixelHeight = reader.integer(exif, 0xA003)
        f.lens = reader.string(exif, 0xA434)
        if let note = reader.raw(exif, 0x927C) { f.contentIdentifier = AppleMakerNote.contentIdentifier(note[...]) }
        f.latitude = gpsCoordinate(reader, gps, valueTag: 2, refTag: 1, negative: "S")
        f.longitude = gpsCoordinate(reader, gps, valueTag: 4, refTag: 3, negative: "W")
        if let alt = reader.rational(gps, 6) {
            let below = reader.raw(gps, 5)?.first == UInt8(1)
            f.altitude = below ? -alt : alt
        }
        return f
    }

    private static func gpsCoordinate(_ r: EntryReader, _ ifd: Int32, valueTag: Int32, refTag: Int32,
                                      negative: String) -> Double? {
        guard let parts = r.rationals(ifd, valueTag), !parts.isEmpty else { return nil }
        var value = parts[0]
        if parts.count > 1 { value += parts[1] / 60 }
        if parts.count > 2 { value += parts[2] / 3600 }
        guard value.isFinite else { return nil }
        if let ref = r.string(ifd, refTag), ref.uppercased().hasPrefix(negative) { value = -value }
        return value
    }
}

/// Typed reads of libexif entries, checking format and size before touching `entry.data`.
private struct EntryReader {
    let data: UnsafeMutablePointer<ExifData>
    let order: ExifByteOrder
    let gpsIFD: Int32

    /// The entry in `ifd`, else (outside GPS, whose tag numbers collide with Interop's) in any
    /// non-GPS IFD: writers put EXIF tags in IFD0 and the other way round.
    func entry(_ ifd: Int32, _ tag: Int32) -> ExifEntry? {
        if let e = entryIn(ifd, tag) { return e }
        guard ifd != gpsIFD else { return nil }
        for other: Int32 in [0, 2, 1] where other != ifd && other != gpsIFD {
            if let e = entryIn(other, tag) { return e }
        }
        return nil
    }

    private func entryIn(_ ifd: Int32, _ tag: Int32) -> ExifEntry? {
        let content: UnsafeMutablePointer<ExifContent>? = withUnsafeBytes(of: data.pointee.ifd) { raw in
            let list = raw.bindMemory(to: UnsafeMutablePointer<ExifContent>?.self)
            return ifd >= 0 && Int(ifd) < list.count ? list[Int(ifd)] : nil
        }
        guard let content, let e = exif_content_get_entry(content, ExifTag(rawValue: UInt32(tag))),
              e.pointee.data != nil else { return nil }
        return e.pointee
    }

    func raw(_ ifd: Int32, _ tag: Int32) -> [UInt8]? {
        guard let e = entry(ifd, tag), e.size > 0 else { return nil }
        return Array(UnsafeBufferPointer(start: e.data, count: Int(e.size)))
    }

    func string(_ ifd: Int32, _ tag: Int32) -> String? {
        guard let bytes = raw(ifd, tag) else { return nil }
        let text = String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
            .trimmingCharacters(in: .whitespaces)
        return text.isEmpty ? nil : text
    }

    func integer(_ ifd: Int32, _ tag: Int32) -> Int? {
        guard let e = entry(ifd, tag), e.components >= 1 else { return nil }
        switch e.format {
        case EXIF_FORMAT_SHORT where e.size >= 2: return Int(exif_get_short(e.data, order))
        case EXIF_FORMAT_SSHORT where e.size >= 2: return Int(exif_get_sshort(e.data, order))
        case EXIF_FORMAT_LONG where e.size >= 4: return Int(exif_get_long(e.data, order))
        case EXIF_FORMAT_SLONG where e.size >= 4: return Int(exif_get_slong(e.data, order))
        case EXIF_FORMAT_BYTE where e.size >= 1: return Int(e.data[0])
        default: return nil
        }
    }

    func rationals(_ ifd: Int32, _ tag: Int32) -> [Double]? {
        guard let e = entry(ifd, tag) else { return nil }
        let n = min(Int(e.components), Int(e.size) / 8, 16)
        guard n > 0 else { return nil }
        var out: [Double] = []
        for k in 0..<n {
            let p = e.data + 8 * k
            if e.format == EXIF_FORMAT_RATIONAL {
                let r = exif_get_rational(p, order)
                guard r.denominator != 0 else { return nil }
                out.append(Double(r.numerator) / Double(r.denominator))
            } else if e.format == EXIF_FORMAT_SRATIONAL {
                let r = exif_get_srational(p, order)
                guard r.denominator != 0 else { return nil }
                out.append(Double(r.numerator) / Double(r.denominator))
            } else {
                return nil
            }
        }
        return out
    }

    func rational(_ ifd: Int32, _ tag: Int32) -> Double? {
        if let r = rationals(ifd, tag)?.first { return r }
        return integer(ifd, tag).map(Double.init)
    }
}

/// Apple's maker note ("Apple iOS\0…MM" then a big-endian IFD whose offsets count from the
/// note's start); tag 0x0011 is the ContentIdentifier shared by a Live Photo's still and MOV.
enum AppleMakerNote {
    static func contentIdentifier(_ note: ArraySlice<UInt8>) -> String? {
        guard note.count > 16, note.ascii(0, 9) == "Apple iOS" else { return nil }
        let little = note.ascii(12, 2) == "II"
        let view = TIFFView(bytes: note, little: little)
        for entry in view.entries(at: 14) where entry.tag == 0x0011 {
            guard let id = view.ascii(entry), !id.isEmpty, id.count <= 128 else { return nil }
            return id
        }
        return nil
    }
}
