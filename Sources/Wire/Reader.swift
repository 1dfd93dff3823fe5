public import HearthCrypto

/// Reads message fields written by `Writer`, checking every length against the bytes left
/// and the caller's limit. Errors name the `context` (which peer, which message) and the field.
public struct Reader: Sendable {
    private let bytes: [UInt8]
    public private(set) var offset = 0
    public let context: String

    public init(_ bytes: [UInt8], context: String = "message") {
        self.bytes = bytes
        self.context = context
    }

    public var remaining: Int { bytes.count - offset }
    public var isAtEnd: Bool { offset == bytes.count }

    /// Ends a message: throws `.trailingBytes` if any bytes were not read.
    public func finish() throws {
        guard isAtEnd else {
            throw WireError(.trailingBytes, "\(context): \(remaining) unexpected bytes after the last field")
        }
    }

    /// Exactly `count` bytes, no length prefix.
    public mutating func readRaw(count: Int, _ field: String = "value") throws -> [UInt8] {
        precondition(count >= 0)
        guard count <= remaining else {
            throw WireError(.truncated, "\(context): \(field) needs \(count) bytes, only \(remaining) left")
        }
        defer { offset += count }
        return Array(bytes[offset..<(offset + count)])
    }

    public mutating func readUInt8(_ field: String = "value") throws -> UInt8 {
        try readBigEndian(width: 1, field).map(UInt8.init)!
    }

    public mutating func readUInt16(_ field: String = "value") throws -> UInt16 {
        try readBigEndian(width: 2, field).map(UInt16.init)!
    }

    public mutating func readUInt32(_ field: String = "value") throws -> UInt32 {
        try readBigEndian(width: 4, field).map(UInt32.init)!
    }

    public mutating func readUInt64(_ field: String = "value") throws -> UInt64 {
        try readBigEndian(width: 8, field)!
    }

    private mutating func readBigEndian(width: Int, _ field: String) throws -> UInt64? {
        try readRaw(count: width, field).reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// A byte that must be 0 or 1.
    public mutating func readBool(_ field: String = "value") throws -> Bool {
        switch try readUInt8(field) {
        case 0: return false
        case 1: return true
        case let b: throw WireError(.invalidValue, "\(context): \(field) must be 0 or 1, got \(b)")
        }
    }

    /// A minimal unsigned LEB128 of at most 10 bytes that fits in 64 bits.
    public mutating func readVarint(_ field: String = "value") throws -> UInt64 {
        var value: UInt64 = 0
        for i in 0..<10 {
            guard offset < bytes.count else {
                throw WireError(.truncated, "\(context): \(field) varint runs past the end")
            }
            let b = bytes[offset]
            offset += 1
            if i == 9 && b > 1 {
                throw WireError(.badVarint, "\(context): \(field) varint overflows 64 bits")
            }
            value |= UInt64(b & 0x7f) << (7 * UInt64(i))
            if b & 0x80 == 0 {
                if i > 0 && b == 0 {
                    throw WireError(.badVarint, "\(context): \(field) varint is not minimally encoded")
                }
                return value
            }
        }
        throw WireError(.badVarint, "\(context): \(field) varint is longer than 10 bytes")
    }

    /// A varint count or length, refused above `max` before anything is allocated for it.
    public mutating func readCount(max: Int, _ field: String = "count") throws -> Int {
        precondition(max >= 0)
        let n = try readVarint(field)
        guard n <= UInt64(max) else {
            throw WireError(.fieldTooLong, "\(context): \(field) is \(n), over the limit of \(max)")
        }
        return Int(n)
    }

    /// Varint-length-prefixed bytes of at most `maxLength`.
    public mutating func readBytes(maxLength: Int, _ field: String = "value") throws -> [UInt8] {
        let n = try readCount(max: maxLength, "\(field) length")
        return try readRaw(count: n, field)
    }

    /// Varint-length-prefixed UTF-8 of at most `maxLength` bytes.
    public mutating func readString(maxLength: Int, _ field: String = "value") throws -> String {
        let raw = try readBytes(maxLength: maxLength, field)
        guard let s = String(validating: raw, as: UTF8.self) else {
            throw WireError(.badUTF8, "\(context): \(field) is not valid UTF-8")
        }
        return s
    }

    /// A raw 32-byte digest.
    public mutating func readHash(_ field: String = "hash") throws -> Hash256 {
        Hash256(bytes: try readRaw(count: 32, field))!
    }
}
