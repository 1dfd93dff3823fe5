#if canImport(Glibc)
import Glibc
#endif
internal import CExif

/// Writes an APP1 EXIF block into JPEG bytes through libexif (`exif_data_new`,
/// `exif_content_add_entry`, `exif_data_save_data`).
///
/// Used by the demo and tests to make photos with known metadata; any EXIF APP1 the JPEG
/// already has is replaced.
public enum ExifWriter {
    public struct Fields: Sendable, Equatable {
        /// Written as DateTimeOriginal (and CreateDate); the offset as OffsetTimeOriginal.
        public var takenAt: CaptureDate?
        public var latitude: Double?
        public var longitude: Double?
        public var altitude: Double?
        public var orientation: Int?
        public var make: String?
        public var model: String?

        public init(takenAt: CaptureDate? = nil, latitude: Double? = nil, longitude: Double? = nil,
                    altitude: Double? = nil, orientation: Int? = nil, make: String? = nil, model: String? = nil) {
            self.takenAt = takenAt
            self.latitude = latitude
            self.longitude = longitude
            self.altitude = altitude
            self.orientation = orientation
            self.make = make
            self.model = model
        }
    }

    public static func insert(_ fields: Fields, into jpeg: [UInt8]) throws(MediaError) -> [UInt8] {
        guard jpeg.count >= 4, jpeg[0] == 0xFF, jpeg[1] == 0xD8 else {
            throw MediaError(.unsupportedFormat, "ExifWriter: the input is not a JPEG (no SOI marker)")
        }
        if let o = fields.orientation { precondition((1...8).contains(o), "EXIF orientation is 1...8") }
        let block = try exifBlock(fields)
        guard block.count + 2 <= 0xFFFF else {
            throw MediaError(.tooLarge, "ExifWriter: EXIF block of \(block.count) bytes does not fit in one APP1 segment")
        }
        var out: [UInt8] = [0xFF, 0xD8, 0xFF, 0xE1, UInt8((block.count + 2) >> 8), UInt8((block.count + 2) & 0xFF)]
        out += block
        // Copy the other segments, dropping old EXIF APP1s, then the rest verbatim from SOS on.
        var i = 2
        let b = jpeg[...]
        while i + 4 <= b.count, b[i] == 0xFF {
            let marker = b[i + 1]
            if marker == 0xDA || marker == 0xD9 { break }
            guard let length = b.be16(i + 2), length >= 2, i + 2 + length <= b.count else {
                throw MediaError(.malformed, "ExifWriter: the JPEG has a damaged segment at byte \(i)")
            }
            let isExif = marker == 0xE1 && b.sub(i + 4, 6).map(Array.init) == JPEGScanner.exifSignature
            if !isExif { out += b[i..<i + 2 + length] }
            i += 2 + length
        }
        out += b[i...]
        return out
    }

    private static func exifBlock(_ f: Fields) throws(MediaError) -> [UInt8] {
        guard let data = exif_data_new() else { throw MediaError(.toolFailed, "ExifWriter: libexif could not allocate") }
        defer { exif_data_unref(data) }
        exif_data_unset_option(data, EXIF_DATA_OPTION_FOLLOW_SPECIFICATION)
        exif_data_set_byte_order(data, EXIF_BYTE_ORDER_MOTOROLA)
        let ifd0 = 0, exif = 2, gps = 3
        if let make = f.make { add(data, ifd0, 0x010F, ascii: make) }
        if let model = f.model { add(data, ifd0, 0x0110, ascii: model) }
        if let o = f.orientation { add(data, ifd0, 0x0112, EXIF_FORMAT_SHORT, 1, be(UInt16(o))) }
        add(data, exif, 0x9000, EXIF_FORMAT_UNDEFINED, 4, Array("0232".utf8))
        if let date = f.takenAt {
            let text = format(date.localSeconds)
            add(data, exif, 0x9003, ascii: text)
            add(data, exif, 0x9004, ascii: text)
            if let offset = date.offsetMinutes {
                let sign = offset < 0 ? "-" : "+"
                let m = abs(offset)
                add(data, exif, 0x9011, ascii: sign + pad(m / 60) + ":" + pad(m % 60))
            }
        }
        if let lat = f.latitude, let lon = f.longitude {
            add(data, gps, 0x0000, EXIF_FORMAT_BYTE, 4, [2, 3, 0, 0])
            add(data, gps, 0x0001, ascii: lat < 0 ? "S" : "N")
            add(data, gps, 0x0002, EXIF_FORMAT_RATIONAL, 3, dms(abs(lat)))
            add(data, gps, 0x0003, ascii: lon < 0 ? "W" : "E")
            add(data, gps, 0x0004, EXIF_FORMAT_RATIONAL, 3, dms(abs(lon)))
        }
        if let alt = f.altitude {
            add(data, gps, 0x0005, EXIF_FORMAT_BYTE, 1, [alt < 0 ? 1 : 0])
            add(data, gps, 0x0006, EXIF_FORMAT_RATIONAL, 1, rational(abs(alt), 1000))
        }
        var buffer: UnsafeMutablePointer<UInt8>?
        var size: UInt32 = 0
        exif_data_save_data(data, &buffer, &size)
        guard let buffer, size > 0 else { throw MediaError(.toolFailed, "ExifWriter: libexif could not encode the EXIF block") }
        defer { free(buffer) }
        return Array(UnsafeBufferPointer(start: buffer, count: Int(size)))
    }

    /// Adds one entry whose value bytes are already big-endian; the entry's data is calloc'd
    /// because libexif frees it with its default allocator.
    private static func add(_ data: UnsafeMutablePointer<ExifData>, _ ifd: Int, _ tag: UInt16, _ format: ExifFormat,
                            _ components: Int, _ bytes: [UInt8]) {
        let content: UnsafeMutablePointer<ExifContent>? = withUnsafeBytes(of: data.pointee.ifd) { raw in
            raw.bindMemory(to: UnsafeMutablePointer<ExifContent>?.self)[ifd]
        }
        guard let content, let entry = exif_entry_new(), let storage = calloc(max(bytes.count, 1), 1) else { return }
        storage.copyMemory(from: bytes, byteCount: bytes.count)
        entry.pointee.tag = ExifTag(rawValue: UInt32(tag))
        entry.pointee.format = format
        entry.pointee.components = UInt(components)
        entry.pointee.size = UInt32(bytes.count)
        entry.pointee.data = storage.assumingMemoryBound(to: UInt8.self)
        exif_content_add_entry(content, entry)
        exif_entry_unref(entry)
    }

    private static func add(_ data: UnsafeMutablePointer<ExifData>, _ ifd: Int, _ tag: UInt16, ascii: String) {
        let bytes = Array(ascii.utf8.prefix(1024)) + [0]
        add(data, ifd, tag, EXIF_FORMAT_ASCII, bytes.count, bytes)
    }

    private static func be(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xFF)] }
    private static func be(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)] }

    private static func rational(_ value: Double, _ denominator: UInt32) -> [UInt8] {
        let n = UInt32(clamping: Int64((value * Double(denominator)).rounded()))
        return be(n) + be(denominator)
    }

    /// Degrees, minutes, seconds (to 1/10000 s) as three rationals.
    private static func dms(_ value: Double) -> [UInt8] {
        let degrees = value.rounded(.down)
        let minutes = ((value - degrees) * 60).rounded(.down)
        let seconds = (value - degrees - minutes / 60) * 3600
        return rational(degrees, 1) + rational(minutes, 1) + rational(max(seconds, 0), 10_000)
    }

    private static func pad(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }

    /// "YYYY:MM:DD HH:MM:SS" of wall-clock seconds (Hinnant's civil_from_days).
    static func format(_ seconds: Int64) -> String {
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secs = Int(seconds - days * 86_400)
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = Int(doy - (153 * mp + 2) / 5 + 1)
        let m = Int(mp < 10 ? mp + 3 : mp - 9)
        let y = Int(yoe + era * 400) + (m <= 2 ? 1 : 0)
        return "\(y):\(pad(m)):\(pad(d)) \(pad(secs / 3600)):\(pad(secs / 60 % 60)):\(pad(secs % 60))"
    }
}
