/// A minimal Matroska/WebM (EBML) header reader: duration, date and video size from
/// `Segment/Info` and `Segment/Tracks`, used when ffprobe refuses a file.
enum Matroska {
    struct Element { var id: UInt32; var dataStart: Int; var size: Int }

    static let segment: UInt32 = 0x1853_8067, segmentInfo: UInt32 = 0x1549_A966, tracks: UInt32 = 0x1654_AE6B
    static let timecodeScale: UInt32 = 0x2AD7B1, duration: UInt32 = 0x4489, dateUTC: UInt32 = 0x4461
    static let trackEntry: UInt32 = 0xAE, video: UInt32 = 0xE0, pixelWidth: UInt32 = 0xB0, pixelHeight: UInt32 = 0xBA
    static let codecID: UInt32 = 0x86

    /// Seconds from 1970 to Matroska's epoch, 2001-01-01T00:00:00Z.
    static let epoch2001: Int64 = 978_307_200

    static func apply(_ b: ArraySlice<UInt8>, to info: inout MediaInfo) {
        guard let top = elements(b, from: 0, to: b.count).first(where: { $0.id == segment }) else { return }
        let end = min(top.dataStart + top.size, b.count)
        var scale = 1_000_000.0
        for child in elements(b, from: top.dataStart, to: end) {
            if child.id == segmentInfo {
                let fields = elements(b, from: child.dataStart, to: child.dataStart + child.size)
                if let s = fields.first(where: { $0.id == timecodeScale }).flatMap({ uint(b, $0) }), s > 0 { scale = Double(s) }
                if let d = fields.first(where: { $0.id == duration }).flatMap({ float(b, $0) }), d.isFinite, d > 0 {
                    info.durationSeconds = d * scale / 1e9
                }
                if let ns = fields.first(where: { $0.id == dateUTC }).flatMap({ uint(b, $0) }) {
                    let seconds = epoch2001 + Int64(bitPattern: ns) / 1_000_000_000
                    info.takenAt = CaptureDate(localSeconds: seconds, offsetMinutes: 0, source: .video)
                }
            } else if child.id == tracks {
                for entry in elements(b, from: child.dataStart, to: child.dataStart + child.size) where entry.id == trackEntry {
                    let fields = elements(b, from: entry.dataStart, to: entry.dataStart + entry.size)
                    guard let v = fields.first(where: { $0.id == video }) else { continue }
                    let dims = elements(b, from: v.dataStart, to: v.dataStart + v.size)
                    info.width = dims.first(where: { $0.id == pixelWidth }).flatMap { uint(b, $0) }.map { Int($0) }
                    info.height = dims.first(where: { $0.id == pixelHeight }).flatMap { uint(b, $0) }.map { Int($0) }
                    info.videoCodec = fields.first(where: { $0.id == codecID }).flatMap { b.ascii($0.dataStart, $0.size) }
                    break
                }
            }
        }
    }

    /// Elements laid end to end in `b[from..<to]`, at most 4096; an unknown or overlong size runs to `to`.
    static func elements(_ b: ArraySlice<UInt8>, from: Int, to: Int) -> [Element] {
        var out: [Element] = []
        var p = from
        let limit = min(to, b.count)
        while p < limit, out.count < 4096 {
            guard let (id, idLength) = vint(b, p, keepMarker: true), idLength <= 4,
                  let (size, sizeLength) = vint(b, p + idLength, keepMarker: false) else { break }
            let start = p + idLength + sizeLength
            let unknown = size == (UInt64(1) << (7 * UInt64(sizeLength))) - 1
            guard start <= limit else { break }
            // A size past the end (a cut file, or a Segment bigger than what was read) is clipped.
            let length = unknown ? limit - start : min(Int(clamping: size), limit - start)
            out.append(Element(id: UInt32(id), dataStart: start, size: length))
            p = start + length
        }
        return out
    }

    /// An EBML variable-length integer: (value, byte length).
    static func vint(_ b: ArraySlice<UInt8>, _ p: Int, keepMarker: Bool) -> (UInt64, Int)? {
        guard let first = b.u8(p), first != 0 else { return nil }
        let length = first.leadingZeroBitCount + 1
        guard length <= 8, let raw = b.uint(p, length) else { return nil }
        if keepMarker { return (raw, length) }
        return (raw & ((UInt64(1) << (7 * UInt64(length))) - 1), length)
    }

    static func uint(_ b: ArraySlice<UInt8>, _ e: Element) -> UInt64? {
        e.size >= 1 && e.size <= 8 ? b.uint(e.dataStart, e.size) : nil
    }

    static func float(_ b: ArraySlice<UInt8>, _ e: Element) -> Double? {
        guard let bits = b.uint(e.dataStart, e.size) else { return nil }
        if e.size == 4 { return Double(Float(bitPattern: UInt32(bits))) }
        if e.size == 8 { return Double(bitPattern: bits) }
        return nil
    }
}
