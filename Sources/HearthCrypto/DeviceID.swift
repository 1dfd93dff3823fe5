/// A device id: BLAKE2b-256 of the device's Ed25519 public key.
///
/// Written as 52 base32 characters (RFC 4648 alphabet, no padding) in four groups of 13,
/// each followed by a Luhn mod 32 check character, then shown as eight groups of seven
/// separated by dashes (the same shape Syncthing users already read aloud).
public struct DeviceID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let hash: Hash256

    public init(publicKey: [UInt8]) { hash = Blake2b.hash256(publicKey) }
    public init(hash: Hash256) { self.hash = hash }

    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".utf8)

    /// The full, checked, dash-grouped form.
    public var string: String {
        let b32 = Base32.encode(hash.bytes) // 52 chars
        var withChecks = [UInt8]()
        let chars = Array(b32.utf8)
        for g in 0..<4 {
            let group = Array(chars[(g * 13)..<(g * 13 + 13)])
            withChecks += group
            withChecks.append(Self.luhn32(group))
        }
        var out = [UInt8]()
        for (i, c) in withChecks.enumerated() {
            if i > 0 && i % 7 == 0 { out.append(UInt8(ascii: "-")) }
            out.append(c)
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The first seven characters: enough to tell a family's devices apart in a listing.
    public var short: String { String(string.prefix(7)) }
    public var description: String { string }

    /// Parses the dash-grouped form (dashes and spaces optional, case-insensitive) and checks it.
    public init?(string s: String) {
        let cleaned = Array(s.uppercased().utf8.filter { $0 != UInt8(ascii: "-") && $0 != UInt8(ascii: " ") })
        guard cleaned.count == 56 else { return nil }
        var data = [UInt8]()
        for g in 0..<4 {
            let group = Array(cleaned[(g * 14)..<(g * 14 + 13)])
            guard Self.luhn32(group) == cleaned[g * 14 + 13] else { return nil }
            data += group
        }
        guard let bytes = Base32.decode(String(decoding: data, as: UTF8.self)),
              let h = Hash256(bytes: bytes) else { return nil }
        hash = h
    }

    public static func < (a: DeviceID, b: DeviceID) -> Bool { a.hash < b.hash }

    /// Luhn mod N over the base32 alphabet.
    static func luhn32(_ chars: [UInt8]) -> UInt8 {
        let n = 32
        var factor = 1
        var sum = 0
        for c in chars {
            let code = alphabet.firstIndex(of: c) ?? 0
            var addend = factor * code
            factor = factor == 2 ? 1 : 2
            addend = addend / n + addend % n
            sum += addend
        }
        let check = (n - sum % n) % n
        return alphabet[check]
    }
}

/// RFC 4648 base32, upper case, no padding.
public enum Base32 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".utf8)

    public static func encode(_ bytes: [UInt8]) -> String {
        var out = [UInt8]()
        var buffer = 0, bits = 0
        for b in bytes {
            buffer = (buffer << 8) | Int(b)
            bits += 8
            while bits >= 5 {
                out.append(alphabet[(buffer >> (bits - 5)) & 31])
                bits -= 5
            }
        }
        if bits > 0 { out.append(alphabet[(buffer << (5 - bits)) & 31]) }
        return String(decoding: out, as: UTF8.self)
    }

    public static func decode(_ s: String) -> [UInt8]? {
        var out = [UInt8]()
        var buffer = 0, bits = 0
        for c in s.uppercased().utf8 {
            guard let v = alphabet.firstIndex(of: c) else { return nil }
            buffer = (buffer << 5) | v
            bits += 5
            if bits >= 8 {
                out.append(UInt8((buffer >> (bits - 8)) & 0xff))
                bits -= 8
            }
        }
        return out
    }
}
