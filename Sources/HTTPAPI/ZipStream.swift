import Catalog
import Foundation
import HearthCrypto

/// A zip archive of stored ("method 0") entries written as a stream: each entry's CRC-32 is
/// computed while its bytes go out and follows them in a data descriptor, so nothing is held in
/// memory beyond one chunk, and the total length is known before the first byte (sizes come
/// from the catalog). Classic zip only (no ZIP64): at most 65,535 entries and 4 GiB.
enum ZipStream {
    struct Entry: Sendable {
        let name: [UInt8]
        let ref: ObjectRef
        let dosTime: UInt16
        let dosDate: UInt16
    }

    /// Entries with safe, unique names: only the last path component, no leading dots, no
    /// control characters; a repeated name gets `+1`, `+2` before its extension (as Immich does).
    static func entries(_ items: [(name: String, ref: ObjectRef, takenAt: TakenAt?)]) -> [Entry] {
        var used = Set<String>()
        return items.map { item in
            var base = item.name.split(whereSeparator: { $0 == "/" || $0 == "\\" }).last.map(String.init) ?? ""
            base = String(base.unicodeScalars.filter { $0.value >= 32 && $0.value != 127 }.map(Character.init))
            while base.hasPrefix(".") { base.removeFirst() }
            if base.isEmpty { base = String(item.ref.id.hex.prefix(16)) + ".bin" }
            var name = base
            var n = 1
            while used.contains(name.lowercased()) {
                let ext = (base as NSString).pathExtension
                let stem = (base as NSString).deletingPathExtension
                name = ext.isEmpty ? "\(stem)+\(n)" : "\(stem)+\(n).\(ext)"
                n += 1
            }
            used.insert(name.lowercased())
            let (t, d) = dos(item.takenAt?.localSeconds ?? 315_532_800)
            return Entry(name: Array(name.utf8), ref: item.ref, dosTime: t, dosDate: d)
        }
    }

    /// MS-DOS time and date of a local time (seconds since 1970 read as UTC), clamped to 1980...2107.
    static func dos(_ seconds: Int64) -> (UInt16, UInt16) {
        let c = Calendar(identifier: .gregorian)
        var utc = c
        utc.timeZone = TimeZone(identifier: "UTC")!
        let clamped = min(max(seconds, 315_532_800), 4_354_819_199)
        let p = utc.dateComponents([.year, .month, .day, .hour, .minute, .second], from: Date(timeIntervalSince1970: TimeInterval(clamped)))
        let time = UInt16(p.hour! << 11 | p.minute! << 5 | p.second! / 2)
        let date = UInt16((p.year! - 1980) << 9 | p.month! << 5 | p.day!)
        return (time, date)
    }

    static let localHeader = 30, descriptor = 16, centralHeader = 46, end = 22

    /// The archive's length, or nil when it needs ZIP64.
    static func length(_ entries: [Entry]) -> Int? {
        guard entries.count <= 0xFFFF else { return nil }
        var total: UInt64 = UInt64(end)
        for e in entries {
            total += UInt64(localHeader + e.name.count + descriptor + centralHeader + e.name.count) + e.ref.size
        }
        guard total < 0xFFFF_FFFF else { return nil }
        return Int(total)
    }

    static func write(_ entries: [Entry], read: (Hash256) async throws -> [UInt8],
                      out: ([UInt8]) async throws -> Void) async throws {
        var offset: UInt32 = 0
        var central: [UInt8] = []
        let flags: UInt16 = 0x0008 | 0x0800 // data descriptor follows; names are UTF-8
        for e in entries {
            var h = ByteBuilder()
            h.u32(0x0403_4B50); h.u16(20); h.u16(flags); h.u16(0); h.u16(e.dosTime); h.u16(e.dosDate)
            h.u32(0); h.u32(0); h.u32(0); h.u16(UInt16(e.name.count)); h.u16(0)
            h.bytes += e.name
            try await out(h.bytes)
            var crc = CRC32()
            var written: UInt64 = 0
            for id in e.ref.chunks {
                let chunk = try await read(id)
                crc.update(chunk)
                written += UInt64(chunk.count)
                try await out(chunk)
            }
            guard written == e.ref.size else {
                throw APIError(.internalServerError, "object \(e.ref.id.hex.prefix(12)) has \(written) bytes, not \(e.ref.size)")
            }
            let size = UInt32(e.ref.size)
            var d = ByteBuilder()
            d.u32(0x0807_4B50); d.u32(crc.value); d.u32(size); d.u32(size)
            try await out(d.bytes)
            var c = ByteBuilder()
            c.u32(0x0201_4B50); c.u16(20); c.u16(20); c.u16(flags); c.u16(0); c.u16(e.dosTime); c.u16(e.dosDate)
            c.u32(crc.value); c.u32(size); c.u32(size); c.u16(UInt16(e.name.count)); c.u16(0); c.u16(0)
            c.u16(0); c.u16(0); c.u32(0); c.u32(offset)
            c.bytes += e.name
            central += c.bytes
            offset += UInt32(localHeader + e.name.count) + size + UInt32(descriptor)
        }
        var z = ByteBuilder()
        z.u32(0x0605_4B50); z.u16(0); z.u16(0); z.u16(UInt16(entries.count)); z.u16(UInt16(entries.count))
        z.u32(UInt32(central.count)); z.u32(offset); z.u16(0)
        try await out(central + z.bytes)
    }
}

/// Little-endian fields.
struct ByteBuilder {
    var bytes: [UInt8] = []
    mutating func u16(_ v: UInt16) { bytes += [UInt8(v & 0xFF), UInt8(v >> 8)] }
    mutating func u32(_ v: UInt32) { bytes += [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v >> 16 & 0xFF), UInt8(v >> 24)] }
}

/// CRC-32 (IEEE 802.3, as zip uses), slicing-by-one table.
struct CRC32 {
    private static let table: [UInt32] = (0..<256).map { i in
        var c = UInt32(i)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }
    private var crc: UInt32 = 0xFFFF_FFFF

    mutating func update(_ bytes: [UInt8]) {
        var c = crc
        Self.table.withUnsafeBufferPointer { t in
            bytes.withUnsafeBufferPointer { b in
                for x in b { c = t[Int((c ^ UInt32(x)) & 0xFF)] ^ (c >> 8) }
            }
        }
        crc = c
    }

    var value: UInt32 { crc ^ 0xFFFF_FFFF }
}
