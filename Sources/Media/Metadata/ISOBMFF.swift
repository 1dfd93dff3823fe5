/// ISO base media file format boxes (ISO/IEC 14496-12), parsed with strict bounds.
enum ISOBMFF {
    struct Box: Equatable {
        var type: String
        /// Offset of the box's first byte within the slice (or file) it was found in.
        var start: Int
        var headerSize: Int
        var size: Int
        var bodyStart: Int { start + headerSize }
        var bodySize: Int { size - headerSize }
    }

    /// The box header at `offset` of `b`, given the bytes available after it (`available`).
    static func header(_ b: ArraySlice<UInt8>, at offset: Int, available: Int) -> Box? {
        guard let size32 = b.be32(offset), let type = b.ascii(offset + 4, 4) else { return nil }
        var header = 8
        var size = size32
        if size32 == 1 {
            guard let large = b.be64(offset + 8), large <= UInt64(Int.max) else { return nil }
            size = Int(large)
            header = 16
        } else if size32 == 0 {
            size = available
        }
        if type == "uuid" { header += 16 }
        guard size >= header, size <= available else { return nil }
        return Box(type: type, start: offset, headerSize: header, size: size)
    }

    /// The boxes laid end to end in `b` (at most `limit`); stops at the first malformed one.
    static func children(of b: ArraySlice<UInt8>, from: Int = 0, limit: Int = 4096) -> [Box] {
        var out: [Box] = []
        var offset = from
        while offset + 8 <= b.count, out.count < limit {
            guard let box = header(b, at: offset, available: b.count - offset) else { break }
            out.append(box)
            offset += box.size
        }
        return out
    }

    /// Top-level boxes of a file, read header by header (at most `limit`).
    static func topLevel(_ file: FileSource, limit: Int = 4096) -> [Box] {
        var out: [Box] = []
        var offset: Int64 = 0
        while offset + 8 <= file.size, out.count < limit {
            let head = file.read(at: offset, count: 16)[...]
            let available = Int(min(file.size - offset, Int64(Int.max)))
            guard var box = header(head, at: 0, available: available) else { break }
            box.start = Int(offset)
            out.append(box)
            offset += Int64(box.size)
        }
        return out
    }
}

/// What a HEIF/AVIF `meta` box says about the primary image.
struct HEIFMeta: Equatable {
    struct Extent: Equatable { var offset: Int; var length: Int }
    var primaryItem: Int?
    var width: Int?
    var height: Int?
    /// irot angle in units of 90° anticlockwise.
    var rotation: Int?
    var mirrorAxis: Int?
    var exifExtents: [Extent] = []
    var xmpExtents: [Extent] = []

    /// Parses the body of a `meta` full box (version/flags first). Offsets in extents are absolute.
    static func parse(metaBody b: ArraySlice<UInt8>) -> HEIFMeta {
        var meta = HEIFMeta()
        var itemTypes: [Int: String] = [:]
        var mimeItems: Set<Int> = []
        var locations: [Int: [Extent]] = [:]
        var properties: [ISOBMFF.Box] = []
        var propertyBody: [ArraySlice<UInt8>] = []
        var associations: [Int: [Int]] = [:]
        for box in ISOBMFF.children(of: b, from: 4, limit: 256) {
            guard let body = b.sub(box.bodyStart, box.bodySize) else { continue }
            switch box.type {
            case "pitm":
                meta.primaryItem = body.u8(0) == 0 ? body.be16(4) : body.be32(4)
            case "iinf":
                parseIinf(body, types: &itemTypes, mime: &mimeItems)
            case "iloc":
                locations = parseIloc(body)
            case "iprp":
                for sub in ISOBMFF.children(of: body, limit: 64) {
                    guard let subBody = body.sub(sub.bodyStart, sub.bodySize) else { continue }
                    if sub.type == "ipco" {
                        for p in ISOBMFF.children(of: subBody, limit: 4096) {
                            properties.append(p)
                            propertyBody.append(subBody.sub(p.bodyStart, p.bodySize) ?? [])
                        }
                    } else if sub.type == "ipma" {
                        associations = parseIpma(subBody)
                    }
                }
            default: break
            }
        }
        for (item, type) in itemTypes.sorted(by: { $0.key < $1.key }) {
            if type == "Exif" { meta.exifExtents += locations[item] ?? [] }
            if mimeItems.contains(item) { meta.xmpExtents += locations[item] ?? [] }
        }
        if let primary = meta.primaryItem {
            for index in associations[primary] ?? [] where index >= 1 && index <= properties.count {
                let body = propertyBody[index - 1]
                switch properties[index - 1].type {
                case "ispe" where meta.width == nil:
                    meta.width = body.be32(4)
                    meta.height = body.be32(8)
                case "irot": meta.rotation = body.u8(0).map { Int($0 & 3) }
                case "imir": meta.mirrorAxis = body.u8(0).map { Int($0 & 1) }
                default: break
                }
            }
        }
        return meta
    }

    private static func parseIinf(_ b: ArraySlice<UInt8>, types: inout [Int: String], mime: inout Set<Int>) {
        let countSize = b.u8(0) == 0 ? 2 : 4
        for infe in ISOBMFF.children(of: b, from: 4 + countSize, limit: 65_536) where infe.type == "infe" {
            guard let e = b.sub(infe.bodyStart, infe.bodySize), let version = e.u8(0), version >= 2 else { continue }
            let idSize = version == 2 ? 2 : 4
            guard let id = idSize == 2 ? e.be16(4) : e.be32(4), let type = e.ascii(4 + idSize + 2, 4) else { continue }
            types[id] = type
            if type == "mime" {
                let rest = e.dropFirst(4 + idSize + 6)
                let parts = rest.split(separator: 0, maxSplits: 2, omittingEmptySubsequences: false)
                if parts.count >= 2, String(decoding: parts[1], as: UTF8.self) == "application/rdf+xml" {
                    mime.insert(id)
                }
            }
        }
    }

    private static func parseIloc(_ b: ArraySlice<UInt8>) -> [Int: [Extent]] {
        var out: [Int: [Extent]] = [:]
        guard let version = b.u8(0), version <= 2, let s1 = b.u8(4), let s2 = b.u8(5) else { return out }
        let offsetSize = Int(s1 >> 4), lengthSize = Int(s1 & 15), baseSize = Int(s2 >> 4)
        let indexSize = version >= 1 ? Int(s2 & 15) : 0
        guard [0, 4, 8].contains(offsetSize), [0, 4, 8].contains(lengthSize), [0, 4, 8].contains(baseSize),
              [0, 4, 8].contains(indexSize) else { return out }
        var p = 6
        guard let count = version < 2 ? b.be16(p) : b.be32(p) else { return out }
        p += version < 2 ? 2 : 4
        for _ in 0..<min(count, 65_536) {
            guard let id = version < 2 ? b.be16(p) : b.be32(p) else { return out }
            p += version < 2 ? 2 : 4
            var method = 0
            if version >= 1 {
                guard let m = b.be16(p) else { return out }
                method = m & 15
                p += 2
            }
            p += 2  // data_reference_index
            guard let base = b.uint(p, baseSize) else { return out }
            p += baseSize
            guard let extentCount = b.be16(p) else { return out }
            p += 2
            var extents: [Extent] = []
            for _ in 0..<extentCount {
                p += indexSize
                guard let off = b.uint(p, offsetSize), let len = b.uint(p + offsetSize, lengthSize) else { return out }
                p += offsetSize + lengthSize
                let (sum, overflow) = base.addingReportingOverflow(off)
                if method == 0, !overflow, sum < UInt64(Int.max / 2), len < UInt64(Int.max / 2) {
                    extents.append(Extent(offset: Int(sum), length: Int(len)))
                }
            }
            out[id] = extents
        }
        return out
    }

    private static func parseIpma(_ b: ArraySlice<UInt8>) -> [Int: [Int]] {
        var out: [Int: [Int]] = [:]
        guard let version = b.u8(0), let flags = b.be32(0).map({ $0 & 0xFFFFFF }), let count = b.be32(4) else { return out }
        var p = 8
        for _ in 0..<min(count, 65_536) {
            guard let id = version < 1 ? b.be16(p) : b.be32(p) else { return out }
            p += version < 1 ? 2 : 4
            guard let n = b.u8(p) else { return out }
            p += 1
            var list: [Int] = []
            for _ in 0..<n {
                if flags & 1 != 0 {
                    guard let v = b.be16(p) else { return out }
                    list.append(v & 0x7FFF)
                    p += 2
                } else {
                    guard let v = b.u8(p) else { return out }
                    list.append(Int(v & 0x7F))
                    p += 1
                }
            }
            out[id] = list
        }
        return out
    }
}
