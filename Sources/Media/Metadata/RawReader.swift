import Foundation
#if canImport(Glibc)
import Glibc
#endif
internal import CRaw

/// RAW metadata through libraw (`libraw_open_file` reads headers only, no demosaicing).
enum RawReader {
    static func read(path: String, into info: inout MediaInfo) {
        guard let handle = libraw_init(0) else { return }
        defer { libraw_close(handle) }
        guard libraw_open_file(handle, path) == LIBRAW_SUCCESS.rawValue else { return }
        let d = handle.pointee
        let other = d.other, gps = d.other.parsed_gps
        func text<T>(_ tuple: T) -> String? {
            withUnsafeBytes(of: tuple) { buf in
                let s = String(decoding: buf.prefix { $0 != 0 }, as: UTF8.self).trimmingCharacters(in: .whitespaces)
                return s.isEmpty ? nil : s
            }
        }
        if info.make == nil { info.make = text(d.idata.make) }
        if info.model == nil { info.model = text(d.idata.model) }
        if info.lens == nil { info.lens = text(d.lens.Lens) }
        // ExifTool's ImageWidth for NEF/DNG is the full raw size; CR3 keeps EXIF's PixelXDimension;
        // RW2 uses the sensor borders (read from its header by the caller).
        let w = Int(d.sizes.width), h = Int(d.sizes.height)
        let rw = Int(d.sizes.raw_width), rh = Int(d.sizes.raw_height)
        switch info.format {
        case .nef, .dng:
            if rw > 0, rh > 0 {
                info.width = rw
                info.height = rh
            }
        case .cr3 where info.width != nil, .rw2 where info.width != nil:
            break
        default:
            if w > 0, h > 0 {
                info.width = w
                info.height = h
            }
        }
        if info.orientation == nil {
            info.orientation = [0: 1, 3: 3, 5: 8, 6: 6][Int(d.sizes.flip)]
        }
        if info.iso == nil, Double(other.iso_speed) > 0 { info.iso = Int(Double(other.iso_speed).rounded()) }
        if info.fNumber == nil, other.aperture > 0 { info.fNumber = Double(other.aperture) }
        if info.exposureTime == nil, other.shutter > 0 { info.exposureTime = Double(other.shutter) }
        if info.focalLength == nil, other.focal_len > 0 { info.focalLength = Double(other.focal_len) }
        if info.takenAt == nil, other.timestamp > 0 {
            // libraw made the timestamp with mktime(); undo it with localtime_r to get the wall clock back.
            var t = time_t(other.timestamp)
            var parts = tm()
            if localtime_r(&t, &parts) != nil,
               let local = DateParsing.seconds(Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday),
                                               Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec)) {
                info.takenAt = CaptureDate(localSeconds: local, offsetMinutes: nil, source: .exif)
            }
        }
        if info.latitude == nil, gps.gpsparsed != 0 {
            let lat = gps.latitude.0 + gps.latitude.1 / 60 + gps.latitude.2 / 3600
            let lon = gps.longitude.0 + gps.longitude.1 / 60 + gps.longitude.2 / 3600
            if lat != 0 || lon != 0 {
                info.latitude = Double(UInt8(bitPattern: gps.latref) == UInt8(ascii: "S") ? -lat : lat)
                info.longitude = Double(UInt8(bitPattern: gps.longref) == UInt8(ascii: "W") ? -lon : lon)
            }
        }
    }
}
