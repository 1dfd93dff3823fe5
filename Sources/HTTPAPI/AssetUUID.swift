import Catalog
import Foundation
import HearthCrypto

/// An asset's id as Immich clients see it: a UUID string. Hearth's asset id is the 32-byte
/// BLAKE2b-256 of the original; its UUID is the first 16 bytes with the version and RFC 4122
/// variant bits set, so the first 6 bytes are unaltered and the catalog's id-prefix lookup finds
/// the asset back (`resolve`), whose remaining bytes are then checked.
///
/// The version nibble is 4, not 8 ("custom", which describes these ids better): Immich's typed
/// clients (immichpy, generated from Immich's OpenAPI document) reject any id that does not
/// match `^…-4…-[89ab]…$`. The bits are as random as a v4's: they are a hash.
public struct AssetUUID: Hashable, Sendable, CustomStringConvertible {
    public let bytes: [UInt8]

    public init(_ id: Hash256) {
        var b = Array(id.bytes.prefix(16))
        b[6] = (b[6] & 0x0F) | 0x40
        b[8] = (b[8] & 0x3F) | 0x80
        bytes = b
    }

    init(raw: [UInt8]) { bytes = raw }

    /// Parses a UUID string (any case, with dashes): nil when it is not one.
    public init?(string: String) {
        guard let raw = UUIDText.parse(string) else { return nil }
        bytes = raw
    }

    public var description: String { UUIDText.format(bytes) }

    /// True when `id`'s UUID is this one.
    public func matches(_ id: Hash256) -> Bool { AssetUUID(id) == self }

    /// The asset this UUID names in `catalog`, or nil: resolved by its first 6 bytes (unaltered
    /// by the version bits), then checked whole.
    public func resolve(in catalog: Catalog) throws -> Hash256? {
        let prefix = Hex.encode(Array(bytes.prefix(6)))
        do {
            let id = try catalog.resolveAsset(prefix: prefix)
            return matches(id) ? id : nil
        } catch let e as CatalogError where e.code == .unknownAsset {
            return nil
        } catch let e as CatalogError where e.code == .ambiguous {
            // Two assets share 6 bytes (about one in 2^24 for a million assets): look at them all.
            return try catalog.assets(AssetFilter(scope: .all)).first { matches($0.id) }?.id
        }
    }
}

/// UUID text: 8-4-4-4-12 hex digits.
enum UUIDText {
    static func parse(_ s: String) -> [UInt8]? {
        let u = Array(s.utf8)
        guard u.count == 36, u[8] == 45, u[13] == 45, u[18] == 45, u[23] == 45 else { return nil }
        let hex = String(decoding: u.filter { $0 != 45 }, as: UTF8.self)
        guard let b = Hex.decode(hex), b.count == 16 else { return nil }
        return b
    }

    static func format(_ b: [UInt8]) -> String {
        let h = Hex.encode(b)
        let c = Array(h)
        return String(c[0..<8]) + "-" + String(c[8..<12]) + "-" + String(c[12..<16]) + "-" + String(c[16..<20]) + "-" + String(c[20..<32])
    }

    /// A stable UUID (in version 4 form, see `AssetUUID`) for something named by a longer id (a device, a library).
    static func derived(_ bytes: [UInt8]) -> String {
        var b = Array(bytes.prefix(16))
        while b.count < 16 { b.append(0) }
        b[6] = (b[6] & 0x0F) | 0x40
        b[8] = (b[8] & 0x3F) | 0x80
        return format(b)
    }
}

extension AlbumID {
    /// The album's 16 bytes as a UUID string, in version 4 form (see `AssetUUID`): the albums this
    /// API creates have those bits set already, so for them it is the id itself; an album made
    /// elsewhere (the CLI) is found by comparing this form (`HearthAPI.album`).
    var uuid: String { UUIDText.derived(bytes) }

    /// Sixteen fresh random bytes in version 4 form.
    static func randomV4() -> AlbumID {
        var b = secureRandomBytes(16)
        b[6] = (b[6] & 0x0F) | 0x40
        b[8] = (b[8] & 0x3F) | 0x80
        return AlbumID(bytes: b)!
    }
}
