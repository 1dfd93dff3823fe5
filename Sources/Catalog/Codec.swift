import HearthCrypto

/// Hard limits on everything a payload may carry; a decoder never trusts a length beyond them.
enum Limits {
    static let payloadBytes = 32 << 20
    static let opsPerBatch = 1 << 20
    static let textBytes = 16 << 10
    static let nameBytes = 1024
    static let tagBytes = 512
    static let chunksPerObject = 1 << 20
    static let observedDots = 1 << 16
    /// Origins (device epochs) that wrote membership changes, named in one batch's context.
    static let contextOrigins = 1 << 12
    static let thumbhashBytes = 128
    /// Fields in one import (known and unknown ones together), in payload version 3.
    static let importFields = 256
    /// Highest change kind and field number a version 3 payload may name.
    static let maxKind: UInt64 = 1 << 32 - 1
    static let maxFieldID: UInt64 = 1 << 16 - 1
}

/// Appends the canonical binary forms: LEB128 varints, fixed-width big-endian where noted.
struct ByteWriter {
    var bytes: [UInt8] = []

    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func varint(_ v: UInt64) {
        var v = v
        while v >= 0x80 {
            bytes.append(UInt8(v & 0x7f) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }
    /// Zigzag so that small negative numbers stay small.
    mutating func svarint(_ v: Int64) { varint(UInt64(bitPattern: (v << 1) ^ (v >> 63))) }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.bigEndian) { bytes += $0 } }
    mutating func raw(_ b: [UInt8]) { bytes += b }
    mutating func data(_ b: [UInt8]) {
        varint(UInt64(b.count))
        bytes += b
    }
    mutating func string(_ s: String) { data(Array(s.utf8)) }
    mutating func hash(_ h: Hash256) { bytes += h.bytes }
    mutating func object(_ o: ObjectRef) {
        hash(o.id)
        varint(o.size)
        varint(UInt64(o.chunks.count))
        for c in o.chunks { hash(c) }
    }
    mutating func dot(_ d: Dot) {
        hash(d.origin.device.hash)
        varint(UInt64(d.origin.epoch))
        varint(d.seq)
    }
    mutating func value(_ v: FieldValue) {
        switch v {
        case .null: u8(0)
        case .int(let i): u8(1); svarint(i)
        case .double(let d): u8(2); u64(d.bitPattern)
        case .text(let s): u8(3); string(s)
        case .bool(let b): u8(4); u8(b ? 1 : 0)
        case .takenAt(let t):
            u8(5)
            svarint(t.localSeconds)
            if let o = t.utcOffsetMinutes { u8(1); svarint(Int64(o)) } else { u8(0) }
        case .object(let o): u8(6); object(o)
        case .range(let r): u8(7); varint(r.offset); varint(r.length)
        }
    }
}

/// Reads what `ByteWriter` wrote; every length and count is checked before use.
struct ByteReader {
    let bytes: [UInt8]
    var pos = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var atEnd: Bool { pos == bytes.count }

    static func fail(_ what: String) -> CatalogError { CatalogError(.badPayload, "malformed batch payload: \(what)") }

    mutating func u8() throws -> UInt8 {
        guard pos < bytes.count else { throw Self.fail("truncated") }
        defer { pos += 1 }
        return bytes[pos]
    }
    mutating func varint() throws -> UInt64 {
        var out: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let b = try u8()
            guard shift < 64, !(shift == 63 && b > 1) else { throw Self.fail("varint overflow") }
            out |= UInt64(b & 0x7f) << shift
            if b & 0x80 == 0 { return out }
            shift += 7
        }
    }
    mutating func svarint() throws -> Int64 {
        let u = try varint()
        return Int64(bitPattern: (u >> 1) ^ (0 &- (u & 1)))
    }
    mutating func count(max: Int, _ what: String) throws -> Int {
        let n = try varint()
        guard n <= UInt64(max) else { throw Self.fail("\(what) count \(n) exceeds \(max)") }
        return Int(n)
    }
    mutating func raw(_ n: Int) throws -> [UInt8] {
        guard n <= bytes.count - pos else { throw Self.fail("truncated") }
        defer { pos += n }
        return Array(bytes[pos..<(pos + n)])
    }
    mutating func u64() throws -> UInt64 {
        guard 8 <= bytes.count - pos else { throw Self.fail("truncated") }
        var v: UInt64 = 0
        for i in pos..<(pos + 8) { v = v << 8 | UInt64(bytes[i]) }
        pos += 8
        return v
    }
    mutating func data(max: Int) throws -> [UInt8] { try raw(count(max: max, "byte")) }
    /// Validates the UTF-8 in place rather than through an intermediate array.
    mutating func string(max: Int) throws -> String {
        let n = try count(max: max, "byte")
        guard n <= bytes.count - pos else { throw Self.fail("truncated") }
        let s = bytes.withUnsafeBufferPointer { b in
            String(validating: UnsafeBufferPointer(rebasing: b[pos..<(pos + n)]), as: UTF8.self)
        }
        guard let s else { throw Self.fail("invalid UTF-8") }
        pos += n
        return s
    }
    mutating func hash() throws -> Hash256 { Hash256(bytes: try raw(32))! }
    mutating func object() throws -> ObjectRef {
        let id = try hash()
        let size = try varint()
        let n = try count(max: Limits.chunksPerObject, "chunk")
        guard n <= (bytes.count - pos) / 32 else { throw Self.fail("truncated chunk list") }
        var chunks = [Hash256]()
        chunks.reserveCapacity(n)
        for _ in 0..<n { chunks.append(try hash()) }
        return ObjectRef(id: id, size: size, chunks: chunks)
    }
    mutating func dot() throws -> Dot {
        let dev = DeviceID(hash: try hash())
        let epoch = try varint()
        guard epoch <= UInt64(UInt32.max) else { throw Self.fail("epoch out of range") }
        return Dot(origin: Origin(device: dev, epoch: UInt32(epoch)), seq: try varint())
    }
    mutating func value() throws -> FieldValue {
        switch try u8() {
        case 0: return .null
        case 1: return .int(try svarint())
        case 2: return .double(Double(bitPattern: try u64()))
        case 3: return .text(try string(max: Limits.textBytes))
        case 4:
            let b = try u8()
            guard b <= 1 else { throw Self.fail("bad bool") }
            return .bool(b == 1)
        case 5:
            let local = try svarint()
            let has = try u8()
            guard has <= 1 else { throw Self.fail("bad offset flag") }
            var off: Int32? = nil
            if has == 1 {
                let o = try svarint()
                guard abs(o) <= 24 * 60 else { throw Self.fail("UTC offset out of range") }
                off = Int32(o)
            }
            return .takenAt(TakenAt(localSeconds: local, utcOffsetMinutes: off))
        case 6: return .object(try object())
        case 7: return .range(ByteRange(offset: try varint(), length: try varint()))
        case let t: throw Self.fail("unknown value tag \(t)")
        }
    }
}

/// Checks a field's value against what the field holds; shared by local edits and the decoder.
func validate(_ field: AssetField, _ value: FieldValue) -> String? {
    if value == .null { return nil }
    let ok: Bool
    switch (field.kind, value) {
    case (.int, .int(let i)):
        switch field {
        case .rating: ok = (0...5).contains(i)
        case .orientation: ok = (1...8).contains(i)
        default: ok = i >= 0
        }
    case (.double, .double(let d)):
        switch field {
        case .latitude: ok = (-90...90).contains(d)
        case .longitude: ok = (-180...180).contains(d)
        default: ok = d.isFinite
        }
    case (.text, .text(let s)):
        switch field {
        case .type: ok = s == "image" || s == "video"
        case .thumbhash: ok = !s.isEmpty && s.utf8.count <= Limits.thumbhashBytes
        case .owner: ok = PersonID(uuid: s) != nil
        case .sha1: ok = SHA1.isBase64Digest(s)
        default: ok = s.utf8.count <= Limits.textBytes
        }
    case (.bool, .bool), (.takenAt, .takenAt), (.object, .object), (.range, .range): ok = true
    default: ok = false
    }
    return ok ? nil : "value \(value) is not valid for field \(field)"
}
